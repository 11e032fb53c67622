import signal
import sqlite3
import subprocess
import sys
import time

import pretty_midi
import pytest
import soundfile

from ml.text.request import LyricsRequest
from tests.bot.conftest import bot_env, run_bot
from tests.music_fixtures import chord_midi


def test_console_driven_through_stdin(bot_settings, tmp_path):
    script = "\n".join(
        [
            "/help",
            '/lyrics artist:"beta" start:"xy x" length:100 seed:7',
            "/lyrics artist:Alfa",
            "/lyrics temperature:hot",
            "/lyrics artist:Bob Dylan",
            "/midi seconds:3 seed:5",
            '/continue file:"my tune.mid" seconds:2 seed:1',
            "/continue file:missing.mid",
            "/history limit:-1",
            "/artists search:bet",
            "/history",
            "/quit",
            "/lyrics never reached",
        ]
    )
    chord_midi(beats=8).write(str(tmp_path / "my tune.mid"))
    result = run_bot(["console"], bot_env(bot_settings), tmp_path, stdin=script)
    out = result.stdout
    assert result.returncode == 0, result.stderr
    assert "🎹 my tune.mid continued for 2 s in the folk style · temperature 1 · seed 1" in out
    assert "error: Cannot read missing.mid: No such file or directory." in out
    assert "/lyrics [artist:NAME]" in out
    assert f"Lyrics in the style of Beta · temperature 0.8 · style {LyricsRequest.style:g} · seed 7" in out
    assert "\nxy x" in out
    assert "error: Unknown artist 'Alfa'. Did you mean: Alpha?" in out
    assert "error: temperature must be a number, not 'hot'." in out
    assert "error: limit must be between 1 and 25 (got -1)." in out
    assert "I know 2 artists; 1 matching 'bet', page 1 of 1:\nBeta (" in out
    assert "Traceback" not in out + result.stderr
    assert (
        """/lyrics has no option 'Dylan'; to give artist a value with spaces, quote it: artist:"Bob Dylan"."""
        in out
    )
    assert "**" not in out.split("> /history\n")[1] and "`" not in out.split("> /history\n")[1]

    folder = bot_settings.console.output_dir / "request-2"
    assert pretty_midi.PrettyMIDI(str(folder / "song.mid")).instruments[0].notes
    assert soundfile.info(str(folder / "song.ogg")).duration > 0
    assert (folder / "piano-roll.png").read_bytes()[:4] == b"\x89PNG"
    history = out.split("> /history\n")[1]
    assert "/midi seconds:3 temperature:1.0 seed:5 style:folk meter:auto · done" in history
    lyrics = f"/lyrics artist:Beta start:xy x temperature:0.8 length:100 seed:7 style:{LyricsRequest.style}"
    assert f"{lyrics} · done" in history
    assert history.index("/midi") < history.index("/lyrics")  # newest first

    rows = (
        sqlite3.connect(bot_settings.storage.url)
        .execute("SELECT id, command, status FROM requests ORDER BY id")
        .fetchall()
    )
    assert rows == [(1, "lyrics", "done"), (2, "midi", "done"), (3, "continue", "done")]


def test_bot_without_a_token_explains_and_exits_2(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "DISCORD_TOKEN": ""}
    result = run_bot([], env, tmp_path)
    assert result.returncode == 2
    assert ".env.example" in result.stderr and "python -m bot console" in result.stderr


def test_invalid_settings_are_one_clear_message(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "QUEUE_MAX": "zero"}
    result = run_bot(["console"], env, tmp_path)
    assert result.returncode == 2
    assert (
        result.stderr.startswith("error: Invalid settings (QUEUE_MAX:") and "Traceback" not in result.stderr
    )


def test_console_refuses_an_overlong_line_at_once(bot_settings, tmp_path):
    script = "/lyrics start:" + "a" * 10_000_000 + "\n/about\n"
    result = run_bot(["console"], bot_env(bot_settings), tmp_path, stdin=script)
    assert result.returncode == 0, result.stderr
    assert "error: That line is 10,000,014 characters long; the limit is 4,000." in result.stdout
    assert "**Lyrics**" not in result.stdout and "Lyrics: " in result.stdout  # /about still ran


