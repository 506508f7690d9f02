-- 0003 tasks.synced_at, selection sessions and upstream videos (postgresql).
ALTER TABLE "tasks" ADD COLUMN "synced_at" BIGINT;
CREATE TABLE "selection_sessions" ("session_id" VARCHAR(64) NOT NULL PRIMARY KEY, "user_id" INTEGER NOT NULL, "channel_id" INTEGER, "created_at" BIGINT NOT NULL, "expires_at" BIGINT NOT NULL, FOREIGN KEY ("user_id") REFERENCES "users" ("id") ON DELETE CASCADE, FOREIGN KEY ("channel_id") REFERENCES "channels" ("id") ON DELETE SET NULL);
CREATE INDEX "selection_sessions_user_id" ON "selection_sessions" ("user_id");
CREATE INDEX "selection_sessions_channel_id" ON "selection_sessions" ("channel_id");
CREATE TABLE "upstream_videos" ("video_id" VARCHAR(64) NOT NULL PRIMARY KEY, "user_id" INTEGER NOT NULL, "task_id" VARCHAR(32) NOT NULL, "channel_id" INTEGER, FOREIGN KEY ("user_id") REFERENCES "users" ("id") ON DELETE CASCADE, FOREIGN KEY ("task_id") REFERENCES "tasks" ("id") ON DELETE CASCADE, FOREIGN KEY ("channel_id") REFERENCES "channels" ("id") ON DELETE SET NULL);
CREATE INDEX "upstream_videos_user_id" ON "upstream_videos" ("user_id");
CREATE INDEX "upstream_videos_task_id" ON "upstream_videos" ("task_id");
CREATE INDEX "upstream_videos_channel_id" ON "upstream_videos" ("channel_id");
