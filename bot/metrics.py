"""What an operator graphs and alerts on: Prometheus metrics of one bot process, and a health
endpoint, served on METRICS_PORT (off by default).

Every metric lives in the service's own registry (no process-global state), named
`balladeer_*`; README lists them. `/healthz` is 200 while the gateway is connected, the
generation worker moves, the database answers and the lease is held; 503 otherwise, so a
supervisor can restart a wedged process. Both listen on METRICS_HOST (loopback by default).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

log = logging.getLogger(__name__)

LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64)


class Metrics:
    """The service's counters, gauges and histograms; the transport adds its own gauges."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "balladeer_requests", "Requests by command and final status", ["command", "status"], registry=r
        )
        self.refusals = Counter("balladeer_refusals", "Requests refused, by reason", ["reason"], registry=r)
        self.queue_depth = Gauge("balladeer_queue_depth", "Requests waiting in line", registry=r)
        self.in_flight = Gauge("balladeer_requests_in_flight", "Requests being generated", registry=r)
        self.generation_seconds = Histogram(
            "balladeer_generation_seconds",
            "Time from a batch's first slice to its replies, by model",
            ["kind"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.delivery_seconds = Histogram(
            "balladeer_delivery_seconds",
            "Time to hand a reply to the transport, by command",
            ["command"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.batch_size = Histogram(
            "balladeer_batch_size",
            "Requests per batch, by model",
            ["kind"],
            buckets=BATCH_BUCKETS,
            registry=r,
        )
        self.model_load_seconds = Gauge(
            "balladeer_model_load_seconds", "Time to load the models at start", registry=r
        )
        self.model_info = Gauge(
            "balladeer_model_info", "The loaded model versions (value 1)", ["model", "version"], registry=r
        )

    def gauge(self, name: str, documentation: str, read: Callable[[], float]) -> None:
        """A gauge read at scrape time (gateway latency, shard count...)."""
        Gauge(name, documentation, registry=self.registry).set_function(read)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class MetricsServer:
    """`/metrics` and `/healthz` on `host`:`port` (0: any free port, see `.port`)."""

    def __init__(self, metrics: Metrics, healthy: Callable[[], bool], port: int, host: str) -> None:
        self.metrics, self.healthy, self.host, self.port = metrics, healthy, host, port
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/healthz", self._health)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]
        log.info("metrics on http://%s:%d/metrics, health on /healthz", self.host, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _metrics(self, request: web.Request) -> web.Response:
        return web.Response(body=self.metrics.exposition(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def _health(self, request: web.Request) -> web.Response:
        ok = self.healthy()
        return web.Response(status=200 if ok else 503, text="ok\n" if ok else "unhealthy\n")
