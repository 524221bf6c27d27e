"""Serving the emulator over real HTTP: ``senderctl emulator`` and ``running_emulator()`` for tests/demo.

uvicorn runs in a background thread in both cases, so the main thread owns the signals: SIGTERM or
SIGINT stop the server cleanly and ``serve`` returns 0 (uvicorn's own handlers would re-raise them).
"""

from __future__ import annotations

import logging
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType

import uvicorn

from controller.emulator.app import InjectedDisconnect, create_app
from controller.emulator.core import Emulator
from controller.emulator.world import World, WorldError

START_TIMEOUT = 10.0


@dataclass
class RunningEmulator:
    url: str
    emulator: Emulator
    host: str
    port: int


class _QuietInjectedDrops(logging.Filter):
    """An injected dropped connection is the emulator doing its job, not an error worth a traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], InjectedDisconnect))


logging.getLogger("uvicorn.error").addFilter(_QuietInjectedDrops())


# Bird sits behind load balancers that keep an idle connection open for about a minute; the client drops
# its idle connections after 5 s. With uvicorn's default (5 s, the client's own figure) a request sent on a
# connection the server closes at that instant fails as "connection lost" -- a write then looks ambiguous.
KEEP_ALIVE_SECONDS = 65


class _Server:
    """A uvicorn server on an already-bound socket, in a daemon thread."""

    def __init__(self, world: World | None, seed: int, sock: socket.socket) -> None:
        self.app = create_app(world, seed=seed)
        config = uvicorn.Config(self.app, log_level="warning", lifespan="off", access_log=False,
                                timeout_graceful_shutdown=1, timeout_keep_alive=KEEP_ALIVE_SECONDS,
                                date_header=False)  # the app states Bird's (the emulator's) clock itself
        self.server = uvicorn.Server(config)
        self.sock = sock
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]},
                                       name="bird-emulator", daemon=True)

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + START_TIMEOUT
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the Bird emulator did not start (see the log above)")
            time.sleep(0.005)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=5)
        self.sock.close()


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio turns Nagle off only on sockets whose proto says TCP, and with Nagle on
    # every answer written in two parts (headers, body) waited ~40 ms for the peer's delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _world(world_file: str | None) -> World | None:
    return World.from_file(world_file) if world_file else None


@contextmanager
def running_emulator(world_file: str | None = None, *, seed: int = 0,
                     world: World | None = None) -> Iterator[RunningEmulator]:
    """Serve the emulator on a free 127.0.0.1 port for the duration of the ``with`` block."""
    sock = _bind("127.0.0.1", 0)
    port = sock.getsockname()[1]
    server = _Server(world or _world(world_file), seed, sock)
    server.start()
    try:
        yield RunningEmulator(f"http://127.0.0.1:{port}", server.app.state.emulator, "127.0.0.1", port)
    finally:
        server.stop()


def serve(host: str = "127.0.0.1", port: int = 8765, world_file: str | None = None, seed: int = 0) -> int:
    """``senderctl emulator``: serve until SIGTERM/SIGINT; print the ready line once listening."""
    try:
        world = _world(world_file)
    except WorldError as exc:
        print(f"senderctl emulator: {exc}", file=sys.stderr)
        return 1
    try:
        sock = _bind(host, port)
    except (OSError, OverflowError, ValueError) as exc:  # in use, no such address, or not a port at all
        print(f"senderctl emulator: cannot listen on {host}:{port}: {getattr(exc, 'strerror', None) or exc}; "
              f"choose another --port or stop what uses it", file=sys.stderr)
        return 1
    server = _Server(world, seed, sock)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        server.start()
        bound = sock.getsockname()
        shown_host = f"[{bound[0]}]" if ":" in bound[0] else bound[0]
        print(f"emulator listening on http://{shown_host}:{bound[1]}", flush=True)
        while not stop.wait(0.2):
            if not server.thread.is_alive():
                print("senderctl emulator: the server stopped unexpectedly", file=sys.stderr)
                return 1
    finally:
        server.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0
