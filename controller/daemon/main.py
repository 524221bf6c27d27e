"""`senderctl daemon`: set the process up, serve HTTP, run until SIGTERM/SIGINT, exit 0.

Startup problems (no access key, unreachable state, another daemon on a SQLite state, a port in use)
are printed as one plain `error:` line and exit 1; once running, everything is logged as JSON lines.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import signal
import socket
import sys
from collections.abc import Callable, Iterator

import uvicorn

from controller.bird import BirdAuthError
from controller.daemon import logs
from controller.daemon.config import DaemonOptions, parse_listen
from controller.daemon.http import create_app
from controller.daemon.logs import REDACT, event
from controller.daemon.metrics import Metrics
from controller.daemon.notify import NOTIFY_KEY_ENV, Notifier, receiver
from controller.daemon.receivers import ReceiverPool
from controller.daemon.service import Daemon
from controller.reconcile import engine

EXIT_OK, EXIT_ERROR = 0, 1
# Everything after SIGTERM must fit in 10 s: the reconcile grace (DaemonOptions.shutdown_grace),
# then HTTP connections get this long.
HTTP_SHUTDOWN_SECONDS = 1


class StartupError(Exception):
    """The daemon cannot start; the message says why and what to do."""


class _Server(uvicorn.Server):
    """uvicorn without its own signal handlers: the daemon owns SIGTERM/SIGINT."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def run_daemon(options: DaemonOptions) -> int:
    logs.setup()
    try:
        with asyncio.Runner(loop_factory=loop_factory()) as runner:
            return runner.run(_main(options))
    except StartupError as exc:
        print(f"error: {REDACT(str(exc))}", file=sys.stderr, flush=True)
        return EXIT_ERROR


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop where it is installed (not on Windows): the event loop's own cost per webhook is about half
    of asyncio's pure-Python loop."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop  # type: ignore[no-any-return]


def http_implementation() -> str | type:
    """httptools parses a request in C; h11 (pure Python) was the largest share of the daemon's CPU per
    webhook. h11 stays the fallback where httptools is not installed. With httptools, a connection
    closed over a body still arriving lingers (controller/daemon/lingering.py)."""
    try:
        import httptools  # noqa: F401
    except ImportError:
        return "h11"
    from controller.daemon.lingering import LingeringHttpToolsProtocol

    return LingeringHttpToolsProtocol


def bind(host: str, port: int, flag: str = "--listen") -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio turns Nagle off only on sockets whose proto says TCP, and with Nagle on
    # every answer written in two parts (headers, body) waited ~40 ms for the peer's delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        hint = f"another process listens there; pick another {flag} port" if exc.errno == errno.EADDRINUSE else \
            f"check {flag}"
        raise StartupError(f"cannot listen on {host}:{port}: {exc.strerror}; {hint}") from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def check_public_url(options: DaemonOptions) -> None:
    """The URL the daemon tells Bird to post to must be one Bird accepts for a webhook subscription, or
    Bird refuses every subscription and the daemon never hears an event: refuse to start, naming the rule."""
    from specs.models.webhook import url_problem

    if options.public_url is None:
        return
    problem = url_problem(options.webhook_url())
    if problem:
        raise StartupError(f"--public-url {options.public_url}: {problem}. Bird posts webhooks only to such a URL; "
                           "give the public https:// address of this daemon (a proxy or ingress in front of it)")


def notifier(options: DaemonOptions, metrics: Metrics) -> Notifier | None:
    """--notify needs SENDERCTL_NOTIFY_KEY: unsigned events could be forged, so the daemon refuses to
    start without it rather than send them."""
    if not options.notify_urls:
        return None
    key = {**os.environ, **options.extra_environ}.get(NOTIFY_KEY_ENV, "")
    if not key:
        raise StartupError(f"--notify needs {NOTIFY_KEY_ENV}: events are signed with it as Bird signs its webhooks "
                           f"(export {NOTIFY_KEY_ENV}=...; it is never printed or logged)")
    REDACT.add(key)
    for url in options.notify_urls:
        if not url.startswith(("https://", "http://")):
            raise StartupError(f"--notify {receiver(url)}: give an http(s) URL")
    return Notifier(options.notify_urls, key, options.notify_format, source=f"senderctl daemon {socket.gethostname()}",
                    backoff=options.notify_backoff, on_outcome=lambda outcome: metrics.notifications.labels(outcome).inc())


