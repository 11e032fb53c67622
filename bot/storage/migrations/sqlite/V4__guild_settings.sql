-- What a server's admins change with /settings.
CREATE TABLE guild_settings (
    guild_id    INTEGER PRIMARY KEY,
    profanity   INTEGER NOT NULL DEFAULT 0,  -- 1: shown unmasked in every channel of the server
    changed_by  INTEGER,                     -- the admin's user id
    changed_at  TEXT
);
