-- 0009 (sqlite): what Kling reports about a task beyond its status and result, relayed to the
-- client as Kling sent it: final_unit_deduction, final_balance_deduction, watermark_info and
-- task_info.parent_video (JSON). A column of its own, because "result" is task_result verbatim.
-- Existing tasks have none (null): Kling's reports were not kept before.
ALTER TABLE "tasks" ADD COLUMN "reported_fields" TEXT;
