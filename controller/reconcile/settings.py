"""The engine's settings and errors, and its two connections: to Bird (bird_client) and to the state
(open_store). Apart from the engine so that a command that only reads (`costs`) imports neither the
planner nor apply."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Coroutine, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from controller.bird import BirdAuthError, BirdClient
from controller.bird.ratelimit import DEFAULT_GET_RATE, DEFAULT_POST_RATE

T = TypeVar("T")

DEFAULT_BIRD_URL = "https://api.bird.com"
# Changes carried out at once, at least: apply raises it to twice the Bird client's in-flight limit, which
# grows from 16 when Bird is far away (controller.bird.concurrency) and shrinks when answers wait on our
# event loop (each change's state work runs there: with 64 changes at once on the loopback, a sent
# request's answer once waited past the 10 s timeout).
DEFAULT_PARALLELISM = 16


class EngineError(Exception):
    """A failure the user must act on (missing key, invalid specs, unreachable state)."""


class SpecsInvalid(EngineError):
    def __init__(self, errors: Sequence[Any]) -> None:
        self.errors = list(errors)
        super().__init__(f"{len(self.errors)} error(s) in the specs")


class Refused(EngineError):
    """Apply will not proceed: unsafe without a flag, or a saved plan is stale (exit 3)."""


@dataclass
class Settings:
    state_url: str
    bird_url: str = DEFAULT_BIRD_URL
    access_key: str | None = None
    environ: Mapping[str, str] | None = None
    # Changes carried out at once. High enough to keep Bird's per-workspace write limit busy across many
    # workspaces; the client's rate limits (not this) keep each workspace under Bird's limit.
    parallelism: int = DEFAULT_PARALLELISM
    lock_timeout: float = 0.0
    transport: Any = None  # an httpx transport, for an in-process emulator
    on_bird_response: Any = None  # BirdClient's on_response hook (the daemon's metrics and request-id logs)
    # Client-side rate limits, requests per second per workspace: Bird documents 50 GET and 500 POST
    # (https://docs.bird.com/api/channels-api/rate-limit). PATCH/PUT/DELETE count with POST.
    bird_get_rate: float = DEFAULT_GET_RATE
    bird_post_rate: float = DEFAULT_POST_RATE
    requests_per_second: float | None = None  # both rates at once (benchmarks, tests)
    # Part of the estate (--target ADDRESS..., --org NAME...): only these and their dependencies.
    targets: tuple[str, ...] = ()
    orgs: tuple[str, ...] = ()
    # Called once with the holder when the state lock is busy and --lock-timeout makes us wait.
    on_lock_wait: Any = None
    # The daemon's fenced lease (controller.daemon.fencing.WriteFence): every journal intent checks it in
    # its own transaction and every Bird write attempt asks it first. None: the apply lock alone.
    fence: Any = None

    @classmethod
    def from_env(cls, state_url: str, bird_url: str | None = None, **kw: Any) -> Settings:
        kw.setdefault("bird_get_rate", rate_from_env(GET_RATE_ENV, DEFAULT_GET_RATE))
        kw.setdefault("bird_post_rate", rate_from_env(POST_RATE_ENV, DEFAULT_POST_RATE))
        return cls(
            state_url=state_url,
            bird_url=bird_url or os.environ.get("BIRD_API_URL") or DEFAULT_BIRD_URL,
            access_key=os.environ.get("BIRD_ACCESS_KEY"),
            **kw,
        )


GET_RATE_ENV = "SENDERCTL_BIRD_GET_RATE"
POST_RATE_ENV = "SENDERCTL_BIRD_POST_RATE"


def rate_from_env(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        rate = float(raw)
    except ValueError:
        rate = -1.0
    if not rate > 0:
        raise EngineError(f"{name}={raw!r}: expected a number of requests per second greater than 0 "
                          f"(Bird's default is {default:g})")
    return rate


def open_store(settings: Settings, *, read_only: bool = False) -> Any:
    """The state store. Read-only commands (plan, status) do not create a SQLite state that does not
    exist yet: they read an empty one in memory instead, so nothing is written to disk."""
    from controller.state import StateStore, check_state_location

    if read_only and missing_sqlite_file(settings.state_url):
        check_state_location(settings.state_url)  # a mistyped directory is an error, not an empty state
        return StateStore.open("sqlite://")
    store = StateStore.open(settings.state_url, read_only=read_only)
    if not read_only:
        from controller.reconcile.secrets import upgrade_signing_key_digests

        upgrade_signing_key_digests(store, settings.environ)
    return store


def open_store_aside(settings: Settings, *, read_only: bool = False) -> asyncio.Future[Any]:
    """open_store in a thread of its own while the caller goes on (asks Bird for what it can meanwhile).

    A daemon thread, not the loop's executor, whose threads asyncio.run waits for on its way out: Ctrl-C
    must not wait for a database server that does not answer. A store opened after its caller gave up
    (the future cancelled, the loop closed) is closed at once."""
    loop = asyncio.get_running_loop()
    opened: asyncio.Future[Any] = loop.create_future()

    def deliver(store: Any, error: BaseException | None) -> None:  # on the loop
        if opened.cancelled():
            if store is not None:
                store.close()
        elif error is not None:
            opened.set_exception(error)
        else:
            opened.set_result(store)

    def run() -> None:
        store, error = None, None
        try:
            store = open_store(settings, read_only=read_only)
        except BaseException as exc:  # handed to the awaiting caller as it is
            error = exc
        try:
            loop.call_soon_threadsafe(deliver, store, error)
        except RuntimeError:  # the loop is closed: nobody will use it
            if store is not None:
                store.close()

    threading.Thread(target=run, name="senderctl-open-state", daemon=True).start()
    return opened


def close_aside(opened: asyncio.Future[Any]) -> None:
    """Close what open_store_aside opened, or cancel it: closed by its thread once it is open."""
    if opened.done() and not opened.cancelled() and opened.exception() is None:
        opened.result().close()
    else:
        opened.cancel()


@contextmanager
def state_reader(settings: Settings) -> Iterator[Any]:
    """A SQLAlchemy engine to read the state with, closed on exit: straight onto a current state, without the ORM
    and the store a report never uses (`costs` answers in under a second); else through open_store,
    which reads a missing state as empty and migrates or refuses an older one."""
    from controller.state.db import open_current

    engine = open_current(settings.state_url)
    if engine is not None:
        try:
            yield engine
        finally:
            engine.dispose()
        return
    store = open_store(settings, read_only=True)
    try:
        yield store.engine
    finally:
        store.close()


def missing_sqlite_file(url: str) -> bool:
    prefix = "sqlite:///"
    if not url.startswith(prefix):
        return False
    path = url[len(prefix):].split("?", 1)[0]
    return bool(path) and path != ":memory:" and not os.path.exists(path)


def check_bird_url(url: str) -> None:
    """--bird-url / BIRD_API_URL must be an http(s) URL with a host (and a valid port, if any)."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        _ = parts.port
        ok = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:
        ok = False
    if not ok:
        raise EngineError(f"--bird-url / BIRD_API_URL {url!r} is not an http(s) URL; use e.g. https://api.bird.com "
                          "or http://127.0.0.1:8765 for the emulator")


