"""Bot settings from the environment and `.env`, grouped by concern; every number users
see lives here. Each field reads the environment variable its alias names (documented in
`.env.example`), so `settings.queue.max_per_user` is QUEUE_MAX_PER_USER."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AliasChoices, BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from ml.music.request import PianoRequest
from ml.music.soundfonts import available_soundfonts
from ml.names import DEFAULT_MUSIC_STYLE, MUSIC_STYLES
from ml.paths import DEFAULT_LYRICS_CHECKPOINT, DEFAULT_MUSIC_CHECKPOINTS, DEFAULT_SOUNDFONT_DIR
from ml.text.request import STRONGEST_STYLE, LyricsRequest


@dataclass(frozen=True)
class Within:
    """Marks a default that must lie within two other settings, named by their paths."""

    low: str
    high: str


def env(name: str, *older: str) -> Any:
    """The environment variable a field reads (and older names that still work)."""
    return AliasChoices(name, *older) if older else name


class Group(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True
    )

    @classmethod
    def env_names(cls) -> dict[str, str]:
        """Every environment name (lower case) this group reads → its field."""
        names = {}
        for field_name, field in cls.model_fields.items():
            alias = field.validation_alias
            choices = alias.choices if isinstance(alias, AliasChoices) else [alias]
            names.update({str(choice).lower(): field_name for choice in choices})
            names[field_name] = field_name
        return names

    @classmethod
    def env_name(cls, field_name: str) -> str:
        alias = cls.model_fields[field_name].validation_alias
        return str(alias.choices[0] if isinstance(alias, AliasChoices) else alias).upper()


class DiscordSettings(Group):
    token: SecretStr | None = Field(None, validation_alias=env("DISCORD_TOKEN"))
    dev_guild_id: int | None = Field(None, validation_alias=env("DEV_GUILD_ID"))
    # Sharding: unset = one gateway connection; a number (or "auto": Discord's recommendation)
    # = an AutoShardedBot over SHARD_IDS (comma-separated; default all of them).
    shard_count: int | Literal["auto"] | None = Field(None, validation_alias=env("SHARD_COUNT"))
    shard_ids: Annotated[list[int], NoDecode] | None = Field(None, validation_alias=env("SHARD_IDS"))
    delivery_timeout_seconds: float = Field(20.0, gt=0, validation_alias=env("DELIVERY_TIMEOUT_SECONDS"))
    # Discord stops taking edits of an interaction's reply after 15 minutes.
    button_timeout_seconds: float = Field(
        14 * 60, gt=0, le=15 * 60, validation_alias=env("BUTTON_TIMEOUT_SECONDS")
    )
    autocomplete_choices: int = Field(25, ge=1, le=25, validation_alias=env("AUTOCOMPLETE_CHOICES"))
    echo_chars: int = Field(60, ge=10, validation_alias=env("ECHO_CHARS"))  # user text quoted back

    @field_validator("shard_ids", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()] or None
        if isinstance(value, int):  # a single id
            return [value]
        return value

    @field_validator("shard_count", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @model_validator(mode="after")
    def _shards_exist(self) -> DiscordSettings:
        if isinstance(self.shard_count, int) and self.shard_count < 1:
            raise ValueError("SHARD_COUNT must be at least 1 (or auto)")
        if self.shard_ids is not None:
            if not isinstance(self.shard_count, int):
                raise ValueError("SHARD_IDS needs SHARD_COUNT set to a number")
            if not all(0 <= i < self.shard_count for i in self.shard_ids):
                raise ValueError(f"SHARD_IDS must lie in 0..{self.shard_count - 1} (SHARD_COUNT)")
        return self


class QueueSettings(Group):
    max: int = Field(50, ge=1, validation_alias=env("QUEUE_MAX"))
    max_per_user: int = Field(3, ge=1, validation_alias=env("QUEUE_MAX_PER_USER"))
    cooldown_seconds: float = Field(3.0, ge=0, validation_alias=env("COOLDOWN_SECONDS"))
    batch_max: int = Field(16, ge=1, validation_alias=env("BATCH_MAX"))


class SamplingSettings(Group):
    """Bounds /lyrics, /midi, /continue and the Hotter / Cooler buttons share."""

    temperature_min: float = Field(0.1, gt=0, validation_alias=env("TEMPERATURE_MIN"))
    temperature_max: float = Field(2.0, gt=0, validation_alias=env("TEMPERATURE_MAX"))
    temperature_step: float = Field(0.2, gt=0, validation_alias=env("TEMPERATURE_STEP"))
    seed_max: int = Field(2**31 - 1, ge=0, le=2**63 - 1, validation_alias=env("SEED_MAX"))


class LyricsSettings(Group):
    checkpoint: Path = Field(DEFAULT_LYRICS_CHECKPOINT, validation_alias=env("LYRICS_CHECKPOINT"))
    temperature_default: Annotated[float, Within("sampling.temperature_min", "sampling.temperature_max")] = (
        Field(LyricsRequest.temperature, validation_alias=env("LYRICS_TEMPERATURE_DEFAULT"))
    )
    length_default: Annotated[int, Within("lyrics.length_min", "lyrics.length_max")] = Field(
        LyricsRequest.length, validation_alias=env("LYRICS_LENGTH_DEFAULT")
    )
    length_min: int = Field(100, ge=1, validation_alias=env("LYRICS_LENGTH_MIN"))
    length_max: int = Field(1500, ge=1, validation_alias=env("LYRICS_LENGTH_MAX"))
    start_max_chars: int = Field(200, ge=1, validation_alias=env("LYRICS_START_MAX_CHARS"))
    style_default: Annotated[float, Within("lyrics.style_min", "lyrics.style_max")] = Field(
        LyricsRequest.style, validation_alias=env("LYRICS_STYLE_DEFAULT")
    )
    style_min: float = Field(0.0, validation_alias=env("LYRICS_STYLE_MIN"))
    style_max: float = Field(STRONGEST_STYLE, validation_alias=env("LYRICS_STYLE_MAX"))
    style_step: float = Field(1.0, gt=0, validation_alias=env("STYLE_STEP"))  # the Stronger style button
    artist_max_chars: int = Field(100, ge=1, validation_alias=env("ARTIST_MAX_CHARS"))
    artist_pages_max: ClassVar[int] = 10_000  # the largest /artists page number accepted


class MusicSettings(Group):
    # One model per style; PIANO_CHECKPOINT, the folk model's older name, still works. An
    # empty value leaves a style out.
    folk_model: Path | None = Field(
        DEFAULT_MUSIC_CHECKPOINTS["folk"], validation_alias=env("MUSIC_FOLK_CHECKPOINT", "PIANO_CHECKPOINT")
    )
    chorale_model: Path | None = Field(
        DEFAULT_MUSIC_CHECKPOINTS["chorale"], validation_alias=env("MUSIC_CHORALE_CHECKPOINT")
    )
    piano_model: Path | None = Field(
        DEFAULT_MUSIC_CHECKPOINTS["piano"], validation_alias=env("MUSIC_PIANO_CHECKPOINT")
    )
    style_default: Literal[MUSIC_STYLES] = Field(
        DEFAULT_MUSIC_STYLE, validation_alias=env("MIDI_STYLE_DEFAULT")
    )
    seconds_default: Annotated[int, Within("music.seconds_min", "music.seconds_max")] = Field(
        PianoRequest.seconds, validation_alias=env("MIDI_SECONDS_DEFAULT")
    )
    seconds_min: int = Field(5, ge=1, validation_alias=env("MIDI_SECONDS_MIN"))
    seconds_max: int = Field(120, ge=1, validation_alias=env("MIDI_SECONDS_MAX"))
    temperature_default: Annotated[float, Within("sampling.temperature_min", "sampling.temperature_max")] = (
        Field(PianoRequest.temperature, validation_alias=env("MIDI_TEMPERATURE_DEFAULT"))
    )
    max_notes: int = Field(8, ge=1, le=88, validation_alias=env("MIDI_MAX_NOTES"))
    # Music generated before the worker lets another batch take a turn.
    slice_seconds: float = Field(5.0, gt=0, validation_alias=env("MIDI_SLICE_SECONDS"))
    # /continue: the largest MIDI file taken, how much of it the model reads, how long its
    # download and its reading may take.
    continue_max_bytes: int = Field(1_000_000, ge=1, validation_alias=env("CONTINUE_MAX_BYTES"))
    continue_prime_bars: float = Field(
        PianoRequest.PRIME_BARS, gt=0, le=64, validation_alias=env("CONTINUE_PRIME_BARS")
    )
    continue_download_timeout_seconds: float = Field(
        10.0, gt=0, validation_alias=env("CONTINUE_DOWNLOAD_TIMEOUT_SECONDS")
    )
    continue_read_timeout_seconds: float = Field(
        10.0, gt=0, validation_alias=env("CONTINUE_READ_TIMEOUT_SECONDS")
    )
    # More SoundFonts (.sf2/.sf3) a server may choose with /settings, beside the shipped one.
    soundfont_dir: Path | None = Field(DEFAULT_SOUNDFONT_DIR, validation_alias=env("SOUNDFONT_DIR"))

    @field_validator("folk_model", "chorale_model", "piano_model", mode="before")
    @classmethod
    def _blank_is_left_out(cls, value: object) -> object:
        return None if value == "" else value

    @model_validator(mode="after")
    def _default_style_is_there(self) -> MusicSettings:
        if not self.checkpoints():
            raise ValueError(
                "set at least one of MUSIC_FOLK_CHECKPOINT, MUSIC_CHORALE_CHECKPOINT, MUSIC_PIANO_CHECKPOINT"
            )
        if self.style_default not in self.checkpoints():
            raise ValueError(
                f"MIDI_STYLE_DEFAULT={self.style_default} names a style whose checkpoint is unset"
            )
        return self

    def soundfonts(self) -> dict[str, Path]:
        """The SoundFonts a server may choose, by name."""
        return available_soundfonts(self.soundfont_dir)

    def checkpoints(self) -> dict[str, Path]:
        """Style → its model's checkpoint, for the styles offered, in order."""
        models = {style: getattr(self, f"{style}_model") for style in MUSIC_STYLES}
        return {style: path for style, path in models.items() if path is not None}


