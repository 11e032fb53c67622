-- What a server's admins change with /settings.
CREATE TABLE guild_settings (
    guild_id    BIGINT PRIMARY KEY,
    profanity   BOOLEAN NOT NULL DEFAULT FALSE,  -- shown unmasked in every channel of the server
    changed_by  BIGINT,                          -- the admin's user id
    changed_at  TIMESTAMPTZ
);
