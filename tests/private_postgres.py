"""A PostgreSQL server of one test's own (initdb + pg_ctl in a temporary directory, on a free port), which the
test may stop and start at will: the shared server on 5432 is never restarted. Skipped when the server
binaries are missing (Debian's postgresql-15 installs them under /usr/lib/postgresql/15/bin)."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.pgbouncer import free_port

BIN = Path(os.environ.get("SENDERCTL_PG_BIN", "/usr/lib/postgresql/15/bin"))


class PrivateServer:
    def __init__(self, data: Path, port: int) -> None:
        self.data = data
        self.port = port
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"

    def _ctl(self, *args: str) -> None:
        run_as_postgres([str(BIN / "pg_ctl"), "-D", str(self.data), "-w", "-t", "60", *args])

    def start(self) -> None:
        self._ctl("-l", str(self.data.parent / "server.log"), "-o",
                  f"-p {self.port} -k {self.data.parent} -c listen_addresses=127.0.0.1", "start")

    def stop(self) -> None:
        """Fast shutdown: every session is ended, as a failover or a server restart ends them."""
        self._ctl("-m", "fast", "stop")


def run_as_postgres(command: list[str]) -> None:
    """initdb and postgres refuse to run as root: as root, run them as the postgres user."""
    if os.geteuid() == 0:
        command = ["runuser", "-u", "postgres", "--", *command]
    subprocess.run(command, check=True, capture_output=True, timeout=120, stdin=subprocess.DEVNULL)


@contextmanager
def private_postgres() -> Iterator[PrivateServer]:
    if not (BIN / "initdb").exists() or not (BIN / "pg_ctl").exists():
        pytest.skip(f"the PostgreSQL server binaries are not in {BIN} (apt-get install postgresql-15, or set "
                    "SENDERCTL_PG_BIN): the test needs a server of its own to restart")
    root = Path(tempfile.mkdtemp(prefix="senderctl-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    data = root / "data"
    run_as_postgres([str(BIN / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"])
    server = PrivateServer(data, free_port())
    server.start()
    try:
        yield server
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            server.stop()
        shutil.rmtree(root, ignore_errors=True)
