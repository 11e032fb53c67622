import asyncio
from collections import Counter
from dataclasses import dataclass

import pytest

from bot.fair_queue import FairQueue
from bot.requests import (
    Busy,
    DeliveryFailed,
    InvalidOption,
    LyricsOptions,
    LyricsReply,
    MidiOptions,
    MidiReply,
    Requester,
    ShuttingDown,
)
from bot.service import SongService


@dataclass(eq=False)
class Item:
    user_id: int
    kind: str
    label: str


def test_fair_queue_serves_users_in_turn():
    queue = FairQueue()
    for label in ("a1", "a2", "a3"):
        queue.push(Item(1, "lyrics", label))
    queue.push(Item(2, "lyrics", "b1"))
    queue.push(Item(3, "midi", "c1"))
    queue.push(Item(2, "lyrics", "b2"))
    assert [i.label for i in queue.order()] == ["a1", "b1", "c1", "a2", "b2", "a3"]
    assert queue.position(queue.order()[3]) == 4
    assert [i.label for i in queue.take(limit=2)] == ["a1", "b1"]
    # user 3 has waited longest, then 1, then 2
    assert [i.label for i in queue.order()] == ["c1", "a2", "b2", "a3"]
    assert [i.label for i in queue.take(limit=10)] == ["c1"]  # one model per batch
    assert [i.label for i in queue.take(limit=10)] == ["a2", "b2", "a3"]
    assert len(queue) == 0 and queue.take(5) == []


@pytest.fixture
async def service(bot_settings):
    started = await SongService.start(bot_settings)
    yield started
    await started.close()


def alice(channel: int = 10) -> Requester:
    return Requester(1, "alice", guild_id=100, channel_id=channel)


async def test_lyrics_and_midi_requests_are_answered_and_stored(service):
    lyrics = await service.submit(alice(), LyricsOptions(artist="beta", start="xy", length=100, seed=3))
    midi = await service.submit(Requester(2, "bob", 100, 10), MidiOptions(seconds=3, seed=4))
    got = []

    async def keep(reply):
        got.append(reply)

    first, second = await service.deliver(lyrics, keep), await service.deliver(midi, keep)
    assert got == [first, second]
    assert isinstance(first, LyricsReply) and first.text.startswith("xy") and first.artist == "Beta"
    assert first.options.temperature == service.settings.lyrics.temperature_default
    assert isinstance(second, MidiReply)
    assert [a.filename for a in second.attachments] == ["song.mid", "song.ogg", "piano-roll.png"]
    records = await service.history(alice())
    assert [(r.command, r.status) for r in records] == [("midi", "done"), ("lyrics", "done")]
    assert records[1].options["seed"] == 3 and records[1].result.startswith("xy")
    assert "song.mid (" in records[0].result and records[0].duration_ms >= 0


async def test_options_are_validated_with_clear_messages(service):
    with pytest.raises(InvalidOption, match=r"temperature must be between 0\.1 and 2"):
        service.check(alice(), LyricsOptions(temperature=5))
    with pytest.raises(InvalidOption, match="length must be between 100 and 1500"):
        service.check(alice(), LyricsOptions(length=10))
    with pytest.raises(InvalidOption, match="seconds"):
        service.check(alice(), MidiOptions(seconds=999))
    with pytest.raises(InvalidOption, match="seed"):
        service.check(alice(), MidiOptions(seed=-1))
    with pytest.raises(InvalidOption, match=r"Unknown artist 'Alfa'\. Did you mean: Alpha\?$"):
        service.check(alice(), LyricsOptions(artist="Alfa"))


async def test_requests_run_in_fair_order_in_batches(service):
    service._worker.cancel()  # hold the worker so that everyone queues first
    tickets = []
    for user, count in ((1, 3), (2, 1), (3, 2)):
        for _ in range(count):
            tickets.append(
                (user, await service.submit(Requester(user, f"u{user}"), LyricsOptions(length=100)))
            )
    service.settings.queue.batch_max = 3
    order = []
    for _, ticket in tickets:
        ticket.job.future.add_done_callback(lambda f, t=ticket: order.append(t.request_id))
    service.run_worker()
    await asyncio.gather(*(t.reply() for _, t in tickets))
    users = {t.request_id: u for u, t in tickets}
    assert [users[i] for i in order] == [1, 2, 3, 1, 3, 1]
    assert service.about()["batches"] == 2


async def test_per_user_and_global_caps_and_cooldown(service):
    settings = service.settings
    settings.queue.max_per_user, settings.queue.max = 2, 3
    service._worker.cancel()
    for _ in range(2):
        await service.submit(alice(), LyricsOptions(length=100))
    with pytest.raises(Busy, match="already have 2 requests in line") as err:
        await service.submit(alice(), LyricsOptions(length=100))
    assert err.value.retry_after >= 1
    await service.submit(Requester(2, "bob"), LyricsOptions(length=100))
    with pytest.raises(Busy, match="busy right now; try again in"):
        await service.submit(Requester(3, "carol"), LyricsOptions(length=100))
    assert service.queue_status(1)["your_positions"] == [1, 3]

    settings.queue.cooldown_seconds = 60
    with pytest.raises(Busy, match="ask again in 60 s"):
        service.check(Requester(2, "bob"), LyricsOptions(length=100))