@pytest.mark.parametrize(
    ("database", "problem"),
    [
        ("a-file/bot.db", "cannot create the folder"),
        ("a-folder", "unable to open database file"),
        ("/proc/bot.db", "cannot create its lock file"),
        ("not-sqlite.db", "file is not a database"),
    ],
)
def test_an_unusable_database_is_one_error_line_and_exit_2(bot_settings, tmp_path, database, problem):
    (tmp_path / "a-file").write_text("I am a file")
    (tmp_path / "a-folder").mkdir()
    (tmp_path / "not-sqlite.db").write_text("some notes, not a database " * 100)
    env = bot_env(bot_settings) | {"DATABASE_URL": database}
    result = run_bot(["console", "-c", "/about"], env, tmp_path)  # an open connection would hang it
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: cannot use DATABASE_URL={database}")
    assert problem in result.stderr and result.stderr.count("\n") == 1
    if database == "not-sqlite.db":
        assert (tmp_path / database).read_text().startswith("some notes")  # nothing overwritten


@pytest.mark.parametrize(
    ("which", "problem"),
    [("password", "refused the login"), ("database", "does not exist"), ("server", "cannot reach")],
)
def test_an_unusable_postgresql_server_is_one_error_line_with_the_password_masked(
    bot_settings, tmp_path, postgres, postgres_database, which, problem
):
    name = {"password": postgres_database[0], "database": "missing_db", "server": "x"}[which]
    url = postgres.url(name, password="wrong-pass" if which == "password" else "s3cret-pass")
    if which == "server":
        url = "postgresql://balladeer:s3cret-pass@127.0.0.1:1/x"
    result = run_bot(["console", "-c", "/about"], bot_env(bot_settings) | {"DATABASE_URL": url}, tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("error: ") and "DATABASE_URL=postgresql://balladeer:***@" in result.stderr
    assert problem in result.stderr and result.stderr.count("\n") == 1
    assert "s3cret-pass" not in result.stderr and "wrong-pass" not in result.stderr


def test_discord_unreachable_at_startup_is_one_error_line(bot_settings, tmp_path, monkeypatch, capsys):
    import discord.http

    from bot.__main__ import main

    for name, value in bot_env(bot_settings).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DISCORD_TOKEN", "test-token")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(discord.http.Route, "BASE", "http://127.0.0.1:9/api/v10")  # nothing listens
    assert main([]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: cannot reach Discord") and err.count("\n") == 1


def _start_console(env: dict[str, str], cwd) -> subprocess.Popen:
    """`python -m bot console` reading from a pipe kept open, as a terminal would be."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "console"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
        env=env,
    )
    assert "Balladeer console" in process.stdout.readline()
    return process


def test_ctrl_c_at_the_prompt_exits_at_once_with_130(bot_settings, tmp_path):
    process = _start_console(bot_env(bot_settings), tmp_path)
    try:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=15) == 130
    finally:
        process.kill()
    assert "Traceback" not in process.stderr.read()


def test_ctrl_c_during_a_request_marks_it_interrupted_before_exiting(bot_settings, tmp_path):
    env = bot_env(bot_settings)
    del env["MUSIC_FOLK_CHECKPOINT"]  # the shipped model: a 120 s piece takes it a while
    process = _start_console(env, tmp_path)
    try:
        process.stdin.write("/midi seconds:120\n")
        process.stdin.flush()
        database = sqlite3.connect(bot_settings.storage.url)
        deadline = time.monotonic() + 60
        while database.execute("SELECT status FROM requests").fetchall() != [("running",)]:
            assert time.monotonic() < deadline, "the request never started"
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=15) == 130
    finally:
        process.kill()
    assert database.execute("SELECT status, error FROM requests").fetchall() == [
        ("interrupted", "the bot shut down")
    ]
