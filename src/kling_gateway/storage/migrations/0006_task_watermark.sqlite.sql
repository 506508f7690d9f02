-- 0006 (sqlite): the watermark choice a task object echoes gets its own column, so that
-- answering about a task never reads its request body (which can hold megabytes of Base64
-- images). Existing rows take it from their body (the contract makes "enabled" a boolean,
-- false when left out). Only bodies that mention it are parsed.
ALTER TABLE "tasks" ADD COLUMN "watermark_enabled" INTEGER;
UPDATE "tasks"
    SET "watermark_enabled" = (json_extract("request_body", '$.watermark_info.enabled') IS 1)
    WHERE instr("request_body", 'watermark_info') > 0
      AND json_type("request_body", '$.watermark_info') = 'object';
