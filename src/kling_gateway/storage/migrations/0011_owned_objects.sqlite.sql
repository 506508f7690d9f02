-- 0011 (sqlite): one table for every object upstream a user's task or call made (videos, face
-- sessions, audio, voices, elements): whose it is and which channel holds it. The videos
-- upstream_videos held move in, dated by the task that made them.
CREATE TABLE "owned_objects" ("kind" VARCHAR(32) NOT NULL, "object_id" VARCHAR(64) NOT NULL, "user_id" INTEGER NOT NULL, "channel_id" INTEGER, "task_id" VARCHAR(32), "created_at" INTEGER NOT NULL, PRIMARY KEY ("kind", "object_id"), FOREIGN KEY ("user_id") REFERENCES "users" ("id") ON DELETE CASCADE, FOREIGN KEY ("channel_id") REFERENCES "channels" ("id") ON DELETE SET NULL, FOREIGN KEY ("task_id") REFERENCES "tasks" ("id") ON DELETE CASCADE);
CREATE INDEX "owned_objects_user_id" ON "owned_objects" ("user_id");
CREATE INDEX "owned_objects_channel_id" ON "owned_objects" ("channel_id");
CREATE INDEX "owned_objects_task_id" ON "owned_objects" ("task_id");
INSERT INTO "owned_objects" ("kind", "object_id", "user_id", "channel_id", "task_id", "created_at")
  SELECT 'video', v."video_id", v."user_id", v."channel_id", v."task_id", t."created_at"
  FROM "upstream_videos" v JOIN "tasks" t ON t."id" = v."task_id";
DROP TABLE "upstream_videos";
