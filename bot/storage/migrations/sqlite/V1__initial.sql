-- Every request, written when accepted and updated when it ends.
CREATE TABLE requests (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at   TEXT    NOT NULL,
    finished_at  TEXT,
    guild_id     INTEGER,            -- NULL in direct messages
    channel_id   INTEGER,
    user_id      INTEGER NOT NULL,
    user_name    TEXT    NOT NULL,
    command      TEXT    NOT NULL,   -- lyrics | midi
    options      TEXT    NOT NULL,   -- JSON
    status       TEXT    NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed', 'interrupted')),
    result       TEXT,               -- text excerpt, or attachment names and sizes
    error        TEXT,
    duration_ms  INTEGER,
    model_version TEXT
);
CREATE INDEX requests_by_guild ON requests (guild_id, id DESC);
CREATE INDEX requests_by_channel ON requests (channel_id, id DESC);
CREATE INDEX requests_by_user ON requests (user_id, id DESC);
CREATE INDEX requests_by_status ON requests (status) WHERE status IN ('queued', 'running');
