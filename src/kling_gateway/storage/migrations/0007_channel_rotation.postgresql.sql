-- 0007 (postgresql): a channel whose credentials or account Kling refuses is taken out of
-- rotation in the database, not only in the memory of the process that noticed, so that every
-- instance stops sending it work. The periodic check or an operator puts it back.
ALTER TABLE "channels" ADD COLUMN "broken_code" INTEGER;
ALTER TABLE "channels" ADD COLUMN "broken_reason" TEXT;
ALTER TABLE "channels" ADD COLUMN "broken_at" BIGINT;
ALTER TABLE "channels" ADD COLUMN "last_checked_at" BIGINT;
