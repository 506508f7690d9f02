-- 0016 (sqlite): how long an audio or video a user's task or call made lasts, as its result
-- said (a TTS audio's duration): an avatar speaking the caller's audio is priced by it.
-- Objects made before have none (null): priced as the longest they may be.
ALTER TABLE "owned_objects" ADD COLUMN "seconds" REAL;
