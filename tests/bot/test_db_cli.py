"""`python -m bot db copy` and `db check`, run as an operator runs them."""

import asyncio
import subprocess
import sys

from bot.storage import Instance, ShardClaim, open_storage


def db(*args: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bot", "db", *args], capture_output=True, text=True, cwd=cwd, timeout=60
    )


async def _history_file(path, rows: int) -> None:
    storage = await open_storage(path, Instance.new(ShardClaim()))
    for n in range(rows):
        request_id = await storage.insert_request(
            guild_id=5, channel_id=7, user_id=n % 3, user_name="u", command="midi",
            options={"seconds": 30}, model_version="music.pt@1",
        )  # fmt: skip
        await storage.finish(request_id, "done" if n % 4 else "failed", result="song.mid")
    await storage.close()


def test_moving_a_sqlite_history_to_postgresql_loses_nothing_and_can_be_rerun(tmp_path, postgres_database):
    _, url = postgres_database
    asyncio.run(_history_file(tmp_path / "shard0.db", 1203))
    first = db("copy", "shard0.db", url, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "copied 1,203 rows from shard0.db to postgresql://balladeer:***@" in first.stdout
    again = db("copy", "shard0.db", url, cwd=tmp_path)
    assert "copied 0 rows" in again.stdout and "(1,203 there already)" in again.stdout
    check = db("check", url, cwd=tmp_path)
    assert check.returncode == 0
    assert "postgresql, schema version 3 of 3" in check.stdout
    assert "requests: 1,203 (done 902, failed 301)" in check.stdout
    assert "s3cret-pass" not in first.stdout + check.stdout + first.stderr


def test_db_mistakes_are_one_error_line(tmp_path):
    for args, problem in (
        (("check", "missing.db"), "there is no such file"),
        (("copy", "missing.db", "new.db"), "there is no such file"),
        (("copy", "a.db", "sqlite:///a.db"), "the same file"),
        (("check", "postgresql://me:pw@127.0.0.1:1/x"), "cannot reach the PostgreSQL server"),
    ):
        result = db(*args, cwd=tmp_path)
        assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
        assert result.stderr.startswith("error: ") and problem in result.stderr
    assert not list(tmp_path.iterdir())  # a mistake creates no file


def test_a_damaged_source_is_one_error_line_and_the_target_is_untouched(tmp_path):
    asyncio.run(_history_file(tmp_path / "old.db", 1500))
    size = (tmp_path / "old.db").stat().st_size
    with open(tmp_path / "old.db", "r+b") as damaged:  # the header intact, later pages overwritten
        damaged.seek(size // 2)
        damaged.write(b"\xde\xad\xbe\xef" * 4096)
    result = db("copy", "old.db", "new.db", cwd=tmp_path)
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert (
        result.stderr.startswith("error: DATABASE_URL=old.db is damaged")
        and "nothing was copied" in result.stderr
    )
    assert "Traceback" not in result.stderr and not (tmp_path / "new.db").exists()


def test_one_file_named_two_ways_is_refused_as_the_same_file(tmp_path):
    asyncio.run(_history_file(tmp_path / "a.db", 3))
    (tmp_path / "link.db").symlink_to(tmp_path / "a.db")
    for target in ("./a.db", str(tmp_path / "a.db"), "sqlite:///a.db", "link.db"):
        result = db("copy", "a.db", target, cwd=tmp_path)
        assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
        assert "are the same file" in result.stderr and "another Balladeer process" not in result.stderr
