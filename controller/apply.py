"""Apply: carry a Plan out against Bird and the state, in dependency order, idempotently.

Every Bird write is journaled: an intent (address, action, deterministic key, request without
secrets) is committed to the state *before* the call and its outcome *after*, together with the
resource record, in one transaction. A run that finds an unfinished intent re-observes Bird and
adopts what the interrupted write created (see the kind modules) instead of repeating it.

Independent changes (same dependency rank) run concurrently, bounded by `parallelism`.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from controller import crashpoints
from controller.bird import BirdAmbiguousWriteError, BirdAuthError, BirdClient, BirdError
from controller.plan import Change, Plan
from controller.planner import change_order
from controller.resources import KINDS
from controller.resources.common import idempotency_key
from controller.secrets import resolve_secret
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

    @property
    def failed(self) -> list[ChangeResult]:
        return [r for r in self.results if not r.ok]

    @property
    def done(self) -> list[ChangeResult]:
        return [r for r in self.results if r.ok]


class ApplyIO:
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

    # --- state -----------------------------------------------------------------------------------
    def save(self, address: str, kind: str, *, bird_id: str | None, spec: dict[str, Any],
             data: dict[str, Any]) -> None:
        """Record the resource; the write's journal entry is closed in the same transaction."""
        from controller.resources.common import spec_hash
        from controller.state import ResourceRecord

        self.settle(address, ResourceRecord(address=address, kind=kind, bird_id=bird_id,
                                            spec_hash=spec_hash(spec), spec=spec, data=data))

    def forget(self, address: str) -> None:
        self.settle(address)
        self.store.forget(address)

    def settle(self, address: str, record: Any = None) -> None:
        """Save the record with this run's writes for the address and close what earlier runs left open,
        in one transaction (see StateStore.settle)."""
        self.store.settle(address, self.pending.pop(address, []), record)

    def tenant_call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return fn(self.store, *args, **kwargs)

    def secret(self, address: str, ref: Mapping[str, str], base_dir: str) -> str:
        return resolve_secret(ref, base_dir, self.environ)

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
        op_id = self.begin(change.address, action, request)
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
            self.store.finish(op_id, "failed", error=str(exc))
            raise
        except BirdError as exc:
            self.store.finish(op_id, "failed", error=str(exc))
            raise ApplyError(f"{change.address}: {exc}") from None
        # Left open until the kind saves its record: finish(record=...) is one transaction, so a
        # crash in between leaves an intent the next run resolves by re-reading Bird.
        self.pending.setdefault(change.address, []).append(op_id)
        crash_point(f"{action}:{change.address}")
        crashpoints.point("bird-write", action)
        return result

    def begin(self, address: str, action: str, request: dict[str, Any]) -> int:
        check_lock = getattr(self.store, "check_lock", None)
        if check_lock is not None:
            check_lock()  # never write to Bird once the apply lock is lost (LockLost stops the run)
        return self.store.begin_write(address, action, idempotency_key(address, action, request), request)


async def execute(
    plan: Plan,
    io: ApplyIO,
    *,
    parallelism: int = 16,
    only: Callable[[Change], bool] | None = None,
    on_result: Callable[[ChangeResult], None] | None = None,
) -> ApplyReport:
    """Run the plan's changes: removals in reverse dependency order first, then the rest in order."""
    report = ApplyReport()
    gate = asyncio.Semaphore(parallelism)
    changes = sorted((c for c in plan.changes if only is None or only(c)), key=change_order)

    async def run(change: Change) -> None:
        async with gate:
            try:
                with crashpoints.applying(change.kind):
                    await KINDS[change.kind].change(change, io)
                result = ChangeResult(change)
            except (BirdAuthError, LockLost):
                raise  # the whole run stops: a wrong key, or the state's lock is gone (commands.report_failure)
            except (ApplyError, BirdError) as exc:
                result = ChangeResult(change, failure_reason(change, exc))
            except Exception as exc:  # a tenant rule (e.g. archive blockers) refused the change
                result = ChangeResult(change, f"{change.address}: {failure_reason(change, exc)}")
        report.results.append(result)
        if on_result:
            on_result(result)

    for _, group in itertools.groupby(changes, key=lambda c: change_order(c)[:2]):
        await asyncio.gather(*(run(c) for c in group))
    if only is None:
        for address in plan.forget:
            io.forget(address)
    return report
