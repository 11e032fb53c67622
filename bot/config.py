"""Bot settings from the environment and `.env`; every number users see lives here."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from ml.names import DEFAULT_STYLE
from ml.paths import DEFAULT_LYRICS_CHECKPOINT, DEFAULT_PIANO_CHECKPOINT


class Settings(BaseSettings):
    """Documented field by field in `.env.example`."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True
    )

    discord_token: SecretStr | None = None
    dev_guild_id: int | None = None
    # A SQLite file or sqlite:///file.db (embedded, one process per file), or
    # postgresql://user:password@host/database, shared by every process. DATABASE_PATH, its
    # older name, still works.
    database_url: str = Field("balladeer.db", validation_alias=AliasChoices("database_url", "database_path"))
    database_lease_seconds: float = Field(30.0, ge=1)  # a process silent this long is dead
    database_hold_timeout_seconds: float = Field(1.5, gt=0)  # a place in line, before the ack
    lyrics_checkpoint: Path = DEFAULT_LYRICS_CHECKPOINT
    piano_checkpoint: Path = DEFAULT_PIANO_CHECKPOINT
    console_output_dir: Path = Path("balladeer-output")
    # Sharding: unset = one gateway connection; a number (or "auto": Discord's recommendation)
    # = an AutoShardedBot over SHARD_IDS (comma-separated; default all of them).
    shard_count: int | Literal["auto"] | None = None
    shard_ids: Annotated[list[int], NoDecode] | None = None

    queue_max: int = Field(50, ge=1)
    queue_max_per_user: int = Field(3, ge=1)
    cooldown_seconds: float = Field(3.0, ge=0)
    batch_max: int = Field(16, ge=1)
    delivery_timeout_seconds: float = Field(20.0, gt=0)

    temperature_min: float = 0.1  # bounds /lyrics, /midi and the Hotter / Cooler buttons
    temperature_max: float = 2.0
    lyrics_temperature_default: float = 0.8
    lyrics_length_default: int = 500
    lyrics_length_min: int = 100
    lyrics_length_max: int = 1500
    lyrics_start_max_chars: int = 200
    lyrics_style_default: float = DEFAULT_STYLE
    lyrics_style_min: float = 0.0
    lyrics_style_max: float = 6.0
    style_step: float = 1.0  # what the Stronger style button adds
    artist_max_chars: int = 100
    midi_seconds_default: int = 30
    midi_seconds_min: int = 5
    midi_seconds_max: int = 120
    midi_temperature_default: float = 1.0
    midi_max_notes: int = 8
    continue_max_bytes: int = Field(1_000_000, ge=1)  # /continue: the largest MIDI file taken
    continue_prime_bars: float = Field(16, gt=0, le=64)  # ... and how much of it the model reads
    continue_download_timeout_seconds: float = Field(10.0, gt=0)  # ... and how long its download may take
    continue_read_timeout_seconds: float = Field(10.0, gt=0)  # ... and its reading
    midi_slice_seconds: float = Field(5.0, gt=0)  # music generated before the worker lets others in
    temperature_step: float = 0.2
    history_limit_default: int = 10
    history_limit_max: int = 25
    console_line_max_chars: int = Field(4000, ge=100)

    # Prometheus metrics and /healthz on this port (unset: off).
    metrics_port: int | None = Field(None, ge=0, le=65535)

    log_level: str | None = None  # unset: WARNING in the console, INFO for the Discord bot

    @field_validator("shard_ids", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()] or None
        if isinstance(value, int):  # a single id
            return [value]
        return value

    @field_validator("database_url", mode="before")
    @classmethod
    def _path_is_a_url(cls, value: object) -> object:
        return str(value) if isinstance(value, Path) else value

    @field_validator("shard_count", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @model_validator(mode="after")
    def _bounds_are_ordered(self) -> Settings:
        bounded = {
            "LYRICS_TEMPERATURE_DEFAULT": ("TEMPERATURE", self.lyrics_temperature_default),
            "MIDI_TEMPERATURE_DEFAULT": ("TEMPERATURE", self.midi_temperature_default),
            "LYRICS_LENGTH_DEFAULT": ("LYRICS_LENGTH", self.lyrics_length_default),
            "LYRICS_STYLE_DEFAULT": ("LYRICS_STYLE", self.lyrics_style_default),
            "MIDI_SECONDS_DEFAULT": ("MIDI_SECONDS", self.midi_seconds_default),
            "HISTORY_LIMIT_DEFAULT": ("HISTORY_LIMIT", self.history_limit_default),
        }
        for default_name, (bound, value) in bounded.items():
            low = getattr(self, f"{bound.lower()}_min", 1)
            high = getattr(self, f"{bound.lower()}_max")
            if not low <= value <= high:
                raise ValueError(f"{default_name} must lie within {bound}_MIN..{bound}_MAX ({low}..{high})")
        if self.shard_ids is not None:
            if not isinstance(self.shard_count, int):
                raise ValueError("SHARD_IDS needs SHARD_COUNT set to a number")
            if not all(0 <= i < self.shard_count for i in self.shard_ids):
                raise ValueError(f"SHARD_IDS must lie in 0..{self.shard_count - 1} (SHARD_COUNT)")
        if isinstance(self.shard_count, int) and self.shard_count < 1:
            raise ValueError("SHARD_COUNT must be at least 1 (or auto)")
        if self.history_limit_max < 1 or self.artist_max_chars < 1 or self.lyrics_start_max_chars < 1:
            raise ValueError("HISTORY_LIMIT_MAX, ARTIST_MAX_CHARS and LYRICS_START_MAX_CHARS must be >= 1")
        if self.log_level is not None and self.log_level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            raise ValueError("LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR")
        return self