async def _main(options: DaemonOptions) -> int:
    from controller.reconcile.secrets import DigestKeyError, upgrade_signing_key_digests
    from controller.state import StateError, StateStore
    from controller.state.leader import open_leadership

    metrics = Metrics()
    check_public_url(options)
    notify = notifier(options, metrics)  # before anything is contacted: a missing key is a start-up error
    rates = {name: rate for name, rate in (("bird_get_rate", options.bird_get_rate),
                                           ("bird_post_rate", options.bird_post_rate)) if rate is not None}
    try:
        settings = engine.Settings.from_env(options.state_url, options.bird_url,
                                            environ={**os.environ, **options.extra_environ}, **rates)
    except engine.EngineError as exc:
        raise StartupError(str(exc)) from None
    if not settings.access_key:
        raise StartupError("BIRD_ACCESS_KEY is not set: the daemon needs a Bird access key to read and change Bird "
                           "(export BIRD_ACCESS_KEY=...; it is never printed or logged)")
    REDACT.add(settings.access_key)
    try:
        await engine.check_access(options.paths, settings)
    except BirdAuthError as exc:
        raise StartupError(engine.auth_problem(exc)) from None
    try:
        # Before opening the state: a second daemon on a SQLite state is refused without touching it.
        leadership = await asyncio.to_thread(open_leadership, options.state_url, None, options.lease_ttl,
                                              options.shards)
    except StateError as exc:
        raise StartupError(str(exc)) from None
    store = None
    try:
        try:
            store = await asyncio.to_thread(StateStore.open, options.state_url)
            await asyncio.to_thread(upgrade_signing_key_digests, store, settings.environ)
            await asyncio.to_thread(leadership.attach, store.engine)
        except (StateError, DigestKeyError) as exc:
            raise StartupError(str(exc)) from None
        host, port = options.host_port
        sock = bind(host, port)
        webhook_sock = bind(*parse_listen(options.webhook_listen), flag="--webhook-listen") \
            if options.webhook_listen else None
        daemon = Daemon(options, settings, store, leadership, metrics, notifier=notify)
        daemon.listen_port = sock.getsockname()[1]
        if webhook_sock is not None:
            daemon.receivers = receiver_pool(daemon, webhook_sock)
        return await serve(daemon, sock)
    finally:
        with contextlib.suppress(Exception):
            leadership.release()
        close = getattr(leadership, "close", None)
        if close is not None:
            with contextlib.suppress(Exception):
                close()
        if store is not None:
            store.close()


def receiver_pool(daemon: Daemon, sock: socket.socket) -> ReceiverPool:
    def counted(outcome: str, name: str, count: float) -> None:
        daemon.metrics.webhooks.labels(outcome, name).inc(count)

    return ReceiverPool(daemon.options, sock, stopping=daemon.stopping, on_recorded=daemon.inbox_filled,
                        on_counts=counted)


async def serve(daemon: Daemon, sock: socket.socket) -> int:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, _on_signal, daemon, sig)
    config = uvicorn.Config(create_app(daemon), log_config=None, access_log=False, lifespan="off",
                            timeout_graceful_shutdown=HTTP_SHUTDOWN_SECONDS, server_header=False,
                            http=http_implementation())
    server = _Server(config)
    host, port = sock.getsockname()[:2]
    event("daemon.start", f"senderctl daemon on http://{host}:{port} watching {', '.join(daemon.options.paths)}",
          listen=f"{host}:{port}", webhook_url=daemon.webhook_url(), resync_seconds=daemon.options.resync,
          state=_redacted_url(daemon.options.state_url), allow_archive=daemon.options.allow_archive)
    await daemon.reload_specs("startup")
    http = asyncio.create_task(server.serve(sockets=[sock]), name="http")
    pool = daemon.receivers
    receiving = asyncio.create_task(pool.run(), name="receivers") if pool is not None else None
    if pool is not None:
        event("receivers.start", f"{pool.wanted} webhook receiving process(es) on {daemon.options.webhook_listen}",
              webhook_listen=daemon.options.webhook_listen, workers=pool.wanted)
    try:
        await daemon.run()
    finally:
        server.should_exit = True
        if pool is not None and receiving is not None:
            await pool.stop()
            await asyncio.gather(receiving, return_exceptions=True)
            pool.sock.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(http, HTTP_SHUTDOWN_SECONDS + 1)
        sock.close()
    event("daemon.stopped", "senderctl daemon stopped")
    return EXIT_OK


def _on_signal(daemon: Daemon, sig: int) -> None:
    if daemon.stopping.is_set():
        return
    event("daemon.stopping", f"{signal.Signals(sig).name} received: finishing the in-flight action, then exiting",
          logging.INFO)
    daemon.stop()


def _redacted_url(url: str) -> str:
    from controller.state.store import redact

    return redact(url)
