"""A real PostgreSQL server for the tests, from the `pgserver` wheel (it bundles the
server binaries), with a password login so credentials are checked as in production."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

USER, PASSWORD = "balladeer", "s3cret-pass"
REQUIRED = "BALLADEER_REQUIRE_POSTGRES"  # set by .ci/run: a missing server fails, not skips


@dataclass
class PostgresServer:
    server: object  # pgserver.PostgresServer
    socket_dir: Path

    def url(self, database: str, password: str = PASSWORD) -> str:
        return f"postgresql://{USER}:{password}@/{database}?host={self.socket_dir}"

    def new_database(self) -> str:
        name = f"t_{uuid.uuid4().hex[:12]}"
        self.server.psql(f"CREATE DATABASE {name} OWNER {USER};")
        return name

    def drop_database(self, name: str) -> None:
        self.server.psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE);")

    def stop(self) -> None:
        """An outage: the server shuts down, dropping every connection, refusing new ones."""
        from pgserver._commands import pg_ctl

        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.server.pgdata, user=self.server.system_user)

    def start(self) -> None:
        """The server back after `stop`, on the same socket."""
        self.server.ensure_postgres_running()

    def terminate_connections(self, database: str) -> None:
        """What a server restart or a network cut does to a client's connections."""
        self.server.psql(
            f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{database}';"
        )


def start_server(folder: Path) -> PostgresServer:
    """Start it, or skip (fail where REQUIRED is set) with the reason printed."""
    try:
        import pgserver
    except ImportError as exc:
        _unavailable(f"no PostgreSQL server for these tests: {exc} (scripts/install.sh installs pgserver)")
    try:
        server = pgserver.get_server(folder, cleanup_mode="stop")
    except Exception as exc:  # the bundled server could not start here
        _unavailable(f"the bundled PostgreSQL server did not start: {exc}")
    server.psql(f"CREATE ROLE {USER} LOGIN PASSWORD '{PASSWORD}';")
    hba = folder / "pg_hba.conf"
    hba.write_text(f"local all {USER} scram-sha-256\n" + hba.read_text())
    server.psql("SELECT pg_reload_conf();")
    return PostgresServer(server, folder)


def _unavailable(reason: str):
    if os.environ.get(REQUIRED):
        pytest.fail(reason)
    pytest.skip(reason)