class VoiceSettings(Group):
    # The listening queue of each server: how many pieces wait, how many of them one member's.
    queue_max: int = Field(20, ge=1, validation_alias=env("VOICE_QUEUE_MAX"))
    queue_max_per_user: int = Field(3, ge=1, validation_alias=env("VOICE_QUEUE_MAX_PER_USER"))
    # The bot leaves this long after its queue ends, or after its channel has no listener.
    idle_seconds: float = Field(15.0, ge=0, validation_alias=env("VOICE_IDLE_SECONDS"))
    empty_seconds: float = Field(60.0, ge=0, validation_alias=env("VOICE_EMPTY_SECONDS"))
    connect_timeout_seconds: float = Field(15.0, gt=0, validation_alias=env("VOICE_CONNECT_TIMEOUT_SECONDS"))
    # A user's MIDI file is played up to this long; rendering it may take this long.
    max_seconds: float = Field(600.0, gt=0, validation_alias=env("VOICE_MAX_SECONDS"))
    render_timeout_seconds: float = Field(60.0, gt=0, validation_alias=env("VOICE_RENDER_TIMEOUT_SECONDS"))
    # The audio of recent pieces kept in memory for /play by number (oldest dropped first).
    shelf_megabytes: float = Field(64.0, ge=0, validation_alias=env("VOICE_SHELF_MEGABYTES"))


