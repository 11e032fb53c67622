"""Prometheus metrics and /healthz, scraped from the real bot during an end-to-end run."""

import asyncio
import socket

import aiohttp
import pytest

from tests.bot.fake_discord import GUILD_ID, FakeDiscord


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def value(exposition: str, sample: str) -> float:
    """The value of one sample line (name with labels) in a Prometheus exposition."""
    (line,) = [line for line in exposition.splitlines() if line.startswith(sample + " ")]
    return float(line.rsplit(" ", 1)[1])


@pytest.fixture
async def bot_with_metrics(bot_settings):
    port = free_port()
    settings = bot_settings.replaced(dev_guild_id=int(GUILD_ID), metrics_port=port)
    fake = FakeDiscord()
    async with fake.serving(settings) as bot, aiohttp.ClientSession() as http:
        yield fake, bot, http, f"http://127.0.0.1:{port}"


async def test_metrics_count_what_happened(bot_with_metrics):
    fake, bot, http, base = bot_with_metrics
    for seed in (1, 2):
        await fake.followups(await fake.slash("lyrics", length=100, seed=seed))
    await fake.followups(await fake.slash("midi", seconds=2, seed=1))
    await fake.callback(await fake.slash("lyrics", artist="Nobody At All Zz"))
    bot.service.settings.queue.cooldown_seconds = 60
    await fake.followups(await fake.slash("lyrics", length=100, user_id="7"))
    await fake.callback(await fake.slash("lyrics", length=100, user_id="7"))
    for _ in range(50):  # the last row closes just after its reply is sent
        async with http.get(f"{base}/metrics") as response:
            text = await response.text()
        if 'balladeer_requests_total{command="lyrics",status="done"} 3.0' in text:
            break
        await asyncio.sleep(0.05)
    assert response.status == 200 and response.headers["Content-Type"].startswith("text/plain")
    assert value(text, 'balladeer_requests_total{command="lyrics",status="done"}') == 3
    assert value(text, 'balladeer_requests_total{command="midi",status="done"}') == 1
    assert value(text, 'balladeer_refusals_total{reason="invalid_option"}') == 1
    assert value(text, 'balladeer_refusals_total{reason="cooldown"}') == 1
    assert value(text, 'balladeer_generation_seconds_count{kind="lyrics"}') >= 1
    assert value(text, 'balladeer_delivery_seconds_count{command="midi"}') == 1
    assert value(text, 'balladeer_batch_size_count{kind="music-folk"}') == 1
    assert value(text, "balladeer_queue_depth") == 0 and value(text, "balladeer_requests_in_flight") == 0
    assert value(text, "balladeer_shards") == 1 and value(text, "balladeer_model_load_seconds") > 0
    assert value(text, "balladeer_gateway_latency_seconds") >= 0
    assert 'balladeer_model_info{model="lyrics",version="best.pt@' in text
    assert 'balladeer_model_info{model="music-chorale",version="best.pt@' in text


async def test_metrics_listen_on_loopback_unless_told_otherwise(bot_with_metrics):
    _, bot, _, _ = bot_with_metrics
    assert bot.settings.monitoring.metrics_host == "127.0.0.1"
    assert bot.metrics_server.host == "127.0.0.1"


async def test_health_is_503_while_the_gateway_is_down(bot_with_metrics):
    fake, _, http, base = bot_with_metrics

    async def health_becomes(status: int) -> None:
        for _ in range(300):
            async with http.get(f"{base}/healthz") as response:
                if response.status == status:
                    return
            await asyncio.sleep(0.05)
        raise AssertionError(f"/healthz never answered {status}")

    await health_becomes(200)
    await fake.gateway_down()
    await health_becomes(503)
    fake.gateway_up()
    await health_becomes(200)  # reconnected (resumed) on its own


async def test_health_is_503_once_the_worker_is_gone(bot_with_metrics):
    _, bot, http, base = bot_with_metrics
    async with http.get(f"{base}/healthz") as response:
        assert response.status == 200
    bot.service._worker.cancel()
    await asyncio.gather(bot.service._worker, return_exceptions=True)
    async with http.get(f"{base}/healthz") as response:
        assert response.status == 503
