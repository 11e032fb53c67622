-- A request is `done` only once Discord accepted the reply; `undelivered` when it did not.
-- SQLite cannot alter a CHECK constraint, so the table is rebuilt with every row kept.
CREATE TABLE requests_v2 (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at   TEXT    NOT NULL,
    finished_at  TEXT,
    guild_id     INTEGER,            -- NULL in direct messages
    channel_id   INTEGER,
    user_id      INTEGER NOT NULL,
    user_name    TEXT    NOT NULL,
    command      TEXT    NOT NULL,   -- lyrics | midi
    options      TEXT    NOT NULL,   -- JSON
    status       TEXT    NOT NULL CHECK (status IN
                     ('queued', 'running', 'done', 'undelivered', 'failed', 'interrupted')),
    result       TEXT,               -- text excerpt, or attachment names and sizes
    error        TEXT,               -- why it failed, or why Discord did not take the reply
    duration_ms  INTEGER,
    model_version TEXT
);
INSERT INTO requests_v2 SELECT id, created_at, finished_at, guild_id, channel_id, user_id, user_name,
    command, options, status, result, error, duration_ms, model_version FROM requests;
DROP TABLE requests;
ALTER TABLE requests_v2 RENAME TO requests;
CREATE INDEX requests_by_guild ON requests (guild_id, id DESC);
CREATE INDEX requests_by_channel ON requests (channel_id, id DESC);
CREATE INDEX requests_by_user ON requests (user_id, id DESC);
CREATE INDEX requests_by_status ON requests (status) WHERE status IN ('queued', 'running');
