"""Webhook receiving processes: `senderctl daemon --webhook-listen HOST:PORT [--webhook-workers N]`.

The daemon is one Python process, and receiving a signed webhook (HTTP, the signature, the inbox
transaction) is bound by its GIL at about one core however many cores the machine has. With
--webhook-listen, N processes of their own receive POST /webhooks/bird on that address: each checks a
delivery exactly as the daemon does (webhooks.check, then scope) and writes it to the state's webhook
inbox, which the leader drains as it drains a standby replica's deliveries.

Everything else stays in the daemon's own process, on --listen: the platform API, the status page,
/readyz and /metrics, so their guard's limits and counters are held in one place.

The parent binds the socket and keeps it. The workers accept on it, and a connection that comes while
a worker restarts waits in the socket's backlog.

Between a worker and its parent:
- a worker says on its stdout when it recorded deliveries (so the leader drains at once) and what its
  webhook counters moved by (the parent's /metrics adds them);
- the parent says on the worker's stdin when this process changed the records (a channel just saved
  is then looked up at once, not after the directory's refresh interval).

A worker reads the spec files itself, with the same settle window, for the signing keys. It stops on
SIGTERM or SIGINT, or when its stdin closes (the parent is gone).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from controller.daemon.config import DaemonOptions
from controller.daemon.logs import event

# How often a worker reports its counters when nothing was recorded, and how long it gathers reports
# after a recording (one line per gather, not one per delivery).
REPORT_SECONDS = 1.0
REPORT_GATHER_SECONDS = 0.02
# A worker that exits while the daemon runs is started again after this long, doubling up to the maximum
# while it keeps failing within STABLE_SECONDS of its start.
RESTART_SECONDS = 0.5
RESTART_MAX_SECONDS = 30.0
STABLE_SECONDS = 30.0
# How often the parent looks whether this process saved records (to tell the workers).
RECORDS_POLL_SECONDS = 0.1
STOP_SECONDS = 3.0
WORKER_COMMAND = "import sys; from controller.daemon.receivers import worker_main; sys.exit(worker_main())"


# --- the parent's side ------------------------------------------------------------------------------------


class ReceiverPool:
    """The worker processes of one daemon: started, watched, started again when one exits, stopped."""

    def __init__(self, options: DaemonOptions, sock: socket.socket, *, stopping: asyncio.Event,
                 on_recorded: Callable[[], None], on_counts: Callable[[str, str, float], None]) -> None:
        """`stopping`: the daemon's own. Set, a worker that exits is not started again: Ctrl-C reaches the
        workers as it reaches the daemon, and they may be gone before the daemon has stopped them."""
        self.options = options
        self.sock = sock
        self.on_recorded = on_recorded
        self.on_counts = on_counts
        self.wanted = options.webhook_workers
        self._workers: dict[int, asyncio.subprocess.Process] = {}
        self._ready: set[int] = set()
        self._stopping = stopping

    @property
    def alive(self) -> int:
        return len(self._ready)

    async def run(self) -> None:
        """Run the workers until stop(); each is started again when it exits."""
        records = asyncio.create_task(self._tell_records(), name="receivers-records")
        try:
            await asyncio.gather(*(self._keep(index) for index in range(self.wanted)))
        finally:
            records.cancel()

    async def stop(self) -> None:
        """SIGTERM each worker (it finishes the deliveries it is answering), then SIGKILL what is left."""
        self._stopping.set()
        workers = list(self._workers.values())
        for proc in workers:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
        for proc in workers:
            try:
                await asyncio.wait_for(proc.wait(), STOP_SECONDS)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()

    async def _keep(self, index: int) -> None:
        delay = RESTART_SECONDS
        while not self._stopping.is_set():
            started = time.monotonic()
            code = await self._run_one(index)
            if self._stopping.is_set():
                return
            stable = time.monotonic() - started > STABLE_SECONDS
            delay = RESTART_SECONDS if stable else min(delay * 2, RESTART_MAX_SECONDS)
            event("receiver.exited", f"webhook receiver {index} exited with status {code}; starting it again in "
                  f"{delay:g} s (meanwhile the other receivers take the deliveries, or they wait in the socket's "
                  "backlog)", logging.ERROR, receiver=index, status=code)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), delay)

    async def _run_one(self, index: int) -> int:
        root = str(Path(__file__).resolve().parents[2])  # where `controller` is, installed or not
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)}
        try:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-c", WORKER_COMMAND, stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE, pass_fds=(self.sock.fileno(),), env=env)
        except OSError as exc:  # (no process could be started: out of memory or processes; tried again)
            event("receiver.spawn_failed", f"webhook receiver {index} could not be started: {exc}", logging.ERROR,
                  receiver=index)
            return -1
        self._workers[index] = proc
        assert proc.stdin is not None and proc.stdout is not None
        # The options go on stdin, not argv: they may hold secrets from the environment (signing keys).
        setup = {"index": index, "fd": self.sock.fileno(), "options": dataclasses.asdict(self.options)}
        proc.stdin.write(json.dumps(setup).encode() + b"\n")
        try:
            async for line in proc.stdout:
                self._take_report(index, line)
        finally:
            self._ready.discard(index)
            code = await proc.wait()
            self._workers.pop(index, None)
        return code

    def _take_report(self, index: int, line: bytes) -> None:
        try:
            report = json.loads(line)
        except ValueError:
            return
        if report.get("ready"):
            self._ready.add(index)
        for outcome, name, count in report.get("webhooks", ()):
            self.on_counts(str(outcome), str(name), float(count))
        if report.get("recorded"):
            self.on_recorded()

    async def _tell_records(self) -> None:
        """Tell the workers when this process saved records (a reconcile recorded a new channel)."""
        from controller.state import StateStore

        seen = StateStore.records_changed
        while True:
            await asyncio.sleep(RECORDS_POLL_SECONDS)
            if StateStore.records_changed == seen:
                continue
            seen = StateStore.records_changed
            for proc in list(self._workers.values()):
                if proc.stdin is not None and not proc.stdin.is_closing():
                    proc.stdin.write(b"records\n")


# --- a worker ---------------------------------------------------------------------------------------------


def options_from(data: dict[str, Any]) -> DaemonOptions:
    """The parent's options, from their JSON (which made each tuple a list)."""
    return DaemonOptions(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})