class StorageSettings(Group):
    # A SQLite file or sqlite:///file.db (embedded, one process per file), or
    # postgresql://user:password@host/database, shared by every process.
    url: str = Field("balladeer.db", validation_alias=env("DATABASE_URL", "DATABASE_PATH"))
    lease_seconds: float = Field(30.0, ge=1, validation_alias=env("DATABASE_LEASE_SECONDS"))
    # A place in line is taken in the database before Discord gets its acknowledgement (3 s).
    hold_timeout_seconds: float = Field(
        1.5, gt=0, le=2.5, validation_alias=env("DATABASE_HOLD_TIMEOUT_SECONDS")
    )
    # A command already acknowledged (/history, /settings) waits this long for the database.
    answer_timeout_seconds: float = Field(
        8.0, gt=0, le=600, validation_alias=env("DATABASE_ANSWER_TIMEOUT_SECONDS")
    )
    history_limit_default: Annotated[
        int, Within("storage.history_limit_min", "storage.history_limit_max")
    ] = Field(10, validation_alias=env("HISTORY_LIMIT_DEFAULT"))
    history_limit_min: ClassVar[int] = 1
    history_limit_max: int = Field(25, ge=1, validation_alias=env("HISTORY_LIMIT_MAX"))
    excerpt_chars: int = Field(200, ge=20, validation_alias=env("HISTORY_EXCERPT_CHARS"))  # what a row keeps

    @field_validator("url", mode="before")
    @classmethod
    def _path_is_a_url(cls, value: object) -> object:
        return str(value) if isinstance(value, Path) else value


