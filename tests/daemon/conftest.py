"""Daemon fixtures: the emulator over real HTTP, `senderctl daemon` subprocesses on free ports."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support import ACCESS_KEY, EmulatorAdmin

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / "examples" / "quickstart"
SIGNING_KEY = "test-signing-key"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


class Emulator(EmulatorAdmin):
    def requests(self) -> dict[str, Any]:
        return self.request_counts()

    def writes(self) -> int:
        """Bird writes received so far (every method but GET)."""
        return sum(self.write_routes().values())


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    from controller.emulator.server import running_emulator

    with running_emulator() as running:
        emu = Emulator(running.url)
        yield emu
        emu.http.close()


def quickstart_copy(target: Path, port: int) -> Path:
    """The quick start specs, with the webhook subscriptions pointing at a daemon on `port`."""
    shutil.copytree(QUICKSTART, target)
    hooks = target / "webhooks.yaml"
    hooks.write_text(hooks.read_text().replace("127.0.0.1:8080", f"127.0.0.1:{port}"))
    return target


_SEQUENCE = itertools.count(1)


class Daemon:
    """One `senderctl daemon` process; its JSON log lines are read from a file."""

    def __init__(self, specs: Path, state_url: str, bird_url: str, workdir: Path, *, port: int | None = None,
                 resync: str = "1h", extra: tuple[str, ...] = (), env: dict[str, str] | None = None,
                 health_details: str = "loopback") -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / f"daemon-{self.port}-{next(_SEQUENCE)}.log"
        self.log_file = self.log_path.open("wb")
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "cli", "daemon", str(specs), "--listen", f"127.0.0.1:{self.port}",
             "--resync", resync, "--state", state_url, "--bird-url", bird_url,
             "--health-details", health_details, *extra],
            cwd=str(ROOT), stdin=subprocess.DEVNULL, stdout=self.log_file, stderr=subprocess.STDOUT,
            env={**os.environ, "BIRD_ACCESS_KEY": ACCESS_KEY, "SENDERCTL_DEMO_SIGNING_KEY": SIGNING_KEY,
                 **(env or {})})
        self.http = httpx.Client(base_url=self.url, timeout=5)

    def get(self, path: str) -> httpx.Response:
        return self.http.get(path)

    def post(self, path: str, **kw: Any) -> httpx.Response:
        return self.http.post(path, **kw)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def wait_healthy(self, timeout: float = 40) -> None:
        def healthy() -> bool:
            assert self.alive(), f"the daemon exited with {self.proc.returncode}:\n{self.text()[-3000:]}"
            try:
                return self.get("/healthz").status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(healthy, timeout, "the daemon's /healthz")

    def role(self) -> str | None:
        try:
            return self.get("/readyz").json().get("role")
        except (httpx.HTTPError, ValueError):
            return None

    def text(self) -> str:
        self.log_file.flush()
        return self.log_path.read_text(errors="replace")

    def events(self, name: str | None = None) -> list[dict[str, Any]]:
        out = []
        for line in self.text().splitlines():
            try:
                item = json.loads(line)
            except ValueError:
                continue
            if isinstance(item, dict) and (name is None or item.get("event") == name):
                out.append(item)
        return out

    def wait_event(self, name: str, timeout: float = 30, count: int = 1,
                   where: Callable[[dict[str, Any]], bool] = lambda e: True) -> list[dict[str, Any]]:
        def seen() -> list[dict[str, Any]] | None:
            found = [e for e in self.events(name) if where(e)]
            return found if len(found) >= count else None

        return wait_until(seen, timeout, f"log event {name} x{count} in {self.log_path.name}")

    def terminate(self, timeout: float = 15) -> tuple[int, float]:
        """SIGTERM; (exit code, seconds it took)."""
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=timeout)
        return code, time.monotonic() - started

    def close(self) -> None:
        if self.alive():
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.http.close()
        self.log_file.close()


@pytest.fixture
def daemons(tmp_path: Path) -> Iterator[Callable[..., Daemon]]:
    """Start daemons with start(specs, state_url, bird_url, ...); all are killed at the end."""
    started: list[Daemon] = []

    def start(specs: Path, state_url: str, bird_url: str, **kw: Any) -> Daemon:
        d = Daemon(specs, state_url, bird_url, tmp_path, **kw)
        started.append(d)
        return d

    yield start
    for d in started:
        d.close()
