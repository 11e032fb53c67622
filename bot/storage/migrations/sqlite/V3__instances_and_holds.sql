-- Rows belong to the instance (bot process) that took them; a user's places in line are
-- holds, so caps and cooldown are counted where every process sees them.
ALTER TABLE requests ADD COLUMN instance_id TEXT;
ALTER TABLE requests ADD COLUMN origin TEXT;  -- "<database id>:<row id>" on rows copied in
CREATE UNIQUE INDEX requests_by_origin ON requests (origin) WHERE origin IS NOT NULL;
-- History is newest first by time: rows copied in from several files interleave correctly.
DROP INDEX requests_by_guild;
DROP INDEX requests_by_channel;
CREATE INDEX requests_by_guild ON requests (guild_id, created_at DESC, id DESC);
CREATE INDEX requests_by_channel ON requests (channel_id, created_at DESC, id DESC);

CREATE TABLE database_info (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO database_info VALUES ('id', lower(hex(randomblob(16))));

CREATE TABLE instances (
    id           TEXT PRIMARY KEY,   -- host:pid:random
    shards       TEXT NOT NULL,      -- all | 0,1,... | none (the console)
    started_at   REAL NOT NULL,      -- Unix time
    lease_until  REAL NOT NULL
);
CREATE TABLE holds (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id          INTEGER NOT NULL,
    instance_id      TEXT    NOT NULL,
    request_id       INTEGER,        -- set once the hold became a stored request
    previous_accept  REAL            -- the user's cooldown before this hold, restored if it is given back
);
CREATE INDEX holds_by_user ON holds (user_id);
CREATE INDEX holds_by_request ON holds (request_id);
CREATE TABLE cooldowns (user_id INTEGER PRIMARY KEY, accepted_at REAL);