class ConsoleSettings(Group):
    output_dir: Path = Field(Path("balladeer-output"), validation_alias=env("CONSOLE_OUTPUT_DIR"))
    line_max_chars: int = Field(4000, ge=100, validation_alias=env("CONSOLE_LINE_MAX_CHARS"))


class MonitoringSettings(Group):
    # Prometheus metrics and /healthz on this port (unset: off).
    metrics_port: int | None = Field(None, ge=0, le=65535, validation_alias=env("METRICS_PORT"))
    # The address they listen on: loopback only by default. /metrics and /healthz have no
    # login: set 0.0.0.0 only behind a firewall or on a private network.
    metrics_host: str = Field("127.0.0.1", min_length=1, validation_alias=env("METRICS_HOST"))
    # /healthz turns 503 when work waits and the worker has not finished a step for this long.
    worker_stall_seconds: float = Field(120.0, gt=0, validation_alias=env("WORKER_STALL_SECONDS"))
    # Unset: WARNING in the console, INFO for the Discord bot.
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] | None = Field(
        None, validation_alias=env("LOG_LEVEL")
    )

    @field_validator("log_level", mode="before")
    @classmethod
    def _any_case(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value


class Settings(BaseModel):
    """Every group, each read from the environment and `_env_file`.

    `Settings(queue_max=5, lyrics_checkpoint=...)` overrides by environment name (any case),
    which is how tests and scripts set a few values."""

    discord: DiscordSettings
    queue: QueueSettings
    sampling: SamplingSettings
    lyrics: LyricsSettings
    music: MusicSettings
    voice: VoiceSettings
    storage: StorageSettings
    console: ConsoleSettings
    monitoring: MonitoringSettings

    def __init__(self, _env_file: str | Path | None = ".env", **overrides: Any) -> None:
        if overrides and all(isinstance(value, Group) for value in overrides.values()):
            super().__init__(**overrides)  # built from its groups (`replaced`, validation)
            return
        groups: dict[str, Group] = {}
        for name, field in type(self).model_fields.items():
            group: type[Group] = field.annotation
            names = group.env_names()
            own = {  # by environment name, so a bad value's error names the variable
                group.env_name(names[key.lower()]): overrides.pop(key)
                for key in list(overrides)
                if key.lower() in names
            }
            groups[name] = group(_env_file=_env_file, **own)
        if overrides:
            raise TypeError(f"unknown settings: {', '.join(sorted(overrides))}")
        super().__init__(**groups)

    def replaced(self, **overrides: Any) -> Settings:
        """A copy with some values changed, by environment name; this one untouched."""
        groups = {name: getattr(self, name).model_copy() for name in type(self).model_fields}
        for key, value in overrides.items():
            for group in groups.values():
                field_name = type(group).env_names().get(key.lower())
                if field_name is not None:
                    setattr(group, field_name, value)
                    break
            else:
                raise TypeError(f"unknown setting: {key}")
        return Settings(**groups)

    @model_validator(mode="after")
    def _defaults_within_bounds(self) -> Settings:
        """Every default marked `Within` its bounds, and every bound pair ordered."""
        for group_name in type(self).model_fields:
            group = getattr(self, group_name)
            for field_name, field in type(group).model_fields.items():
                for mark in field.metadata:
                    if isinstance(mark, Within):
                        low, high = self._at(mark.low), self._at(mark.high)
                        value = getattr(group, field_name)
                        if not low <= value <= high:
                            raise ValueError(
                                f"{type(group).env_name(field_name)} must lie within "
                                f"{self._env_name(mark.low)}..{self._env_name(mark.high)} ({low:g}..{high:g})"
                            )
        return self

    def _at(self, path: str) -> Any:
        group, field = path.split(".")
        return getattr(getattr(self, group), field)

    def _env_name(self, path: str) -> str:
        group, field = path.split(".")
        owner = type(getattr(self, group))
        return owner.env_name(field) if field in owner.model_fields else str(getattr(owner, field))
