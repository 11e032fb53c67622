"""Bot settings from the environment and `.env`; every number users see lives here."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ml.paths import DEFAULT_LYRICS_CHECKPOINT, DEFAULT_PIANO_CHECKPOINT


class Settings(BaseSettings):
    """Documented field by field in `.env.example`."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    discord_token: SecretStr | None = None
    dev_guild_id: int | None = None
    database_path: Path = Path("balladeer.db")
    lyrics_checkpoint: Path = DEFAULT_LYRICS_CHECKPOINT
    piano_checkpoint: Path = DEFAULT_PIANO_CHECKPOINT
    console_output_dir: Path = Path("balladeer-output")

    queue_max: int = Field(50, ge=1)
    queue_max_per_user: int = Field(3, ge=1)
    cooldown_seconds: float = Field(3.0, ge=0)
    batch_max: int = Field(16, ge=1)
    worker_threads: int = Field(1, ge=1)

    lyrics_temperature_default: float = 0.8
    lyrics_temperature_min: float = 0.1
    lyrics_temperature_max: float = 2.0
    lyrics_length_default: int = 500
    lyrics_length_min: int = 100
    lyrics_length_max: int = 1500
    lyrics_start_max_chars: int = 200
    midi_seconds_default: int = 30
    midi_seconds_min: int = 5
    midi_seconds_max: int = 120
    midi_temperature_default: float = 1.0
    midi_max_notes: int = 8
    temperature_step: float = 0.2

    log_level: str = "INFO"

    @model_validator(mode="after")
    def _bounds_are_ordered(self) -> Settings:
        for name in ("lyrics_temperature", "lyrics_length", "midi_seconds"):
            low, default, high = (getattr(self, f"{name}_{k}") for k in ("min", "default", "max"))
            if not low <= default <= high:
                raise ValueError(
                    f"{name.upper()}_MIN <= {name.upper()}_DEFAULT <= {name.upper()}_MAX must hold"
                )
        if not self.lyrics_temperature_min <= self.midi_temperature_default <= self.lyrics_temperature_max:
            raise ValueError("MIDI_TEMPERATURE_DEFAULT must lie within the temperature bounds")
        if self.log_level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            raise ValueError("LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR")
        return self