class _NoLeadership:
    """A worker never leads: it neither reconciles nor drains the inbox."""

    def leader(self) -> None:
        return None

    def release(self) -> None:
        return None


def worker_main() -> int:
    from controller.daemon import logs
    from controller.daemon.main import loop_factory

    setup = json.loads(sys.stdin.buffer.readline())
    index = int(setup["index"])
    logs.setup()
    for handler in logging.getLogger().handlers:
        handler.addFilter(lambda record: setattr(record, "receiver", index) or True)
    # Deliveries to the worker are signed with its own address's URL (or --public-url).
    # A receiver reads an edited tree only once its settle window has passed, whatever git says, and not
    # ahead: its signing keys can wait that long, while the leader's reconcile of a pulled commit would
    # share the machine's cores with every receiver's read of the same files.
    options = dataclasses.replace(options_from(setup["options"]), listen=setup["options"]["webhook_listen"],
                                  act_on_commit=False)
    try:
        with asyncio.Runner(loop_factory=loop_factory()) as runner:
            return runner.run(_serve(options, int(setup["fd"])))
    except Exception as exc:  # the parent logs the exit and starts the worker again
        event("receiver.failed", f"webhook receiver {index} failed: {type(exc).__name__}: {exc}", logging.ERROR)
        return 1


