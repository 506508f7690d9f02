-- 0004 worker leases and polling, callback outbox (sqlite).
ALTER TABLE "tasks" ADD COLUMN "next_poll_at" INTEGER;
ALTER TABLE "tasks" ADD COLUMN "poll_count" INTEGER NOT NULL DEFAULT 0;
ALTER TABLE "tasks" ADD COLUMN "lease_owner" VARCHAR(64);
ALTER TABLE "tasks" ADD COLUMN "lease_until" INTEGER;
ALTER TABLE "tasks" ADD COLUMN "callback_secret" VARCHAR(64);
CREATE INDEX "tasks_status_next_poll_at" ON "tasks" ("status", "next_poll_at");
CREATE TABLE "callback_deliveries" ("id" INTEGER NOT NULL PRIMARY KEY, "task_id" VARCHAR(32) NOT NULL, "sequence" INTEGER NOT NULL, "url" TEXT NOT NULL, "payload" TEXT NOT NULL, "attempts" INTEGER NOT NULL, "next_attempt_at" INTEGER NOT NULL, "last_status_code" INTEGER, "last_error" TEXT, "delivered_at" INTEGER, "abandoned_at" INTEGER, "created_at" INTEGER NOT NULL, FOREIGN KEY ("task_id") REFERENCES "tasks" ("id") ON DELETE CASCADE);
CREATE INDEX "callback_deliveries_task_id" ON "callback_deliveries" ("task_id");
CREATE UNIQUE INDEX "callback_deliveries_task_id_sequence" ON "callback_deliveries" ("task_id", "sequence");
CREATE INDEX "callback_deliveries_delivered_at_abandoned_at_next_attempt_at" ON "callback_deliveries" ("delivered_at", "abandoned_at", "next_attempt_at");
