"""Apply: carry a Plan out against Bird and the state, in dependency order, idempotently.

Every Bird write is journaled: an intent (address, action, deterministic key, request without
secrets) is committed to the state *before* the call and its outcome *after*, together with the
resource record, in one transaction. A run that finds an unfinished intent re-observes Bird and
adopts what the interrupted write created (see the kind modules) instead of repeating it.

Independent changes (same dependency rank) run concurrently, bounded by `parallelism` or, when Bird is
far away, by twice the Bird client's in-flight limit (which follows the round-trip time).

The state's writes run on a thread of their own (StateWriter), in the order they are asked for, so the
event loop keeps sending and reading Bird while a transaction waits for the database (SQLite's one
writer, a slow disk): an intent's commit is still awaited before its Bird write is sent, and a change is
reported done only once its record is committed.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import itertools
import os
import queue
import signal
import threading
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from controller.bird import BirdAmbiguousWriteError, BirdAuthError, BirdClient, BirdError
from controller.bird.concurrency import Gate
from controller.reconcile import crashpoints
from controller.reconcile.plan import Change, Plan
from controller.reconcile.planner import change_order
from controller.reconcile.secrets import digest_secret, resolve_secret
from controller.resources import KINDS
from controller.resources.common import idempotency_key
from controller.state.errors import LockLost

T = TypeVar("T")


class ApplyError(Exception):
    """One change could not be carried out; the message is for the user."""


# Fault injection for the crash-safety tests: a process whose environment names a write
# ("create:PhoneNumber/" matches by prefix) kills itself with SIGKILL right after Bird accepted
# that write and before its outcome is recorded — the worst moment to die.
CRASH_ENV = "SENDERCTL_FAULT_KILL_AFTER_WRITE"


def crash_point(write: str) -> None:
    target = os.environ.get(CRASH_ENV)
    if target and write.startswith(target):
        os.kill(os.getpid(), signal.SIGKILL)


def failure_reason(change: Change, exc: BaseException) -> str:
    """Never an empty reason: an exception without a message is named by its kind."""
    text = str(exc).strip()
    return text or f"{change.action} failed ({type(exc).__name__}, no message); run again, or report it"


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class ChangeResult:
    change: Change
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class ApplyReport:
    results: list[ChangeResult] = field(default_factory=list)
    forgotten: list[str] = field(default_factory=list)  # removed from the state only, as the plan listed

    @property
    def failed(self) -> list[ChangeResult]:
        return [r for r in self.results if not r.ok]

    @property
    def done(self) -> list[ChangeResult]:
        return [r for r in self.results if r.ok]


@dataclass
class _Job:
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    context: contextvars.Context
    future: concurrent.futures.Future[Any]
    joins: Any  # the store whose grouped() this write may join (see StateWriter), or None

    def call(self) -> Any:
        return self.context.run(self.fn, *self.args)

    def run(self) -> None:
        """Call it and hand its result or error to whoever awaits the write."""
        try:
            result = self.call()
        except BaseException as exc:  # noqa: BLE001 - handed to whoever awaits the write
            self.future.set_exception(exc)
        else:
            self.future.set_result(result)


_STOP = object()


class StateWriter:
    """One thread that runs the state's writes in the order they were submitted (a later write of an
    address never overtakes an earlier one), each in the submitter's context (crash points name the kind
    being applied).

    Journal writes (``joins=store``) waiting one behind another are committed in one transaction (group
    commit, StateStore.grouped): while the thread runs one transaction the next writes queue, so a busy
    apply makes fewer, larger commits and an idle one commits each write at once. A write that fails
    rolls its group back and the group's writes are run again one by one, so it fails only itself."""

    GROUP_MAX = 64  # writes per group: the state's write lock is held no longer than a few milliseconds

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._work, name="senderctl-state", daemon=True)
        self._thread.start()

    def submit(self, fn: Callable[..., T], *args: Any, context: contextvars.Context | None = None,
               joins: Any = None) -> concurrent.futures.Future[T]:
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        self._jobs.put(_Job(fn, args, context or contextvars.copy_context(), future, joins))
        return future

    def close(self) -> None:
        """Run what was submitted, then stop the thread."""
        self._jobs.put(_STOP)
        self._thread.join()

    def _work(self) -> None:
        carried: Any = None  # a job taken while gathering a group that could not join it: it runs next
        while True:
            job, carried = (carried if carried is not None else self._jobs.get()), None
            if job is _STOP:
                return
            group = [job]
            while job.joins is not None and len(group) < self.GROUP_MAX:
                try:
                    following = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if following is _STOP or following.joins is not job.joins:
                    carried = following
                    break
                group.append(following)
            # A write whose awaiting task was cancelled before it started is not run (as an executor does).
            group = [j for j in group if j.future.set_running_or_notify_cancel()]
            if len(group) > 1:
                self._commit_together(group)
            elif group:
                group[0].run()

    @staticmethod
    def _commit_together(group: list[_Job]) -> None:
        results = []
        try:
            with group[0].joins.grouped():
                for job in group:
                    results.append(job.call())
        except BaseException:  # noqa: BLE001 - rolled back whole: each write again on its own, failing only itself
            for job in group:
                job.run()
            return
        for job, result in zip(group, results, strict=True):
            job.future.set_result(result)


