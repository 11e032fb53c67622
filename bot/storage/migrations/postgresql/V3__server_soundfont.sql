-- The SoundFont a server's admins chose with /settings for audio previews (NULL: the default).
ALTER TABLE guild_settings ADD COLUMN soundfont TEXT;
