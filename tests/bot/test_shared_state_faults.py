"""Shared state under its own faults: deadlocks, outages longer than a lease, a database
gone at admission, a lease loop hit by any error. PostgreSQL is the real server of the
`pgserver` wheel; faults come from an admin connection or from stopping the server."""

import asyncio
import logging
import sqlite3

import asyncpg
import pytest

from bot.requests import LyricsOptions, MidiOptions, Requester, Unavailable
from bot.service import SongService
from bot.storage import Instance, ShardClaim, open_storage
from tests.bot.fake_discord import GUILD_ID, FakeDiscord

UNREACHABLE = "I can't reach my database right now"


def carol(guild: int = 100) -> Requester:
    return Requester(3, "carol", guild_id=guild, channel_id=1)


async def _accept(reply) -> None:
    """A transport that takes every reply."""


async def _waiting_on_a_lock(admin: asyncpg.Connection, database: str) -> None:
    """Until some other backend of `database` waits on a row or advisory lock."""
    for _ in range(500):
        waiting = await admin.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock'"
            " AND pid <> pg_backend_pid()",
            database,
        )
        if waiting:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("nothing ever waited on a lock")


async def test_a_deadlock_during_a_lease_renewal_is_retried_and_the_sweep_completes(
    postgres_database, caplog
):
    name, url = postgres_database
    live = await open_storage(url, Instance.new(ShardClaim(frozenset({0})), 30.0))
    dead = await open_storage(url, Instance.new(ShardClaim(frozenset({1})), 1.0))
    orphan = await dead.insert_request(
        guild_id=5, channel_id=7, user_id=1, user_name="u", command="lyrics", options={}, model_version="m"
    )
    await dead.connector.close()  # killed: its lease runs out in a second
    await asyncio.sleep(1.2)
    admin = await asyncpg.connect(url)
    transaction = admin.transaction()
    await transaction.start()
    try:
        # The cycle: the admin holds the orphan's row, the renewal its own instance row;
        # each then asks for the other's.
        await admin.execute("UPDATE requests SET result = result WHERE id = $1", orphan)
        with caplog.at_level(logging.WARNING):
            renewal = asyncio.create_task(live.renew_lease())
            await _waiting_on_a_lock(admin, name)
            try:
                await admin.execute(
                    "UPDATE instances SET lease_until = lease_until WHERE id = $1", live.instance.id
                )
                admin_was_the_victim = False
            except asyncpg.exceptions.DeadlockDetectedError:
                admin_was_the_victim = True
            await transaction.rollback()
            result = await asyncio.wait_for(renewal, 30)
        assert result.interrupted == 1 and not result.lapsed
        assert admin_was_the_victim or "DeadlockDetectedError" in caplog.text  # retried, not fatal
        assert (await live.get(orphan)).status == "interrupted"
    finally:
        await admin.close()
        await live.close()


async def test_two_processes_renewing_after_an_outage_never_deadlock(postgres_database, caplog):
    """What deadlocked before: after an outage both processes' leases have run out, and each
    renewal, having renewed its own row, deletes the other's as dead."""
    _, url = postgres_database
    a = await open_storage(url, Instance.new(ShardClaim(frozenset({0})), 0.1))
    b = await open_storage(url, Instance.new(ShardClaim(frozenset({1})), 0.1))
    try:
        with caplog.at_level(logging.WARNING):
            for _ in range(10):
                await asyncio.sleep(0.15)  # both leases out, as after an outage
                await asyncio.gather(a.renew_lease(), b.renew_lease())
        assert "Deadlock" not in caplog.text
    finally:
        await a.close()
        await b.close()


async def test_the_lease_loop_survives_any_error_and_stops_taking_work_once_its_lease_is_gone(
    bot_settings, caplog
):
    service = await SongService.start(bot_settings.replaced(database_lease_seconds=1))
    renew = service.storage.renew_lease

    async def broken(**_):
        raise RuntimeError("not a database error at all")

    try:
        with caplog.at_level(logging.ERROR):
            service.storage.renew_lease = broken
            await asyncio.sleep(1.5)
            assert caplog.text.count("could not renew the lease") >= 2  # logged every time, still looping
            assert "takes no new requests" in caplog.text
            assert not service.lease_held and not service.healthy
            with pytest.raises(Unavailable, match=UNREACHABLE):
                await service.submit(carol(), LyricsOptions(length=100))
            service.storage.renew_lease = renew
            for _ in range(100):
                if service.lease_held:
                    break
                await asyncio.sleep(0.05)
        assert service.lease_held and service.healthy
        ticket = await service.submit(carol(), LyricsOptions(length=100))
        await service.deliver(ticket, _accept)
    finally:
        await service.close()


