"""Two bot processes' services on one PostgreSQL database: one history, caps and cooldown
per user across both, and every place in line given back on every path."""

import asyncio

import pytest

from bot.requests import Busy, ContinueOptions, InvalidOption, LyricsOptions, Requester
from bot.service import SongService
from bot.storage import ShardClaim


@pytest.fixture
async def two_processes(bot_settings, postgres_database):
    settings = bot_settings.replaced(database_url=postgres_database[1], queue_max_per_user=2)
    first = await SongService.start(settings, ShardClaim(frozenset({0})))
    second = await SongService.start(settings.replaced(), ShardClaim(frozenset({1})))
    yield first, second
    await asyncio.gather(first.close(), second.close())


def carol(guild: int) -> Requester:
    return Requester(3, "carol", guild_id=guild, channel_id=1)


async def test_the_per_user_cap_holds_across_processes(two_processes):
    first, second = two_processes
    for service in two_processes:
        service._worker.cancel()  # nothing finishes: every request stays in line
    await first.submit(carol(100), LyricsOptions(length=100))
    await second.submit(carol(200), LyricsOptions(length=100))
    with pytest.raises(Busy, match="You already have 2 requests in line") as refused:
        await first.submit(carol(100), LyricsOptions(length=100))
    assert refused.value.reason == "user_cap"
    await second.submit(Requester(4, "dave", 200), LyricsOptions(length=100))  # others still welcome


async def test_a_finished_request_gives_its_place_back_everywhere(two_processes):
    first, second = two_processes
    tickets = [await s.submit(carol(100 * n), LyricsOptions(length=100)) for n, s in enumerate(two_processes)]
    for service, ticket in zip(two_processes, tickets, strict=True):
        await service.deliver(ticket, _accept)
    assert [(await first.storage.get(t.request_id)).status for t in tickets] == ["done", "done"]
    await second.submit(carol(200), LyricsOptions(length=100))
    await second.submit(carol(200), LyricsOptions(length=100))


async def test_the_cooldown_holds_across_processes(two_processes):
    first, second = two_processes
    for service in two_processes:
        service.settings.queue.cooldown_seconds = 60
    await first.submit(carol(100), LyricsOptions(length=100))
    with pytest.raises(Busy, match="Slow down a little") as refused:
        await second.submit(carol(200), LyricsOptions(length=100))
    assert refused.value.reason == "cooldown" and 58 < refused.value.retry_after <= 60


async def test_a_refused_file_gives_the_place_and_the_cooldown_back(two_processes):
    first, second = two_processes
    for service in two_processes:
        service.settings.queue.cooldown_seconds = 60
    reservation = await first.reserve(carol(100), ContinueOptions(filename="tune.mid", size=10))

    async def fetch():
        return b"not a MIDI file"

    with pytest.raises(InvalidOption, match=r"Cannot read tune\.mid"):
        await first.load_prime(reservation, fetch)
    await first.release(reservation)
    await second.submit(carol(200), LyricsOptions(length=100))  # neither cooldown nor cap left behind


async def test_one_history_whichever_process_took_the_request(two_processes):
    first, second = two_processes
    a = await first.submit(carol(100), LyricsOptions(length=100))
    b = await second.submit(Requester(4, "dave", 100, 1), LyricsOptions(length=100))
    for service, ticket in ((first, a), (second, b)):
        await service.deliver(ticket, _accept)
    for service in two_processes:
        rows = await service.history(carol(100))
        assert [r.id for r in rows] == [b.request_id, a.request_id]
        assert len({r.instance_id for r in rows}) == 2


async def _accept(reply):
    return None


async def test_a_request_in_flight_survives_the_database_dropping_every_connection(
    two_processes, postgres, postgres_database, caplog
):
    first, _ = two_processes
    ticket = await first.submit(carol(100), LyricsOptions(length=100))
    postgres.terminate_connections(postgres_database[0])
    with caplog.at_level("WARNING"):
        await first.deliver(ticket, _accept)
    assert (await first.storage.get(ticket.request_id)).status == "done"
    assert "retrying" in caplog.text and "database back" in caplog.text