async def test_shutdown_marks_waiting_requests_interrupted(bot_settings):
    service = await SongService.start(bot_settings)
    service._worker.cancel()
    ticket = await service.submit(alice(), LyricsOptions(length=100))
    storage_path = bot_settings.storage.url
    await service.close()
    with pytest.raises(ShuttingDown):
        await ticket.reply()
    with pytest.raises(ShuttingDown):
        service.check(alice(), LyricsOptions())
    from bot.storage import open_storage

    storage = await open_storage(storage_path, None)
    record = await storage.get(ticket.request_id)
    assert record.status == "interrupted" and record.finished_at
    await storage.close()


async def test_generation_failure_is_stored_and_reported(service, monkeypatch):
    def explode(requests):
        raise RuntimeError("model on fire")

    monkeypatch.setattr(service.lyrics, "generate", explode)
    ticket = await service.submit(alice(), LyricsOptions(length=100))
    with pytest.raises(Exception, match="Generation failed"):
        await ticket.reply()
    record = (await service.history(alice()))[0]
    assert record.status == "failed" and "model on fire" in record.error


async def test_artist_autocomplete_is_fuzzy(service):
    assert service.suggest_artists("") == ["Alpha", "Beta"]
    assert service.suggest_artists("x" * 10_000) == []
    assert service.suggest_artists("et") == ["Beta"]
    assert service.suggest_artists("alpah") == ["Alpha"]
    assert service.artist_song_counts()["Alpha"] > 0


async def test_a_burst_cannot_overrun_the_caps(service):
    """Requests arriving while another's row is being written see its reserved place."""
    settings = service.settings
    settings.queue.max_per_user, settings.queue.max = 3, 10
    service._worker.cancel()
    requests = [Requester(user % 20, f"u{user % 20}", guild_id=100) for user in range(110)]
    results = await asyncio.gather(
        *(service.submit(r, LyricsOptions(length=100)) for r in requests), return_exceptions=True
    )
    accepted = [r for r in results if not isinstance(r, BaseException)]
    assert len(accepted) == 10 and all(isinstance(r, Busy) for r in results if r not in accepted)
    per_user = Counter(t.job.user_id for t in accepted)
    assert max(per_user.values()) <= 3 and service.queue_status(0)["waiting"] == 10
    rows = await service.storage.history(guild_id=100, channel_id=None, limit=1000)
    assert sorted(r.id for r in rows) == sorted(t.request_id for t in accepted)
    assert service._reserved.total() == 0


async def test_a_burst_respects_the_cooldown(service):
    service.settings.queue.cooldown_seconds = 60
    results = await asyncio.gather(
        *(service.submit(alice(), LyricsOptions(length=100)) for _ in range(5)), return_exceptions=True
    )
    assert sum(not isinstance(r, BaseException) for r in results) == 1


async def test_a_failed_insert_releases_the_reserved_place(service, monkeypatch):
    service.settings.queue.cooldown_seconds = 60

    async def broken_insert(**fields):
        raise OSError("disk full")

    monkeypatch.setattr(service.storage, "insert_request", broken_insert)
    with pytest.raises(OSError, match="disk full"):
        await service.submit(alice(), LyricsOptions(length=100))
    assert service._reserved.total() == 0
    service.check(alice(), LyricsOptions(length=100))  # no cooldown from a request never taken


async def test_options_of_the_wrong_type_or_size_are_refused(service):
    with pytest.raises(InvalidOption, match="length must be a whole number between 100 and 1500"):
        service.check(alice(), LyricsOptions(length="abc"))
    with pytest.raises(InvalidOption, match="temperature must be a number"):
        service.check(alice(), MidiOptions(temperature="hot"))
    with pytest.raises(InvalidOption, match="artist can be at most 100 characters long"):
        service.check(alice(), LyricsOptions(artist="a" * 3000))
    for limit in (0, -1, 10**9, 2.5):
        with pytest.raises(InvalidOption, match=r"limit must be (a whole number )?between 1 and 25"):
            await service.history(alice(), limit=limit)


async def test_delivery_failure_or_timeout_is_stored_as_undelivered(service):
    service.settings.discord.delivery_timeout_seconds = 0.2

    async def refuse(reply):
        raise ConnectionError("404 Not Found (error code: 10062): Unknown interaction")

    async def hang(reply):
        await asyncio.sleep(10)

    for send, reason in ((refuse, "Unknown interaction"), (hang, "not accepted within 0.2 s")):
        ticket = await service.submit(alice(), LyricsOptions(length=100))
        with pytest.raises(DeliveryFailed, match=f"request #{ticket.request_id}.*{reason}"):
            await service.deliver(ticket, send)
        record = await service.storage.get(ticket.request_id)
        assert record.status == "undelivered" and reason in record.error and record.result