@asynccontextmanager
async def bird_client(settings: Settings):  # type: ignore[no-untyped-def]
    if not settings.access_key:
        raise EngineError("BIRD_ACCESS_KEY is not set: senderctl needs a Bird access key to read and change Bird "
                          "(export BIRD_ACCESS_KEY=...; it is never printed)")
    check_bird_url(settings.bird_url)
    async with BirdClient(settings.bird_url, settings.access_key, transport=settings.transport,
                          on_response=settings.on_bird_response,
                          before_write=settings.fence.before_write if settings.fence is not None else None,
                          get_rate=settings.bird_get_rate, post_rate=settings.bird_post_rate,
                          requests_per_second=settings.requests_per_second) as client:
        yield client


def auth_problem(exc: BirdAuthError) -> str:
    """What is wrong with the access key (never the key itself), and that the run stopped before any write."""
    where = f"{exc.method} {exc.route}"
    if exc.status == 401:
        problem = f"Bird rejected the access key (401 on {where}): BIRD_ACCESS_KEY is wrong, expired or revoked"
    else:
        problem = (f"the access key is not allowed to do this (403 on {where}): its access policy does not cover "
                   "this organization or workspace")
    detail = f" (Bird said: {exc.bird_message})" if exc.bird_message else ""
    return (f"{problem}{detail}. The run stopped before any change to Bird or to the state; set BIRD_ACCESS_KEY "
            "to a key of this organization and run again.")


def run(main: Coroutine[Any, Any, T]) -> T:
    """asyncio.run(main), with main's result kept out of the task asyncio.run makes.

    On its way out asyncio.run reads its Ctrl-C handler back with signal.getsignal, which formats (and
    throws away) an error naming that handler: a partial holding the main task, whose repr holds the
    task's result. For a plan that is the whole observed world: half a second at 10,000 numbers."""
    result: list[T] = []

    async def keep_result() -> None:
        result.append(await main)

    asyncio.run(keep_result())
    return result[0]
