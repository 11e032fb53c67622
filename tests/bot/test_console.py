import sqlite3
import subprocess
import sys
import wave

import pretty_midi


def _env(settings):
    return {
        "PATH": "/usr/bin:/bin",
        "LYRICS_CHECKPOINT": str(settings.lyrics_checkpoint),
        "PIANO_CHECKPOINT": str(settings.piano_checkpoint),
        "DATABASE_PATH": str(settings.database_path),
        "CONSOLE_OUTPUT_DIR": str(settings.console_output_dir),
        "COOLDOWN_SECONDS": "0",
        "MIDI_SECONDS_MIN": "1",
        "OMP_NUM_THREADS": "1",
    }


def test_console_driven_through_stdin(bot_settings, tmp_path):
    script = "\n".join(
        [
            "/help",
            '/lyrics artist:"beta" start:"xy x" length:100 seed:7',
            "/lyrics artist:Alfa",
            "/lyrics temperature:hot",
            "/midi seconds:3 seed:5",
            "/history",
            "/quit",
            "/lyrics never reached",
        ]
    )
    result = subprocess.run(
        [sys.executable, "-m", "bot", "console"],
        input=script,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=_env(bot_settings),
        timeout=120,
    )
    out = result.stdout
    assert result.returncode == 0, result.stderr
    assert "/lyrics [artist:NAME]" in out
    assert "Lyrics in the style of Beta · temperature 0.8 · seed 7" in out and "\nxy x" in out
    assert "error: Unknown artist 'Alfa'. Did you mean: Alpha?" in out
    assert "error: temperature must be a float, not 'hot'." in out
    assert "Traceback" not in out + result.stderr

    folder = bot_settings.console_output_dir / "request-2"
    assert pretty_midi.PrettyMIDI(str(folder / "song.mid")).instruments[0].notes
    with wave.open(str(folder / "song.wav")) as f:
        assert f.getnframes() > 0
    assert (folder / "piano-roll.png").read_bytes()[:4] == b"\x89PNG"
    history = out.split("> /history")[1]
    assert "/midi seconds:3 temperature:1.0 seed:5 · done" in history
    assert "/lyrics artist:Beta start:xy x temperature:0.8 length:100 seed:7 · done" in history
    assert history.index("/midi") < history.index("/lyrics")  # newest first

    rows = (
        sqlite3.connect(bot_settings.database_path)
        .execute("SELECT id, command, status FROM requests ORDER BY id")
        .fetchall()
    )
    assert rows == [(1, "lyrics", "done"), (2, "midi", "done")]


def test_bot_without_a_token_explains_and_exits_2(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "DISCORD_TOKEN": ""}
    result = subprocess.run(
        [sys.executable, "-m", "bot"], capture_output=True, text=True, cwd=tmp_path, env=env
    )
    assert result.returncode == 2
    assert ".env.example" in result.stderr and "python -m bot console" in result.stderr


def test_invalid_settings_are_one_clear_message(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "QUEUE_MAX": "zero"}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "console"], capture_output=True, text=True, cwd=tmp_path, env=env
    )
    assert result.returncode == 2
    assert (
        result.stderr.startswith("error: Invalid settings (queue_max:") and "Traceback" not in result.stderr
    )