async def _serve(options: DaemonOptions, fd: int) -> int:
    import uvicorn

    from controller.daemon.http import create_webhook_app
    from controller.daemon.logs import REDACT
    from controller.daemon.main import HTTP_SHUTDOWN_SECONDS, _Server, http_implementation
    from controller.daemon.metrics import Metrics
    from controller.daemon.service import Daemon
    from controller.reconcile import engine
    from controller.state import StateStore

    settings = engine.Settings.from_env(options.state_url, options.bird_url,
                                        environ={**os.environ, **options.extra_environ})
    REDACT.add(settings.access_key)
    store = await asyncio.to_thread(StateStore.open, options.state_url)
    metrics = Metrics()
    counts = CountsMoved(metrics)
    recorded = asyncio.Event()
    daemon = Daemon(options, settings, store, _NoLeadership(), metrics)  # type: ignore[arg-type]
    daemon.role = "receiver"
    daemon.on_recorded = recorded.set
    # Its loop does nothing but receive, so its inbox transaction runs there, one at a time: no hop to a
    # worker thread, and no GIL hand-offs (up to 5 ms each) while it holds the state's write turn, which the
    # other processes wait for. Measured against a worker thread: 1.3x the deliveries per second, each
    # transaction holding the turn 0.4 ms instead of 0.6. The deliveries arriving meanwhile wait in the
    # socket and make the next, larger batch.
    daemon.records_on_loop = True
    sock = socket.socket(fileno=fd)
    daemon.listen_port = sock.getsockname()[1]
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, daemon.stop)
    await daemon.reload_specs("startup")
    config = uvicorn.Config(create_webhook_app(daemon), log_config=None, access_log=False, lifespan="off",
                            timeout_graceful_shutdown=HTTP_SHUTDOWN_SECONDS, server_header=False,
                            http=http_implementation())
    server = _Server(config)
    tasks = [asyncio.create_task(coro) for coro in (
        server.serve(sockets=[sock]), daemon.watch_specs(), _listen_to_parent(daemon),
        _report(counts, recorded, daemon.stopping))]
    while not server.started and not tasks[0].done():
        await asyncio.sleep(0.01)
    _write({"ready": True})
    stopping = asyncio.create_task(daemon.stopping.wait())
    try:
        # Until told to stop, or until the server ends on its own (it could not serve: the worker exits).
        await asyncio.wait([stopping, tasks[0]], return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
        server.should_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(tasks[0], HTTP_SHUTDOWN_SECONDS + 1)
        for task in tasks[1:]:
            task.cancel()
        await asyncio.gather(*tasks[1:], return_exceptions=True)
        _write({"webhooks": counts.take()})  # what the last answers counted
        store.close()
    return 0


async def _listen_to_parent(daemon: Any) -> None:
    """'records' lines: the parent saved records; EOF: the parent is gone, so stop."""
    reader = asyncio.StreamReader()
    await asyncio.get_running_loop().connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        if line.strip() == b"records":
            daemon.directory.forget()
    daemon.stop()


class CountsMoved:
    """The webhook counters' moves since the last report (the parent adds them to its own)."""

    def __init__(self, metrics: Any) -> None:
        self.metrics = metrics
        self.sent: dict[tuple[str, str], float] = {}

    def take(self) -> list[list[Any]]:
        moved = []
        for family in self.metrics.webhooks.collect():
            for sample in family.samples:
                if not sample.name.endswith("_total"):
                    continue
                key = (sample.labels["outcome"], sample.labels["event"])
                if sample.value != self.sent.get(key, 0.0):
                    moved.append([*key, sample.value - self.sent.get(key, 0.0)])
                    self.sent[key] = sample.value
        return moved


async def _report(counts: CountsMoved, recorded: asyncio.Event, stopping: asyncio.Event) -> None:
    while not stopping.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(recorded.wait(), REPORT_SECONDS)
        if recorded.is_set():
            await asyncio.sleep(REPORT_GATHER_SECONDS)
        report = {"recorded": recorded.is_set(), "webhooks": counts.take()}
        recorded.clear()
        if report["recorded"] or report["webhooks"]:
            _write(report)


def _write(report: dict[str, Any]) -> None:
    with contextlib.suppress(OSError):  # a parent gone: _listen_to_parent stops the worker
        sys.stdout.buffer.write(json.dumps(report).encode() + b"\n")
        sys.stdout.buffer.flush()
