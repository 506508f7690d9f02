-- 0005 secret keys encrypted at rest (postgresql): a Fernet token is longer than its
-- plaintext, so the columns become TEXT. Existing rows stay as they are (in clear) until
-- 'kling-gateway admin rotate-secret-key' encrypts them.
ALTER TABLE "api_tokens" ALTER COLUMN "secret_key" TYPE TEXT;
ALTER TABLE "channels" ALTER COLUMN "secret_key" TYPE TEXT;