async def test_a_reply_delivered_through_an_outage_longer_than_the_lease_is_done(
    bot_settings, postgres, postgres_database
):
    _, url = postgres_database
    settings = bot_settings.replaced(database_url=url, database_lease_seconds=3)
    first = await SongService.start(settings, ShardClaim(frozenset({0})))
    second = await SongService.start(settings.replaced(), ShardClaim(frozenset({1})))
    try:
        ticket = await first.submit(carol(), LyricsOptions(length=100))
        await ticket.reply()  # made; the row stays running until the user has it
        waiting = await first.storage.insert_request(
            guild_id=100, channel_id=1, user_id=4, user_name="dave", command="lyrics", options={},
            model_version="m",
        )  # fmt: skip
        postgres.stop()
        try:
            await asyncio.sleep(4.5)  # past the lease: every process's lease has run out
            assert not first.lease_held and not first.healthy
            with pytest.raises(Unavailable, match=UNREACHABLE):
                await first.submit(Requester(5, "erin", 100, 1), LyricsOptions(length=100))
            delivered = asyncio.create_task(first.deliver(ticket, _accept))  # the user has it now
            await asyncio.sleep(0.5)
        finally:
            postgres.start()
        await asyncio.wait_for(delivered, 60)
        await asyncio.sleep(2 * 3)  # both back, renewing; neither may take the other for dead
        assert (await second.storage.get(ticket.request_id)).status == "done"
        assert (await second.storage.get(waiting)).status == "queued"  # still first's, alive
        assert first.lease_held and second.lease_held
    finally:
        await asyncio.gather(first.close(), second.close())


async def test_a_dropped_connection_at_admission_is_retried(bot_settings, postgres, postgres_database):
    name, url = postgres_database
    service = await SongService.start(bot_settings.replaced(database_url=url), ShardClaim())
    try:
        postgres.terminate_connections(name)
        ticket = await service.submit(carol(), LyricsOptions(length=100))
        await service.deliver(ticket, _accept)
    finally:
        await service.close()


async def test_a_sqlite_error_after_opening_is_the_database_message_not_a_bug(bot_settings):
    service = await SongService.start(bot_settings)
    try:
        with sqlite3.connect(bot_settings.storage.url) as other:
            other.execute("DROP TABLE holds")  # the file no longer fits the bot
        with pytest.raises(Unavailable, match=UNREACHABLE):
            await service.submit(carol(), LyricsOptions(length=100))
    finally:
        await service.close()


async def test_commands_during_a_database_outage_are_answered_within_discords_limit(
    bot_settings, postgres, postgres_database
):
    _, url = postgres_database
    settings = bot_settings.replaced(
        database_url=url, dev_guild_id=int(GUILD_ID), database_answer_timeout_seconds=2
    )
    fake = FakeDiscord(ack_deadline=3.0)
    async with fake.serving(settings) as bot:
        await fake.followups(await fake.slash("lyrics", length=100))  # a working start
        postgres.stop()
        try:
            for command, options in (("lyrics", {"length": 100}), ("midi", {"seconds": 2}), ("history", {})):
                answer = await fake.private_answer(await fake.slash(command, user_id="9", **options))
                assert UNREACHABLE in answer, (command, answer)
            assert fake.errors_sent == []  # every acknowledgement in time
        finally:
            postgres.start()
        for _ in range(100):  # back within a renewal or two
            if bot.service.healthy:
                break
            await asyncio.sleep(0.1)
        (reply,) = await fake.followups(await fake.slash("midi", seconds=2, user_id="9"))
        assert reply.json["content"].startswith("🎹")


async def test_the_service_refuses_crafted_settings_and_pages(bot_settings):
    service = await SongService.start(bot_settings)
    try:
        for crafted in ("ON", "yes", "maybe", 1, True, None):
            with pytest.raises(Exception, match="profanity must be on or off"):
                await service.set_profanity(5, crafted, admin_id=1)
        assert not (await service.setting(5)).profanity  # nothing stored
        await service.set_profanity(5, "on", admin_id=1)
        assert (await service.setting(5)).profanity
        for crafted in ("Nope", 3, None, "../../etc/passwd"):
            with pytest.raises(Exception, match="soundfont must be one of default, TimGM6mb"):
                await service.set_soundfont(5, crafted, admin_id=1)
        await service.set_soundfont(5, "TimGM6mb", admin_id=1)
        assert (await service.setting(5)).soundfont == "TimGM6mb" and (await service.setting(5)).profanity
        for page in ("2", 1.5, True, 0, 10**6):
            with pytest.raises(Exception, match="page must be"):
                service.artist_page("", page)
        with pytest.raises(Exception, match="search can be at most 100 characters"):
            service.artist_page("x" * 10_000, 1)
        assert "alpha" in service.artist_page("alp", 1).lower()
    finally:
        await service.close()


async def test_midi_in_a_burst_during_an_outage_loses_nothing(bot_settings, postgres, postgres_database):
    """Requests accepted before a short outage are all stored done after it."""
    _, url = postgres_database
    service = await SongService.start(bot_settings.replaced(database_url=url), ShardClaim())
    try:
        tickets = [
            await service.submit(Requester(u, f"u{u}", 100, 1), MidiOptions(seconds=2, seed=u))
            for u in (1, 2, 3)
        ]
        postgres.stop()
        try:
            deliveries = [asyncio.create_task(service.deliver(t, _accept)) for t in tickets]
            await asyncio.sleep(1.0)
        finally:
            postgres.start()
        await asyncio.wait_for(asyncio.gather(*deliveries), 60)
        for ticket in tickets:
            assert (await service.storage.get(ticket.request_id)).status == "done"
    finally:
        await service.close()
