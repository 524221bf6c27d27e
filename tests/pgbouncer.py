"""A PgBouncer in transaction pooling mode in front of the test PostgreSQL server, on a free port.

Debian's `pgbouncer` package; mandatory in CI (.ci/run installs it), skipped elsewhere when absent."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

REQUIRE_PGBOUNCER = os.environ.get("SENDERCTL_REQUIRE_PGBOUNCER") == "1"
BINARIES = ("pgbouncer", "/usr/sbin/pgbouncer")


def binary() -> str | None:
    for name in BINARIES:
        found = shutil.which(name)
        if found:
            return found
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_pgbouncer(server_host: str = "127.0.0.1", server_port: int = 5432, pool_size: int = 2) -> Iterator[int]:
    """Start PgBouncer (transaction pooling, `pool_size` server sessions per database, handed out in turn so
    that consecutive transactions of one client land on different sessions); yields its port."""
    path = binary()
    if path is None:
        reason = "pgbouncer is not installed (apt-get install pgbouncer)"
        if REQUIRE_PGBOUNCER:
            pytest.fail(f"CI requires PgBouncer: {reason}")
        pytest.skip(reason)
    port = free_port()
    workdir = Path(tempfile.mkdtemp(prefix="senderctl-pgbouncer-"))
    workdir.chmod(0o755)  # PgBouncer refuses to run as root: it may run as postgres, which must read these
    (workdir / "userlist.txt").write_text('"postgres" ""\n')
    config = workdir / "pgbouncer.ini"
    config.write_text(f"""[databases]
* = host={server_host} port={server_port}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {workdir / 'userlist.txt'}
pool_mode = transaction
default_pool_size = {pool_size}
server_round_robin = 1
max_client_conn = 200
server_reset_query =
ignore_startup_parameters = extra_float_digits
logfile = {workdir / 'pgbouncer.log'}
""")
    for f in workdir.iterdir():
        f.chmod(0o644)
    command = [path, str(config)]
    if os.geteuid() == 0:
        shutil.chown(workdir, "postgres")  # for its log file
        command[1:1] = ["-u", "postgres"]
    # Its console output goes to a file: a pipe nobody reads fills up, and PgBouncer then blocks on a write
    # and serves nobody.
    console = (workdir / "console.log").open("wb")
    proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=console, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    log = (workdir / "pgbouncer.log").read_text() if (workdir / "pgbouncer.log").exists() else ""
                    out = (workdir / "console.log").read_text(errors="replace")
                    raise AssertionError(f"PgBouncer did not start: {out}{log}") from None
                time.sleep(0.05)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        console.close()
        shutil.rmtree(workdir, ignore_errors=True)


def through(postgres_url: str, port: int) -> str:
    """The same database, reached through PgBouncer, with senderctl told so (?pooler=pgbouncer)."""
    base, _, database = postgres_url.rpartition("/")
    return f"postgresql+psycopg://postgres@127.0.0.1:{port}/{database}?pooler=pgbouncer"
