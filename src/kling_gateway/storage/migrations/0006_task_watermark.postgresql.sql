-- 0006 (postgresql): the watermark choice a task object echoes gets its own column, so that
-- answering about a task never reads its request body (which can hold megabytes of Base64
-- images). Existing rows take it from their body (the contract makes "enabled" a boolean,
-- false when left out). Only bodies that mention it are parsed.
ALTER TABLE "tasks" ADD COLUMN "watermark_enabled" BOOLEAN;
UPDATE "tasks"
    SET "watermark_enabled" = ("request_body"::jsonb #>> '{watermark_info,enabled}') IS NOT DISTINCT FROM 'true'
    WHERE strpos("request_body", 'watermark_info') > 0
      AND jsonb_typeof("request_body"::jsonb -> 'watermark_info') = 'object';