# The state writes queued by the change being applied (one list per change's task): awaited before the
# change is reported, so that a failed save is that change's failure.
_change_writes: contextvars.ContextVar[list[concurrent.futures.Future[Any]] | None] = contextvars.ContextVar(
    "senderctl_change_writes", default=None)


_UNSET = object()


class JournaledIO:
    """Everything a kind's `change` may touch: the Bird client, the state store, the clock."""

    def __init__(
        self,
        client: BirdClient | None,
        store: Any,
        *,
        now: Callable[[], datetime] = utcnow,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.client: BirdClient = client  # type: ignore[assignment]
        self.store = store
        self.now = now
        self.environ = environ
        # Journal entries whose Bird write succeeded but whose record is not saved yet.
        self.pending: dict[str, list[int]] = {}
        # Records the plan being applied forgets: a renamed resource's new record takes over their Bird ids.
        self.handover: frozenset[str] = frozenset()
        # While `execute` runs: the thread the state's writes go to (None: they run at once, on the caller's).
        self.writer: StateWriter | None = None
        self._loose_writes: list[concurrent.futures.Future[Any]] = []
        # The store the journal's writes may share a commit with (StateWriter): StateStore.grouped joins the
        # journal's connection transactions (StateStore.connection_transaction).
        self._journal_group = store if hasattr(store, "grouped") else None

    # --- where the state's writes run --------------------------------------------------------------
    def _write_later(self, fn: Callable[..., Any], *args: Any, journal: bool = False) -> None:
        """Queue a write whose result nobody waits for now (a record after its Bird write): the change, or
        else the apply, awaits it before it is reported."""
        if self.writer is None:
            fn(*args)
            return
        future = self.writer.submit(fn, *args, joins=self._group_of(journal))
        queued = _change_writes.get()
        (self._loose_writes if queued is None else queued).append(future)

    async def _write_now(self, fn: Callable[..., T], *args: Any, journal: bool = False) -> T:
        """A write the caller needs done before it goes on (an intent before its Bird write)."""
        if self.writer is None:
            return fn(*args)
        context = contextvars.copy_context()
        result = await asyncio.wrap_future(self.writer.submit(fn, *args, context=context,
                                                              joins=self._group_of(journal)))
        # What the write set in its context holds here afterwards, as if it had run on this task: the
        # intent's fencing check names the lease shard its Bird write is sent under (lease.CURRENT_SHARD).
        for var, value in context.items():
            if var.get(_UNSET) is not value:
                var.set(value)
        return result

    def _group_of(self, journal: bool) -> Any:
        return self._journal_group if journal else None

    @staticmethod
    def track_change_writes() -> list[concurrent.futures.Future[Any]]:
        """Collect the writes the current task queues from now on (see `writes_done`)."""
        queued: list[concurrent.futures.Future[Any]] = []
        _change_writes.set(queued)
        return queued

    @staticmethod
    async def writes_done(queued: list[concurrent.futures.Future[Any]]) -> None:
        """Wait until every queued write is committed; the first that failed raises its error."""
        while queued:
            await asyncio.wrap_future(queued.pop(0))

    async def drain(self) -> None:
        await self.writes_done(self._loose_writes)

    # --- state -----------------------------------------------------------------------------------
    def save(self, address: str, kind: str, *, bird_id: str | None, spec: dict[str, Any],
             data: dict[str, Any]) -> None:
        """Record the resource; the write's journal entry is closed in the same transaction."""
        from controller.resources.common import spec_hash
        from controller.state import ResourceRecord

        self.settle(address, ResourceRecord(address=address, kind=kind, bird_id=bird_id,
                                            spec_hash=spec_hash(spec), spec=spec, data=data))

    def save_batch(self, intent_address: str, records: list[dict[str, Any]]) -> None:
        """Record several resources written by one Bird call (journaled at `intent_address`) and close that
        call's intent, in one transaction: never a closed intent with some of its records missing."""
        from controller.resources.common import spec_hash
        from controller.state import ResourceRecord

        rows = [ResourceRecord(address=r["address"], kind=r["kind"], bird_id=r["bird_id"], spec_hash=spec_hash(r["spec"]),
                               spec=r["spec"], data=r["data"]) for r in records]
        mine = self.pending.pop(intent_address, [])
        for row in rows:
            mine += self.pending.pop(row.address, [])
        self._write_later(self.store.settle_batch, mine, rows, journal=True)

    def forget(self, address: str) -> None:
        self.settle(address)
        self._write_later(self.store.forget, address)

    def settle(self, address: str, record: Any = None) -> None:
        """Save the record with this run's writes for the address and close what earlier runs left open,
        in one transaction (see StateStore.settle)."""
        self._write_later(self.store.settle, address, self.pending.pop(address, []), record, self.handover,
                          journal=True)

    async def tenant_call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """A tenant rule's read or write, after the writes queued before it (it may read what they write).
        Awaited, never waited for on the event loop: the writer may first commit many queued writes or wait
        for SQLite's write lock, and in the daemon that loop also answers webhooks and the platform API."""
        if self.writer is None:
            return fn(self.store, *args, **kwargs)
        return await asyncio.wrap_future(self.writer.submit(lambda: fn(self.store, *args, **kwargs)))

    def secret(self, address: str, ref: Mapping[str, str], base_dir: str) -> str:
        return resolve_secret(ref, base_dir, self.environ)

    def digest_secret(self) -> bytes:
        """The key of the signing-key digests the state keeps (controller.reconcile.secrets)."""
        return digest_secret(self.environ)

    # --- journaled Bird writes -------------------------------------------------------------------
    async def journaled(
        self,
        change: Change,
        *,
        request: dict[str, Any],
        call: Callable[[], Awaitable[T]],
        probe: Callable[[], Awaitable[T | None]] | None = None,
        key_suffix: str = "",
    ) -> T:
        action = f"{change.action}:{key_suffix}" if key_suffix else change.action
        # Committed (on the writer's thread) before the Bird write is sent.
        op_id = await self._write_now(self.begin, change.address, action, request, journal=True)
        try:
            result = await call()
        except BirdAmbiguousWriteError as exc:
            # The write may have happened: re-read before deciding, never blindly retry. If the
            # re-read finds nothing (or fails), the intent stays open: Bird may still complete the
            # write, and the next run re-reads Bird and adopts it rather than writing again.
            try:
                found = await probe() if probe else None
            except BirdError as probe_exc:
                raise ApplyError(f"{change.address}: {exc}; re-reading Bird failed too ({probe_exc}); the outcome "
                                 "is unknown and stays open in the journal for the next run") from None
            if found is None:
                raise ApplyError(f"{change.address}: {exc}; re-read Bird and found nothing yet; the intent stays "
                                 "open in the journal and the next run re-reads before writing") from None
            self.pending.setdefault(change.address, []).append(op_id)
            crashpoints.point("bird-write-adopted", action)
            return found
        except BirdAuthError as exc:
            # The key stopped working mid-run: every further write would fail the same way. Stop.
            await self._write_now(self._failed, op_id, exc, journal=True)
            raise
        except BirdError as exc:
            await self._write_now(self._failed, op_id, exc, journal=True)
            raise ApplyError(f"{change.address}: {exc}") from None
        # Left open until the kind saves its record: finish(record=...) is one transaction, so a
        # crash in between leaves an intent the next run resolves by re-reading Bird.
        self.pending.setdefault(change.address, []).append(op_id)
        crash_point(f"{action}:{change.address}")
        crashpoints.point("bird-write", action)
        return result

    def _failed(self, op_id: int, exc: BaseException) -> None:
        self.store.finish(op_id, "failed", error=str(exc))

    def begin(self, address: str, action: str, request: dict[str, Any]) -> int:
        check_lock = getattr(self.store, "check_lock", None)
        if check_lock is not None:
            check_lock()  # never write to Bird once the apply lock is lost (LockLost stops the run)
        return self.store.begin_write(address, action, idempotency_key(address, action, request), request)


def batch_of(change: Change) -> Any:
    """The batch a change joins (a kind with ``batch_key``: purchases of one workspace and selection), or None."""
    batch_key = getattr(KINDS[change.kind], "batch_key", None)
    return None if batch_key is None else batch_key(change)


def interleave(units: list[list[Change]]) -> list[list[Change]]:
    """The units taken in turn from each workspace (each workspace's in plan order): the changes started
    first are spread over the workspaces, so that each workspace's rate limit is used at once instead of
    every slot waiting for the first workspace's rate tokens."""
    by_workspace: dict[Any, list[list[Change]]] = {}
    for unit in units:
        by_workspace.setdefault(unit[0].payload.get("workspaceId"), []).append(unit)
    queues = list(by_workspace.values())
    return [queue[i] for i in range(max(map(len, queues), default=0)) for queue in queues if i < len(queue)]


def work_units(group: list[Change]) -> list[list[Change]]:
    """The group's changes as units of work: alone, or with the rest of their batch (at most the kind
    module's BATCH_SIZE per unit, in plan order; PhoneNumbers and NumberPool members of one workspace and
    selection are bought together)."""
    units: list[list[Change]] = []
    batches: dict[Any, list[Change]] = {}
    for change in group:
        key = batch_of(change)
        if key is None:
            units.append([change])
            continue
        module = KINDS[change.kind]
        batch = batches.get((module.__name__, key))
        if batch is None or len(batch) >= module.BATCH_SIZE:
            batch = batches[(module.__name__, key)] = []
            units.append(batch)
        batch.append(change)
    return units


async def execute(
    plan: Plan,
    io: JournaledIO,
    *,
    parallelism: int = 16,
    only: Callable[[Change], bool] | None = None,
    on_result: Callable[[ChangeResult], None] | None = None,
) -> ApplyReport:
    """Run the plan's changes: removals in reverse dependency order first, then the rest in order."""
    report = ApplyReport()
    io.handover = frozenset(plan.forget)
    # At least `parallelism` changes at once, and more when the client's in-flight limit has grown (Bird is
    # far away: each change mostly waits for its answer). Twice the limit: a change also reads and settles.
    limiter = getattr(io.client, "concurrency", None)
    gate = Gate(lambda: parallelism if limiter is None else max(parallelism, 2 * limiter.current))
    changes = sorted((c for c in plan.changes if only is None or only(c)), key=change_order)

    async def run(unit: list[Change]) -> None:
        first = unit[0]
        module = KINDS[first.kind]
        await gate.acquire()
        writes = io.track_change_writes()
        try:
            try:
                with crashpoints.applying(first.kind):
                    if len(unit) == 1 and batch_of(first) is None:
                        await module.change(first, io)
                    else:
                        await module.change_batch(unit, io)
                    await io.writes_done(writes)  # done means recorded: a failed save fails the change
                error = None
            except (BirdAuthError, LockLost):
                raise  # the whole run stops: a wrong key, or the state's lock is gone (commands.report_failure)
            except (ApplyError, BirdError) as exc:
                error = failure_reason(first, exc)
            except Exception as exc:  # a tenant rule (e.g. archive blockers) refused the change
                error = f"{first.address}: {failure_reason(first, exc)}"
        finally:
            gate.release()
        for change in unit:
            result = ChangeResult(change, error if error is None or len(unit) == 1
                                  else f"{change.address}: bought with {len(unit) - 1} other(s) in one Bird call: {error}")
            report.results.append(result)
            if on_result:
                on_result(result)

    own_writer = io.writer is None
    if own_writer:
        io.writer = StateWriter()
    try:
        for _, group in itertools.groupby(changes, key=lambda c: change_order(c)[:2]):
            await asyncio.gather(*(run(unit) for unit in interleave(work_units(list(group)))))
        if only is None:
            for address in plan.forget:
                io.forget(address)
                report.forgotten.append(address)
        await io.drain()
    finally:
        if own_writer:
            writer, io.writer = io.writer, None
            assert writer is not None
            writer.close()
    return report
