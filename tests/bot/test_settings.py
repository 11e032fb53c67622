"""Settings: grouped by concern, every environment name of before still read, one check
that keeps each default within its bounds."""

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.config import Settings, Within

ENV_EXAMPLE = Path(__file__).resolve().parents[2] / ".env.example"


def _groups():
    return [field.annotation for field in Settings.model_fields.values()]


def test_every_setting_reads_one_environment_name_documented_in_env_example():
    documented = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", ENV_EXAMPLE.read_text(), re.MULTILINE))
    names = [group.env_name(field) for group in _groups() for field in group.model_fields]
    assert len(names) == len(set(names))
    assert set(names) <= documented, sorted(set(names) - documented)


def test_environment_names_reach_their_group(monkeypatch):
    monkeypatch.setenv("QUEUE_MAX_PER_USER", "7")
    monkeypatch.setenv("DATABASE_PATH", "old-name.db")  # the name before DATABASE_URL
    monkeypatch.setenv("LYRICS_LENGTH_MAX", "900")
    monkeypatch.setenv("log_level", "debug")
    settings = Settings(_env_file=None)
    assert settings.queue.max_per_user == 7
    assert settings.storage.url == "old-name.db"
    assert settings.lyrics.length_max == 900
    assert settings.monitoring.log_level == "DEBUG"
    assert Settings(_env_file=None, DATABASE_URL="postgresql://x/y").storage.url == "postgresql://x/y"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"LYRICS_LENGTH_DEFAULT": 50}, "LYRICS_LENGTH_DEFAULT must lie within LYRICS_LENGTH_MIN..LYRICS_"),
        ({"TEMPERATURE_MAX": 0.5}, "LYRICS_TEMPERATURE_DEFAULT must lie within TEMPERATURE_MIN.."),
        ({"MIDI_SECONDS_MIN": 40}, "MIDI_SECONDS_DEFAULT must lie within MIDI_SECONDS_MIN..MIDI_SECONDS_MAX"),
        ({"HISTORY_LIMIT_MAX": 5}, "HISTORY_LIMIT_DEFAULT must lie within 1..HISTORY_LIMIT_MAX"),
        ({"SHARD_IDS": "0,3", "SHARD_COUNT": 2}, "SHARD_IDS must lie in 0..1"),
    ],
)
def test_a_default_outside_its_bounds_is_refused_by_name(values, message):
    with pytest.raises(ValidationError, match=re.escape(message)):
        Settings(_env_file=None, **values)


def test_every_marked_default_has_bounds_that_exist():
    settings = Settings(_env_file=None)
    for group in _groups():
        for field in group.model_fields.values():
            for mark in (m for m in field.metadata if isinstance(m, Within)):
                assert settings._at(mark.low) <= settings._at(mark.high)


def test_replaced_copies_and_leaves_the_original_alone():
    settings = Settings(_env_file=None)
    copy = settings.replaced(cooldown_seconds=0, queue_max=9)
    assert (copy.queue.cooldown_seconds, copy.queue.max) == (0, 9)
    assert (settings.queue.cooldown_seconds, settings.queue.max) == (3.0, 50)
    with pytest.raises(TypeError, match="unknown setting"):
        settings.replaced(no_such_setting=1)
    with pytest.raises(TypeError, match="unknown settings"):
        Settings(_env_file=None, no_such_setting=1)
