"""The daemon's moving parts around one event loop: leadership, the spec watcher, the work queue and
its reconcile worker, the webhook inbox. The HTTP app (controller/daemon/http.py) talks to this.

Only the leader reconciles. Every replica receives webhooks, verifies them and writes them to the
state's webhook inbox; the leader drains the inbox. Reconciles go through engine.apply, which holds
the state's apply lock and journals every Bird write.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import random
import socket
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from controller import tenant
from controller.daemon import logs
from controller.daemon.config import DaemonOptions
from controller.daemon.directory import Directory, Place, places
from controller.daemon.logs import event
from controller.daemon.metrics import Metrics
from controller.daemon.notify import Notifier, condition_events, drift_event
from controller.daemon.queue import FULL, WorkQueue, jittered
from controller.daemon.routing import (
    EVENT_KINDS,
    INBOUND_EVENTS,
    OUTBOUND_EVENTS,
    affected,
    dependents,
    id_index,
    outbound_of,
    spec_edit,
)
from controller.daemon.settle import (
    COMMIT_GRACE_SECONDS,
    COMMIT_POLL_SECONDS,
    Preloaded,
    Snapshot,
    changed_within,
    committed_tree,
    settle_wait,
    tree_snapshot,
    watch_targets,
)
from controller.daemon.specview import (
    SpecsRejected,
    SpecView,
    load_view,
    missing_status_events,
    missing_traffic_event,
)
from controller.daemon.webhooks import SigningIndex, Verdict, ids_named
from controller.reconcile import engine
from controller.reconcile.apply import ChangeResult
from controller.reconcile.plan import Change, Plan
from controller.reconcile.scope import annotations_by_document
from controller.state import DatabaseError, StateLocked, StateStore, lease
from controller.state.leader import Leadership
from controller.state.lease import LeaseLost
from controller.state.webhook_inbox import (
    Delivery,
    WebhookEvent,
    mark_handled_in,
    mark_webhooks_handled,
    newest_webhook_id,
    pending_webhooks,
    prune_webhooks,
    record_webhooks,
    webhook_places,
    webhooks_since,
)
from specs.loader import ParseCache

if TYPE_CHECKING:
    from controller.daemon.receivers import ReceiverPool

# A queue key that reconciles every resource of one organization (one this replica just took over).
ORG_KEY = "organization:"
# Takeover reconciles running beside the replica's other reconcile, at most: organizations a replica gains
# are reconciled at once, not after the reconcile of the others it already held (which may wait on a slow
# Bird for minutes). Each unit claims its organizations, so no two reconciles of one replica share one.
TAKEOVER_UNITS = 4
# A balancing round due at another replica's lease expiry runs this much after it (the server's clock decides).
EXPIRY_SLACK_SECONDS = 0.05
RESYNC_JITTER = 0.10
RECHECK_JITTER = 0.10
INBOX_POLL_SECONDS = 1.0
INBOX_GATHER_SECONDS = 0.05  # how long a poked inbox waits for more events before draining
INBOX_BATCH = 1000  # events a drained batch routes in one transaction
# Handled events are kept this long: a replay is recognised by them, and Bird retries for 8 hours.
INBOX_RETENTION = timedelta(days=1)
# Deliveries a receiver writes to the inbox in one transaction (those that arrived while the last wrote).
RECEIVE_BATCH = 500
# Inbox transactions under way at once: while one commits, the next batch is already on its way to a worker
# thread (their writes still take turns on the state's write lock), so an answer waits for one commit and
# not for the hop of the batch ahead of it as well.
RECEIVERS = 2
PRUNE_EVERY_SECONDS = 600.0
READINESS_TIMEOUT = 3.0
WATCH_RETRY_SECONDS = 2.0
# Log lines name at most this many addresses (a pool of thousands would flood the log).
LOGGED_ADDRESSES = 50
# The file watcher's thread returns this often (ms), so shutdown never waits long for it.
WATCH_POLL_MS = 500
# The status page (/ui): how many reconciles and notifications it lists, and how old its view of the state
# may be on a replica that does not reconcile (the leader's is rebuilt after each reconcile).
UI_HISTORY = 20
ESTATE_MAX_AGE_SECONDS = 15.0


def log_routed(lines: list[Any]) -> None:
    """One `inbound.routed` line for the messages of a drained batch (each with its Bird request id,
    outcome, organization and reason), not one line per message: at thousands of messages a second the
    per-message lines cost the daemon a fifth of its CPU. `outcome` is the batch's one outcome, or "mixed".
    (A message that failed was logged as webhook.failed when it failed.)"""
    messages = [line for line in lines if isinstance(line, dict)]
    if not messages:
        return
    outcomes = Counter(m["outcome"] for m in messages)
    outcome = next(iter(outcomes)) if len(outcomes) == 1 else "mixed"
    summary = ", ".join(f"{n} {o}" for o, n in outcomes.items())
    first = messages[0]
    text = (f"inbound SMS {first['outcome']}: {first['reason']}" if len(messages) == 1
            else f"{len(messages)} inbound SMS: {summary}")
    event("inbound.routed", text, webhook_event="sms.inbound", outcome=outcome, outcomes=dict(outcomes),
          organization=first["organization"] if len(messages) == 1 else None,
          bird_request_id=first["bird_request_id"] if len(messages) == 1 else None, messages=messages)


def log_received(verdicts: list[Any], kept: list[bool], *, role: str) -> None:
    """The deliveries one inbox transaction kept (`webhook.accepted`) and the replays it recognised
    (`webhook.replay`), one line each per transaction with their Bird request ids, instead of a line per
    delivery. Refused deliveries are still logged one by one, as warnings (http.answer)."""
    for outcome, wanted, level in (("accepted", True, logging.INFO), ("replay", False, logging.INFO)):
        ids = [v.request_id for v, fresh in zip(verdicts, kept, strict=True) if fresh is wanted]
        if ids:
            events = sorted({v.event for v, fresh in zip(verdicts, kept, strict=True) if fresh is wanted})
            message = "accepted" if outcome == "accepted" else "a replay of a delivery already received: ignored"
            event(f"webhook.{outcome}", f"{len(ids)} deliveries: {message}" if len(ids) > 1 else message, level,
                  status=200, count=len(ids), webhook_events=events, bird_request_ids=ids, role=role)


def workspace_of(place: Place | None) -> str | None:
    return (place.workspace_id or None) if place else None


class Unavailable(Exception):
    """The state database cannot take the webhook now (Bird retries on a 5xx)."""


def utcnow() -> datetime:
    return datetime.now(UTC)


class Daemon:
    def __init__(self, options: DaemonOptions, settings: engine.Settings, store: StateStore, leadership: Leadership,
                 metrics: Metrics, *, rng: random.Random | None = None, notifier: Notifier | None = None) -> None:
        self.options = options
        self.settings = settings
        self.store = store
        self.leadership = leadership
        self.metrics = metrics
        self.rng = rng or random.Random()
        self.queue = WorkQueue(rng=self.rng)
        self.identity = f"pid={os.getpid()} host={socket.gethostname()}"
        self.view: SpecView | None = None
        self.spec_errors: list[str] = []
        self.role = "starting"  # starting | leader | standby
        self.last_reconcile: dict[str, Any] = {}
        # Resources the last plan left waiting: a status event may be what they wait for, even when the
        # dependency is not declared (extra numbers wait for the organization's 10DLC to be active).
        self.waiting: set[str] = set()
        self.stopping = asyncio.Event()
        self.wake = asyncio.Event()
        self.inbox_poke = asyncio.Event()
        self.lease_lost = asyncio.Event()
        self.owned: set[str] = set()  # the organizations whose leases this replica holds (ALL: every one)
        self.inbox_cursor: int | None = None  # the newest inbox event a non-draining replica has looked at
        self.listen_port: int | None = None
        # A webhook receiving process's: told after each inbox transaction that kept a delivery.
        self.on_recorded: Callable[[], None] | None = None
        # --webhook-listen: the processes receiving webhooks there (controller/daemon/receivers.py).
        self.receivers: ReceiverPool | None = None
        # A webhook receiving process writes its inbox transactions on its event loop, one at a time.
        self.records_on_loop = False
        self._calls: dict[asyncio.Task[Any] | None, list[dict[str, Any]]] = {}
        self._in_flight: asyncio.Task[Any] | None = None  # the reconcile of queued resources (or FULL)
        # Every running reconcile -> the organizations it claimed (None: all of them).
        self._units: dict[asyncio.Task[Any], set[str] | None] = {}
        self.notifier = notifier
        settings.on_bird_response = self.on_bird_response
        # The last observation of Bird: a targeted reconcile reads only the workspaces it needs.
        self.world_cache = engine.WorldCache()
        # The spec files as last parsed: an edit parses only the files it changed.
        self.parsed = ParseCache()
        self._ids_known: tuple[Any, dict[str, set[str]]] | None = None  # (records, their id index)
        self._signing: tuple[SpecView | None, SigningIndex] | None = None  # (the view, its subscriptions indexed)
        # Resource address -> Ready / Waiting / Failed, as the plans last saw it (the gauges count these).
        self.conditions: dict[str, str] = {}
        # Where the Bird ids of webhooks live (workspace, receiving number), read from the state.
        self.directory = Directory(self.load_places, changes=lambda: StateStore.records_changed)
        # Verified deliveries waiting for the receiver's next inbox transaction, and whether one runs.
        self._arrivals: list[tuple[Verdict, asyncio.Future[bool]]] = []
        self._receiving: set[asyncio.Task[None]] = set()
        # The clock deliveries' timestamps are checked against (tests move it with the emulator's).
        self.clock: Callable[[], float] = time.time
        # For the status page: the last reconciles and notifications, and its view of the estate.
        self.reconcile_log: deque[dict[str, Any]] = deque(maxlen=UI_HISTORY)
        self.notification_log: deque[dict[str, Any]] = deque(maxlen=UI_HISTORY)
        self._estate: tuple[Any, float, Any] | None = None  # (what it was built from, when, the Estate)
        self._estate_lock = threading.Lock()
        self._estate_generation = 0  # moves on after each reconcile: the estate is built again
        self.ui_used = False

    # --- specs -------------------------------------------------------------------------------------
    def environ(self) -> Mapping[str, str] | None:
        return self.settings.environ

    async def reload_specs(self, why: str, loaded: Preloaded | None = None) -> bool:
        """Load the spec files (or take `loaded`, read from the same files); keep the set in force when they
        are invalid. True when the set changed."""
        try:
            view = loaded.view() if loaded is not None else None
            if view is None:
                view = await asyncio.to_thread(load_view, self.options.paths, self.environ(), self.parsed)
        except SpecsRejected as exc:
            self.spec_errors = exc.errors
            self.metrics.spec_loads.labels("invalid").inc()
            self.metrics.specs_valid.set(0)
            kept = f"; the last valid specs ({self.view.documents} documents) stay in force" if self.view else ""
            event("specs.invalid", f"the spec files are invalid ({why}){kept}; nothing changes on Bird",
                  logging.ERROR, errors=exc.errors[:50], error_count=len(exc.errors))
            return False
        self.spec_errors = []
        self.metrics.spec_loads.labels("valid").inc()
        self.metrics.specs_valid.set(1)
        changed = self.view is None or view.fingerprint != self.view.fingerprint
        self.view = view
        if changed:
            event("specs.loaded", f"specs loaded ({why})", documents=view.documents,
                  resources=len(view.desired), fingerprint=view.fingerprint[:12])
        if changed and self.role != "receiver":  # (the daemon itself gives this advice, once)
            for problem in view.secret_problems:
                event("specs.secret_missing", f"cannot verify webhooks for {problem}", logging.WARNING)
            missing = missing_status_events(view)
            if missing:
                event("specs.no_status_webhooks", "no WebhookSubscription asks for " + ", ".join(missing) +
                      f" at {self.webhook_url()}: approvals are noticed by scheduled re-checks only",
                      logging.WARNING)
            if missing_traffic_event(view):
                event("specs.no_outbound_webhooks", "no WebhookSubscription asks for sms.outbound: the daemon counts "
                      "no outbound SMS, so every approved campaign reads as a ghost after 60 days (add one per "
                      "workspace, or per channel)", logging.WARNING)
        return changed

    async def watch_specs(self) -> None:
        """Watch until stopped; a watcher that fails (a directory removed and recreated) starts again."""
        while not self.stopping.is_set():
            try:
                await self._watch_specs()
            except Exception as exc:
                event("specs.watch_error", f"watching the spec files failed: {exc}; watching again in "
                      f"{WATCH_RETRY_SECONDS:.0f} s (the periodic resync reloads them too)", logging.WARNING)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.stopping.wait(), WATCH_RETRY_SECONDS)

    async def _watch_specs(self) -> None:
        from watchfiles import awatch

        roots, files = watch_targets(self.options.paths)

        def wanted(_change: Any, path: str) -> bool:
            p = Path(path)
            return p in files or (p.suffix in (".yaml", ".yml") and any(p.is_relative_to(r) for r in roots))

        async for changes in awatch(*(sorted({str(r) for r in roots} | {str(f.parent) for f in files})),
                                    watch_filter=wanted, debounce=self.options.debounce_ms, step=50,
                                    stop_event=self.stopping, recursive=True, ignore_permission_denied=True,
                                    rust_timeout=WATCH_POLL_MS):
            names = sorted({Path(p).name for _, p in changes})
            settled = await self.settled(names)
            if settled is None:
                return
            previous = self.view
            if await self.reload_specs("changed: " + ", ".join(names[:10]), settled) and self.role == "leader":
                self.enqueue_edit(previous, self.view)

    async def settled(self, names: list[str]) -> Preloaded | None:
        """Wait until the spec tree has not changed for a settle window, or until its files are exactly a
        git commit's (None: the daemon is stopping). A file written in two steps is read once, whole.

        The files are read and expanded meanwhile, in a thread: nothing acts on them before the window
        ends, and what was read is used only if the tree was the same before that read as at the window's
        end (else the caller reads them again). Reading 10,000 numbers' specs took 0.4 s after the window."""
        before = await asyncio.to_thread(tree_snapshot, self.options.paths)
        preload: asyncio.Task[Preloaded] | None = None

        def read_ahead() -> None:
            nonlocal preload
            if preload is None:
                preload = asyncio.create_task(asyncio.to_thread(self.preload_specs))

        try:
            while True:
                shortcut = ", or as soon as they are a git commit's" if self.options.act_on_commit else ""
                event("specs.settling", f"spec files changed ({', '.join(names[:10])}); acting once they are "
                      f"unchanged for {self.options.settle:g} s{shortcut}", settle=self.options.settle)
                commit = await self.until_settled(before, read_ahead)
                if self.stopping.is_set():
                    return None
                now = await asyncio.to_thread(tree_snapshot, self.options.paths)
                if now == before:
                    if commit:
                        event("specs.settled", f"spec files are those of git commit {commit}: reading them",
                              commit=commit)
                    else:
                        event("specs.settled", f"spec files unchanged for {self.options.settle:g} s: reading them")
                    loaded = await (preload or asyncio.to_thread(self.preload_specs))
                    return loaded if loaded.snapshot == now else Preloaded(now)  # read before the last write
                before = now
                if preload is not None:
                    preload.cancel()
                    preload = None
        finally:
            if preload is not None:
                preload.cancel()  # (a thread runs to its end; its result is dropped)

    async def until_settled(self, snapshot: Snapshot, read_ahead: Callable[[], None]) -> str | None:
        """Wait out the settle window from the snapshot's newest file, or less when the files are exactly
        those of a git commit (a pull, a checkout): then that commit is returned. Returns early when the
        daemon stops. `read_ahead` starts reading the files; in a git work tree only after a moment spent
        asking git alone (a pull's index and HEAD land just after its files, and the read competes with
        the asking for this process)."""
        started = time.monotonic()
        end = started + settle_wait(snapshot, self.clock(), self.options.settle)
        asking = self.options.act_on_commit
        while not self.stopping.is_set():
            if asking:
                found = await asyncio.to_thread(committed_tree, self.options.paths, snapshot)
                if found.commit:
                    return found.commit
                asking = found.worth_asking
            now = time.monotonic()
            if self.role != "receiver" and (not asking or now - started >= COMMIT_GRACE_SECONDS):
                read_ahead()  # (a receiver reads once the window ends: see receivers.py)
            if now >= end:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), min(end - now, COMMIT_POLL_SECONDS) if asking else end - now)
        return None

    def preload_specs(self) -> Preloaded:
        snapshot = tree_snapshot(self.options.paths)
        try:
            loaded = Preloaded(snapshot, load_view(self.options.paths, self.environ(), self.parsed))
        except SpecsRejected as exc:
            loaded = Preloaded(snapshot, rejected=exc)
        event("specs.read_ahead", "spec files read while settling: used only if unchanged when the window ends",
              valid=loaded.rejected is None)
        return loaded

    def enqueue_edit(self, previous: SpecView | None, view: SpecView | None) -> None:
        """A spec edit reconciles what it added or changed (a targeted reconcile: only their workspaces are
        read). A removal, or a changed annotation (pause, ignore-drift), reconciles everything: forgetting
        and archiving are only planned with the whole of Bird in view."""
        changed, removed = spec_edit(previous.desired, view.desired) if previous and view else (set(), set())
        notes_moved = previous is None or view is None or annotations(previous) != annotations(view)
        if removed and previous is not None:
            # What a user may lose (forget, unassign, archive) waits one more settle window, and says which
            # file drove it and how it changed: a file caught mid-write shows as a shrunken file.
            event("specs.removals", f"the spec files no longer declare {len(removed)} resource(s); the full "
                  f"reconcile that removes them waits {self.options.settle:g} s more and reads the files again",
                  logging.WARNING, addresses=sorted(removed)[:LOGGED_ADDRESSES], files=removal_files(previous, removed))
            self.enqueue(FULL, self.options.settle, "the spec files no longer declare some resources")
            return
        if removed or notes_moved or not changed:
            self.enqueue(FULL, 0, "the spec files changed")
            return
        for address in sorted(changed):
            self.enqueue(address, 0, "the spec files changed")

    # --- leadership ----------------------------------------------------------------------------------
    async def lead_or_stand_by(self) -> None:
        """Each round: take or give up organizations (their leases) and act on what changed. A replica that
        holds at least one organization is a "leader" (of those); one that holds none stands by."""
        while not self.stopping.is_set():
            try:
                self.share_out()
                owned = await asyncio.to_thread(self.leadership.balance)
                self.took(owned)
            except Exception as exc:
                if self.role == "leader" and not await asyncio.to_thread(self.leadership.still_leader):
                    self.step_down(f"cannot confirm leadership: {exc}")
                event("leader.error", f"leader election failed: {exc}; retrying", logging.WARNING)
            self.lease_lost.clear()
            poll = jittered(self.options.leader_poll, 0.25, self.rng)
            lapse = self.leadership.next_expiry
            if lapse is not None:
                # A dead replica's leases are taken the moment they lapse, not up to a poll later.
                poll = min(poll, lapse + EXPIRY_SLACK_SECONDS)
            waiters = [asyncio.ensure_future(self.stopping.wait()), asyncio.ensure_future(self.lease_lost.wait())]
            try:
                await asyncio.wait(waiters, timeout=poll, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiter in waiters:
                    waiter.cancel()

    def share_out(self) -> None:
        """Tell the leadership which organizations there are to divide (the specs in force)."""
        view = self.view
        if view is not None:
            self.leadership.set_shards([d.name for d in view.specs.of_kind("Organization")],
                                       {d.address: d.organization for d in view.desired})

    def took(self, owned: set[str]) -> None:
        gained, lost = owned - self.owned, self.owned - owned
        self.owned = owned
        self.metrics.owned(owned, getattr(self.leadership, "holder", self.identity))
        if lost:
            event("shards.released", f"gave up {len(lost)} organization(s)", organizations=sorted(lost)[:50])
        if not owned:
            if self.role == "leader":
                self.step_down("the lease was lost (not renewed in time, or another replica holds a newer epoch)")
            elif self.role != "standby":
                self.role = "standby"
                event("leader.standby", "standing by: other replicas hold every organization's lease")
            return
        if self.role != "leader":
            self.become_leader()
        elif gained:
            # Only what was taken over: the others' reconciles are not repeated, so a takeover costs as much
            # as the organizations it moves.
            for name in sorted(gained):
                self.enqueue(ORG_KEY + name, 0, "took the organization over")
        if gained:
            event("shards.acquired", f"now reconciling {len(owned)} organization(s)", gained=sorted(gained)[:50],
                  owned=len(owned))

    def owned_organizations(self) -> set[str] | None:
        """The organizations this replica reconciles: None for all of them (it holds the whole state)."""
        if lease.ALL in self.owned:
            return None
        return set(self.owned)

    def drains_inbox(self) -> bool:
        """One replica drains the inbox (routes inbound messages, marks events handled): the holder of the
        first organization, or of the whole state. The others watch it for the status events of theirs."""
        if self.role != "leader":
            return False
        if lease.ALL in self.owned or self.view is None:
            return lease.ALL in self.owned
        names = sorted(d.name for d in self.view.specs.of_kind("Organization"))
        return bool(names) and names[0] in self.owned

    def become_leader(self) -> None:
        self.role = "leader"
        self.metrics.leader.set(1)
        epoch = getattr(self.leadership, "epoch", lambda: None)()
        event("leader.acquired", "this daemon is now the leader", identity=self.identity, epoch=epoch)
        self.enqueue(FULL, 0, "became the leader")
        self.inbox_poke.set()

    def step_down(self, why: str) -> None:
        self.role = "standby"
        self.metrics.leader.set(0)
        self.queue.entries.clear()
        for unit in list(self._units):
            # Another daemon may lead now: stop acting. Open journal entries are resolved by re-reading Bird.
            unit.cancel()
        self.metrics.queue_depth.set(0)
        event("leader.lost", f"no longer the leader: {why}", logging.WARNING, identity=self.identity)

    # --- the work queue ------------------------------------------------------------------------------
    def enqueue(self, key: str, delay: float, reason: str, slack: float = 0.0) -> None:
        self.queue.add(key, time.monotonic() + delay, reason, slack)
        self.metrics.queue_depth.set(len(self.queue))
        self.wake.set()

    async def work(self) -> None:
        """Start the due work: the queued resources (or FULL) in one reconcile at a time, and organizations
        taken over in reconciles of their own beside it (start_due_work)."""
        while not self.stopping.is_set():
            due = self.next_work_due() if self.role == "leader" else None
            timeout = None if due is None else max(0.0, due - time.monotonic())
            self.wake.clear()
            waiters = [asyncio.ensure_future(self.wake.wait()), asyncio.ensure_future(self.stopping.wait())]
            try:
                await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for w in waiters:
                    w.cancel()
            if self.stopping.is_set() or self.role != "leader":
                continue
            self.start_due_work(time.monotonic())
            self.metrics.queue_depth.set(len(self.queue))

    def next_work_due(self) -> float | None:
        if self._in_flight is None:
            return self.queue.next_due(self.startable)
        return self.queue.next_due(self.startable_takeover)

    def claimed(self) -> set[str] | None:
        """The organizations the running reconciles claimed (None: one of them claimed every one)."""
        out: set[str] = set()
        for orgs in self._units.values():
            if orgs is None:
                return None
            out |= orgs
        return out

    def startable(self, key: str) -> bool:
        return not key.startswith(ORG_KEY) or self.startable_takeover(key)

    def startable_takeover(self, key: str) -> bool:
        """An organization taken over starts in a unit of its own unless another reconcile has claimed it
        (it waits for that one) or TAKEOVER_UNITS run already."""
        if not key.startswith(ORG_KEY) or sum(1 for u in self._units if u is not self._in_flight) >= TAKEOVER_UNITS:
            return False
        claimed = self.claimed()
        return claimed is not None and key.removeprefix(ORG_KEY) not in claimed

    def start_due_work(self, now: float) -> None:
        if self._in_flight is None:
            batch = self.queue.pop_due(now, where=lambda k: not k.startswith(ORG_KEY))
            if batch:
                claim = self.owned_organizations()
                if claim is not None:
                    claim -= self.claimed() or set()
                if FULL in batch:  # a full reconcile covers the organizations it claims, taken over or not
                    for name in claim if claim is not None else set():
                        self.queue.discard(ORG_KEY + name)
                self._in_flight = self.start_unit(batch, claim)
        takeovers = self.queue.pop_due(now, where=self.startable_takeover)
        if takeovers:
            self.start_unit(takeovers, {k.removeprefix(ORG_KEY) for k in takeovers})

    def start_unit(self, batch: dict[str, str], claim: set[str] | None) -> asyncio.Task[Any]:
        unit = asyncio.ensure_future(self.reconcile(batch, claim))
        self._units[unit] = claim
        unit.add_done_callback(self.unit_done)
        return unit

    def unit_done(self, unit: asyncio.Task[Any]) -> None:
        self._units.pop(unit, None)
        if unit is self._in_flight:
            self._in_flight = None
        if not unit.cancelled() and unit.exception() is not None:
            event("reconcile.error", f"reconcile failed: {unit.exception()}", logging.ERROR)
        self.wake.set()  # what waited for this unit's organizations may start now

    async def reconcile(self, batch: dict[str, str], claim: set[str] | None = None) -> None:
        """Reconcile `batch`, within the organizations `claim`ed for it (None: every one this replica holds)."""
        view = self.view
        if view is None:
            return  # no valid specs yet: nothing may be done; a valid edit queues a full reconcile
        full = FULL in batch
        if full:
            # A missed file event or a changed secret ({fromFile}/environment) is picked up here; a file
            # written within the settle window is the watcher's to read once it is whole.
            snapshot = await asyncio.to_thread(tree_snapshot, self.options.paths)
            if not changed_within(snapshot, self.clock(), self.options.settle):
                await self.reload_specs("full reconcile")
            view = self.view or view
        taken_over = {k.removeprefix(ORG_KEY) for k in batch if k.startswith(ORG_KEY)}
        whole = full or bool(taken_over)  # every resource of some organizations (all of them when full)
        scope = "full" if full else ("organizations" if taken_over else "targeted")
        keys = [FULL] if full else sorted(batch)
        organization = {d.address: d.organization for d in view.desired}
        covered = None if whole else dependents(view.desired, keys)
        mine = self.owned_organizations()
        if claim is not None:
            mine = claim if mine is None else mine & claim
        orgs: tuple[str, ...] = ()
        if taken_over and not full:
            # The organizations just taken over, and those of the addresses queued beside them.
            wanted = taken_over | {organization[k] for k in batch if k in organization}
            mine = (mine if mine is not None else {d.name for d in view.specs.of_kind("Organization")}) & wanted
        if mine is not None:
            declared = {d.name for d in view.specs.of_kind("Organization")}
            mine &= declared
            if not mine:
                # None of the organizations this replica holds is declared (the specs changed), or every one
                # is in a takeover reconcile now: the periodic resync stays scheduled.
                if full:
                    self.queue.add(FULL, time.monotonic() + jittered(self.options.resync, RESYNC_JITTER, self.rng),
                                   "periodic resync")
                return
            if mine != declared:
                orgs = tuple(sorted(mine))  # only these: nothing of the others is changed, forgotten or archived
            if covered is not None:
                covered = {a for a in covered if organization.get(a) in mine}
                if not covered:
                    return
        only = None if covered is None else (lambda c: c.address in covered)
        reasons = sorted(set(batch.values()))
        event("reconcile.start", f"{scope} reconcile", scope=scope, reasons=reasons[:10],
              addresses=None if covered is None else sorted(covered)[:LOGGED_ADDRESSES],
              resources=None if covered is None else len(covered))
        started = time.monotonic()
        outcome_label = "ok"
        summary: dict[str, Any] = {}
        before = await self.conditions_before()
        owned_at_start = set(self.owned)
        try:
            # Fenced: every intent checks this replica's lease epoch, every Bird write its local deadline.
            fenced = dataclasses.replace(self.settings, fence=self.leadership.write_fence,
                                         orgs=orgs if whole else self.settings.orgs)
            outcome = await engine.apply(self.options.paths, fenced, specs=view.specs, only=only,
                                         allow_archive=self.options.allow_archive, on_result=self.on_result,
                                         owner="senderctl daemon", on_plan=self.planned(scope, started),
                                         scope=None if covered is None else frozenset(covered),
                                         cache=self.world_cache,
                                         expanded=engine.Expanded(view.specs, view.desired, view.fingerprint))
        except engine.Refused as exc:
            if self.owned != owned_at_start:
                # Organizations moved between replicas while this plan was made: it may have seen another
                # replica's purchase before that replica recorded it. Plan again with the organizations held now.
                outcome_label = "moved"
                for key in keys:
                    self.enqueue(key, 1.0, "organizations moved between replicas mid-reconcile")
                event("reconcile.replan", f"{exc}; organizations moved between replicas while planning: planning "
                      "again", logging.WARNING, scope=scope)
            else:
                outcome_label = "refused"
                event("reconcile.refused", f"{exc}; the daemon does not act until the specs (or --allow-archive) "
                      "make this safe", logging.ERROR, scope=scope)
                self.notify({"type": "plan.refused", "reason": str(exc)})
        except LeaseLost as exc:
            outcome_label = "fenced"
            event("reconcile.fenced", f"{exc}", logging.WARNING, scope=scope, identity=self.identity)
            self.lease_lost.set()  # the leadership loop rebalances now rather than at its next poll
            self.enqueue(FULL, 1.0, "a lease was lost mid-reconcile: reconcile the organizations still held")
        except StateLocked as exc:
            outcome_label = "locked"
            for key in keys:
                self.queue.failed(key, time.monotonic(), "the state is locked")
            event("reconcile.locked", f"{exc}; retrying later", logging.WARNING, scope=scope)
        except Exception as exc:
            outcome_label = "error"
            for key in keys:
                self.queue.failed(key, time.monotonic(), str(exc)[:200])
            event("reconcile.error", f"reconcile failed: {exc}; retrying with backoff", logging.ERROR,
                  scope=scope, error_type=type(exc).__name__)
        else:
            outcome_label, summary = self.after_apply(outcome, keys)
            self.notify_changes(before, outcome)
        finally:
            self.directory.forget()  # the reconcile may have saved channels: their ids are looked up afresh
            elapsed = time.monotonic() - started
            self.metrics.reconcile_duration.labels(scope, outcome_label).observe(elapsed)
            self.metrics.reconciles.labels(scope, outcome_label).inc()
            # This reconcile's own (another may finish while this one bills, and take last_reconcile over).
            finished = {"scope": scope, "outcome": outcome_label, "seconds": round(elapsed, 3),
                        "finished": utcnow().isoformat(timespec="seconds"), **summary}
            self.last_reconcile = finished
            if full:
                resync = jittered(self.options.resync, RESYNC_JITTER, self.rng)
                self.queue.add(FULL, time.monotonic() + resync, "periodic resync")
                await self.bill_previous_week()
                await self.count_abandoned()
            self.metrics.queue_depth.set(len(self.queue))
            if len(self._units) <= 1:
                self._calls.clear()
            self.reconcile_log.appendleft(dict(finished))
            self._estate_generation += 1
            if self.ui_used:  # someone looks at the page: have it ready before they reload
                asyncio.get_running_loop().run_in_executor(None, self.estate)
        event("reconcile.done", f"{scope} reconcile {outcome_label} in {elapsed:.2f} s", **finished)

    def planned(self, scope: str, started: float) -> Any:
        """engine.apply's on_plan hook: how long observing and planning took, and how much was read."""
        def log_plan(computed: engine.Computed) -> None:
            plan = computed.plan
            event("reconcile.planned", f"{scope} plan computed", scope=scope,
                  seconds=round(time.monotonic() - started, 3), workspaces_read=workspaces_read(computed.world),
                  changes=len(plan.changes), out_of_scope=len(plan.out_of_scope))
        return log_plan

    async def bill_previous_week(self) -> None:
        """Seed 000: numbers are billed weekly. Each full reconcile bills the week just ended;
        billing writes a week's rows once, however often it runs (unique per number and week)."""
        week = tenant.previous_week(utcnow())
        try:
            result = await asyncio.to_thread(tenant.run_billing, self.store, week)
        except Exception as exc:
            event("billing.error", f"billing {week} failed: {exc}; retried at the next resync", logging.ERROR,
                  week=week, error_type=type(exc).__name__)
            return
        if result.written:
            event("billing.run", f"billed {result.written} numbers for {week}", week=week, written=result.written)

    async def count_abandoned(self) -> None:
        """The deliveries Bird gave up on (its subscription logs), for the metric and a warning."""
        from controller.operations.undelivered import abandoned_deliveries

        try:
            records = await asyncio.to_thread(self.store.records)
            async with engine.bird_client(self.settings) as client:
                found = await abandoned_deliveries(client, records)
        except Exception as exc:
            event("webhooks.logs_error", f"cannot read Bird's webhook logs: {exc}; read again at the next resync",
                  logging.WARNING, error_type=type(exc).__name__)
            return
        self.metrics.webhooks_abandoned.set(len(found))
        if found:
            event("webhooks.abandoned", f"Bird gave up on {len(found)} delivery(ies) to this receiver: `senderctl "
                  "webhooks failed` lists them", logging.WARNING, request_ids=[a.request_id for a in found[:20]])

    def after_apply(self, outcome: engine.ApplyOutcome, keys: list[str]) -> tuple[str, dict[str, Any]]:
        failed = {r.change.address: r.error or "" for r in outcome.report.results if not r.ok}
        now = time.monotonic()
        for address, error in failed.items():
            delay = self.queue.failed(address, now, error)
            event("resource.backoff", f"{address} failed; retrying in {delay:.0f} s", logging.WARNING,
                  address=address, retry_in=round(delay, 1))
        for r in outcome.report.results:
            if r.ok:
                self.queue.succeeded(r.change.address)
        if not failed:
            for key in keys:
                self.queue.succeeded(key)
            self.metrics.last_success.set(time.time())
        final = outcome.final.plan if outcome.final else outcome.first_plan
        self.schedule_rechecks(final)
        self.count_conditions(final)
        if outcome.final is not None:
            self.gauge_throughput(outcome.final)
            if not outcome.final.plan.scope:  # 60 days move slowly: the full resyncs keep the gauges current
                self.gauge_ghosts(outcome.final)
        summary = {"changes": len(outcome.report.results), "failed": sorted(failed)[:20],
                   "waiting": {w.address: w.reason for w in final.waiting[:20]},
                   "pending": sorted(c.address for c in final.changes)[:20]}
        return ("failed" if failed else "ok"), summary

    # --- notifications (--notify) ---------------------------------------------------------------------
    async def conditions_before(self) -> dict[str, Any]:
        if self.notifier is None:
            return {}
        try:
            return await asyncio.to_thread(self.store.conditions)
        except Exception:  # the reconcile will report the state's problem itself
            return {}

    def notify(self, item: dict[str, Any]) -> None:
        self.notification_log.appendleft({**item, "at": utcnow().isoformat(timespec="seconds")})
        if self.notifier is not None:
            self.notifier.publish(item)

    # --- the status page (/ui) -----------------------------------------------------------------------
    def estate(self) -> Any:
        """The status page's view of the estate (controller.statuspage), built from the specs in force, the
        state and the last observation of Bird; built again after a reconcile, or when older than
        ESTATE_MAX_AGE_SECONDS. Runs in a worker thread."""
        from controller.state.estate import read_estate
        from controller.statuspage.model import build_estate

        self.ui_used = True
        with self._estate_lock:
            basis = (self.view, self._estate_generation, self.world_cache.world)
            cached = self._estate
            if cached is not None and all(a is b for a, b in zip(cached[0], basis, strict=True)) \
                    and time.monotonic() - cached[1] < ESTATE_MAX_AGE_SECONDS:
                return cached[2]
            view = self.view
            estate = build_estate(view.desired if view else [], view.specs if view else None, read_estate(self.store),
                                  self.world_cache.world, utcnow())
            self._estate = (basis, time.monotonic(), estate)
            return estate

    def reconciles(self) -> list[dict[str, Any]]:
        return list(self.reconcile_log)

    def notifications(self) -> list[dict[str, Any]]:
        return list(self.notification_log)

    def notify_changes(self, before: Mapping[str, Any], outcome: engine.ApplyOutcome) -> None:
        if self.notifier is None:
            return
        drift = drift_event(outcome.first_plan)
        if drift:
            self.notify(drift)
        final = outcome.final
        for item in condition_events(before, final.plan if final else outcome.first_plan,
                                     final.world if final else None):
            self.notify(item)

    def schedule_rechecks(self, plan: Plan) -> None:
        # A targeted plan speaks only for its scope: what waits elsewhere still waits.
        self.waiting = kept_elsewhere(self.waiting, plan) | {w.address for w in plan.waiting}
        for w in plan.waiting:
            delay = jittered(w.recheck_after, RECHECK_JITTER, self.rng)
            self.queue.add(w.address, time.monotonic() + delay, f"re-check: {w.reason}",
                           slack=w.recheck_after * RECHECK_JITTER * 2)

    def gauge_throughput(self, computed: engine.Computed) -> None:
        """/metrics: what each brand and campaign may send, by the carriers' published tiers."""
        from controller.reconcile.throughput_view import expected_throughput

        for address, expected in expected_throughput(computed.desired, computed.world).items():
            self.metrics.tmobile_daily_cap.labels(address).set(expected.daily)
            if expected.tpm is not None:
                self.metrics.att_tpm.labels(address, expected.att_class).set(expected.tpm)

    def gauge_ghosts(self, computed: engine.Computed) -> None:
        """/metrics: each campaign's ghost flag and last counted outbound SMS, at a full reconcile."""
        from controller.reconcile.ghost_view import campaign_silences
        from controller.state.traffic import channel_traffic

        try:
            traffic = channel_traffic(self.store.engine)
        except Exception as exc:  # the gauges wait for the next reconcile; nothing else depends on them
            event("metrics.ghosts", f"cannot read the counted outbound traffic: {exc}", logging.WARNING)
            return
        organization = {d.address: d.organization for d in computed.desired}
        for address, silence in campaign_silences(computed.desired, computed.world, traffic).items():
            labels = (organization.get(address, ""), address.split("/", 1)[1])
            self.metrics.campaign_ghost.labels(*labels).set(1 if silence.ghost else 0)
            if silence.last_outbound is not None:
                self.metrics.campaign_last_outbound.labels(*labels).set(silence.last_outbound.timestamp())

    def count_conditions(self, plan: Plan) -> None:
        waiting = {w.address for w in plan.waiting}
        failed = {f.address for f in plan.failed}
        ready = set(plan.ready) - waiting - failed
        # A targeted plan updates its scope's conditions; a full one replaces them all.
        kept = kept_elsewhere(self.conditions, plan)
        self.conditions = {a: c for a, c in self.conditions.items() if a in kept}
        self.conditions.update({a: "Ready" for a in ready} | {a: "Waiting" for a in waiting}
                               | {a: "Failed" for a in failed})
        counts = Counter(self.conditions.values())
        for name in ("Ready", "Waiting", "Failed"):
            self.metrics.resources.labels(name).set(counts[name])
        if not plan.scope:
            self.metrics.paused.set(len(plan.paused))

    # --- Bird calls and change results (for logs and metrics) ---------------------------------------
    def on_bird_response(self, method: str, route: str, status: int | None, request_id: str | None) -> None:
        self.metrics.bird_response(method, route, status, request_id)
        if method != "GET":
            task = _current_task()
            self._calls.setdefault(task, []).append(
                {"method": method, "route": route, "status": status, "request_id": request_id})

    def on_result(self, result: ChangeResult) -> None:
        calls = self._calls.pop(_current_task(), [])
        change: Change = result.change
        ok = result.ok
        self.metrics.changes.labels(change.action, "ok" if ok else "failed").inc()
        request_ids = [c["request_id"] for c in calls if c["request_id"]]
        event("change.applied" if ok else "change.failed",
              f"{change.action} {change.address}" + ("" if ok else f": {result.error}"),
              logging.INFO if ok else logging.ERROR, address=change.address, action=change.action,
              reason=change.reason, bird_request_id=request_ids[-1] if request_ids else None,
              bird_calls=calls or None)

    # --- webhooks ------------------------------------------------------------------------------------
    def webhook_url(self) -> str:
        return self.options.webhook_url(self.listen_port)

    def subscriptions(self) -> SigningIndex:
        """The specs' subscriptions whose signing key is readable (the keys deliveries are verified with),
        indexed once per spec set in force."""
        view = self.view
        if self._signing is None or self._signing[0] is not view:
            self._signing = (view, SigningIndex(view.subscriptions if view is not None else ()))
        return self._signing[1]

    # --- where a webhook's ids live ------------------------------------------------------------------
    def load_places(self) -> dict[str, Place]:
        """The directory's map, read from the state (a worker thread's job)."""
        records, api_channels = webhook_places(self.store)
        workspace_ids = self.view.workspace_ids if self.view is not None else {}
        return places(records, [(channel, connector, number, workspace_ids.get(workspace or "", workspace or ""))
                                for channel, connector, number, workspace in api_channels])

    def place_of(self, ids: list[str]) -> str | None:
        """The workspace that these Bird ids belong to, as the directory holds it now (no read), or None."""
        return workspace_of(self.directory.peek(ids)) if ids else None

    async def locate(self, verdict: Verdict) -> tuple[str | None, dict[str, str]]:
        """(the Bird workspace the event is about, or None when the state does not know its ids; the channel
        ids of the Channel records its signers' filters name). Reads the state only when something is
        missing from the directory and its last read is older than its refresh interval."""
        ids = ids_named(verdict)
        place = self.directory.peek(ids)
        if place is None and ids and self.directory.stale():
            await asyncio.to_thread(self.directory.refresh)
            place = self.directory.peek(ids)
        workspace_id = workspace_of(place)
        # Only the signers that could speak for that workspace matter (scope() keeps to them).
        names = sorted({f"Channel/{phone}" for s in verdict.signers_in(workspace_id) for _, value, phone in s.filters
                        if phone and not value})

        def look() -> dict[str, str]:
            return {n: p.channel_id for n in names if (p := self.directory.peek([n])) is not None}

        channels = look()
        if len(channels) < len(names) and self.directory.stale():
            await asyncio.to_thread(self.directory.refresh)
            channels = look()
        return workspace_id, channels

    async def accept(self, verdict: Verdict) -> str:
        """Record a verified event for the leader: 'accepted', or 'replay' for a delivery kept before (the
        same request id, or the same signed timestamp and body under another request id or none).

        Deliveries arriving together are written in one transaction (group commit): while one transaction
        runs, the next batch gathers, so a busy receiver makes fewer, larger commits and an idle one answers
        at once. A delivery is answered only after its transaction committed."""
        arrived: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._arrivals.append((verdict, arrived))
        # Only receivers still running count: one that has just returned is discarded by a callback that runs
        # later, and counted it would leave this delivery waiting for no one.
        if sum(not task.done() for task in self._receiving) < (1 if self.records_on_loop else RECEIVERS):
            task = asyncio.create_task(self.receive(), name="receive")
            self._receiving.add(task)
            task.add_done_callback(self._receiving.discard)
        try:
            fresh = await asyncio.shield(arrived)
        except Exception as exc:
            raise Unavailable(f"the state database cannot record the webhook: {exc}") from None
        return "accepted" if fresh else "replay"

    async def receive(self) -> None:
        while self._arrivals:
            batch, self._arrivals = self._arrivals[:RECEIVE_BATCH], self._arrivals[RECEIVE_BATCH:]
            deliveries = [Delivery(v.request_id, v.digest, v.event, v.document) for v, _ in batch]
            try:
                kept = await self.record(deliveries)
            except Exception as exc:
                for _, arrived in batch:
                    if not arrived.done():
                        arrived.set_exception(exc)
                continue
            for (_, arrived), fresh in zip(batch, kept, strict=True):
                if not arrived.done():
                    arrived.set_result(fresh)
            log_received([v for v, _ in batch], kept, role=self.role)
            if any(kept):
                self.inbox_filled()
                if self.on_recorded is not None:
                    self.on_recorded()

    def inbox_filled(self) -> None:
        """Deliveries were recorded (here, or by a webhook receiving process): the leader drains at once."""
        if self.role == "leader":
            self.inbox_poke.set()

    async def record(self, deliveries: list[Delivery]) -> list[bool]:
        if self.records_on_loop:
            return record_webhooks(self.store, deliveries, received_by=self.identity, at=utcnow())
        return await asyncio.to_thread(record_webhooks, self.store, deliveries, received_by=self.identity, at=utcnow())

    async def drain_inbox(self) -> None:
        last_prune = 0.0
        while not self.stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.inbox_poke.wait(), INBOX_POLL_SECONDS)
            # Let the webhooks arriving right behind this one join its batch: a batch costs the same hops
            # to a worker thread and transactions however many events it holds.
            await asyncio.sleep(INBOX_GATHER_SECONDS)
            self.inbox_poke.clear()
            if self.role != "leader" or self.stopping.is_set():
                continue
            if not self.drains_inbox():
                await self.watch_inbox()
                continue
            try:
                # One hop to a worker thread reads the batch, routes its inbound messages and marks them
                # handled in one transaction; the other events queue reconciles here and are marked
                # together after. A crash before a mark re-handles those events, which is harmless
                # (routing is idempotent per message id; a status event only queues a reconcile).
                batch, routed = await asyncio.to_thread(self.take_batch)
                if len(batch) >= INBOX_BATCH:
                    self.inbox_poke.set()  # more are waiting: drain again at once
                handled: list[tuple[int, str]] = []
                for item in batch:
                    if item.id in routed:
                        continue
                    try:
                        outcome = await self.handle(item)
                    except Exception as exc:  # one bad event must not block the ones behind it
                        outcome = self.failed(item, exc)
                    handled.append((item.id, outcome))
                await asyncio.to_thread(mark_webhooks_handled, self.store, handled, at=utcnow())
                if time.monotonic() - last_prune > PRUNE_EVERY_SECONDS:
                    last_prune = time.monotonic()
                    await asyncio.to_thread(prune_webhooks, self.store, handled_before=utcnow() - INBOX_RETENTION)
            except Exception as exc:
                event("inbox.error", f"cannot read the webhook inbox: {exc}; retrying", logging.WARNING)

    async def watch_inbox(self) -> None:
        """A replica that does not drain the inbox reads the status events that arrived since it last
        looked (handled or not: the drainer may have marked them already) and queues what they touch;
        its reconciles keep to its own organizations. Where it starts, a full reconcile of what it
        took over already covers everything older."""
        try:
            if self.inbox_cursor is None:
                self.inbox_cursor = await asyncio.to_thread(newest_webhook_id, self.store)
                return
            events = await asyncio.to_thread(webhooks_since, self.store, self.inbox_cursor, INBOX_BATCH)
        except Exception as exc:
            event("inbox.error", f"cannot read the webhook inbox: {exc}; retrying", logging.WARNING)
            return
        for item in events:
            self.inbox_cursor = max(self.inbox_cursor, item.id)
            if item.event in EVENT_KINDS:
                with contextlib.suppress(Exception):
                    await self.handle(item)

    async def handle(self, item: WebhookEvent) -> str:
        if item.event in INBOUND_EVENTS:  # (a drained batch routes these in take_batch)
            return await asyncio.to_thread(self.route_one, item)
        if item.event not in EVENT_KINDS:
            event("webhook.ignored", f"{item.event}: senderctl does not act on this event",
                  webhook_event=item.event, bird_request_id=item.request_id)
            return f"ignored: senderctl does not act on {item.event}"
        view = self.view
        payload = item.body.get("payload") if isinstance(item.body.get("payload"), dict) else {}
        addresses = affected(item.event, payload, await self.ids_known(), view.desired if view else [])
        if addresses:
            addresses |= self.waiting
        for address in sorted(addresses):
            self.enqueue(address, 0, f"webhook {item.event} {item.request_id}")
        event("webhook.handled", f"{item.event}: reconciling {len(addresses)} resource(s) now",
              webhook_event=item.event, bird_request_id=item.request_id,
              addresses=sorted(addresses)[:LOGGED_ADDRESSES], received_by=item.received_by)
        return f"queued {len(addresses)} resource(s)"

    async def ids_known(self) -> dict[str, set[str]]:
        """Bird id -> addresses, from the records of the last observation (read from the state when there
        is none yet). A record newer than that observation is missing: its event then reconciles every
        resource of its kinds (see routing.affected), never none."""
        world = self.world_cache.world
        records = world.records if world is not None else await asyncio.to_thread(self.store.records)
        if self._ids_known is None or self._ids_known[0] is not records:
            self._ids_known = (records, id_index(records))
        return self._ids_known[1]

    def take_batch(self) -> tuple[list[WebhookEvent], dict[int, str]]:
        """The pending events; those that are inbound messages are routed and marked handled here, in one
        transaction. Returns the batch and the routed messages' outcomes by event id.

        A message that cannot be routed (not a message, no id) is marked failed and the rest go on; if
        the database refuses the batch, each message is routed in a transaction of its own, so the one
        it refuses does not hold back the others. What was routed is logged once committed."""
        batch = pending_webhooks(self.store, INBOX_BATCH)
        counted = self.count_outbound([item for item in batch if item.event in OUTBOUND_EVENTS])
        inbound = [item for item in batch if item.event in INBOUND_EVENTS]
        if not inbound:
            return batch, counted
        try:
            with self.store.transaction() as tx:
                done = self.route_batch(inbound, tx)
                mark_handled_in(tx, [(item.id, outcome) for item, (outcome, _) in done], at=utcnow())
        except DatabaseError:
            done = [(item, self.route_alone(item)) for item in inbound]
            mark_webhooks_handled(self.store, [(item.id, outcome) for item, (outcome, _) in done], at=utcnow())
        log_routed([log() for _item, (_, log) in done])
        return batch, {**counted, **{item.id: outcome for item, (outcome, _) in done}}

    def count_outbound(self, items: list[WebhookEvent]) -> dict[int, str]:
        """Count a drained batch's `sms.outbound` events per channel and mark them handled, in one
        transaction (a crash before the commit counts none of them, and they are drained again)."""
        if not items:
            return {}
        from controller.state.traffic import count_outbound

        outcomes, messages = {}, []
        for item in items:
            try:
                messages.append(outbound_of(item.body, item.received_at))
                outcomes[item.id] = "counted: outbound SMS on its channel"
            except ValueError as exc:  # one bad event must not block the ones behind it
                outcomes[item.id] = self.failed(item, exc)
        with self.store.connection_transaction() as tx:
            count_outbound(tx, messages)
            mark_handled_in(tx, sorted(outcomes.items()), at=utcnow())
        return outcomes

    def route_batch(self, items: list[WebhookEvent], tx: Any) -> list[tuple[WebhookEvent, tuple[str, Callable[[], None]]]]:
        """Route a drained batch's messages in `tx` with a few statements for all of them (route_many); a
        message that cannot be routed (no id, not a message) is marked failed and the rest go on."""
        from controller.tenant.inbound import Inbound, route_many

        done: dict[int, tuple[str, Callable[[], None]]] = {}
        messages: list[tuple[WebhookEvent, Inbound]] = []
        for item in items:
            try:
                messages.append((item, self.inbound_of(item)))
            except Exception as exc:  # one bad message must not block the ones behind it
                done[item.id] = f"failed: {exc}", lambda item=item, error=exc: self.failed(item, error)  # type: ignore[misc]
        for (item, _), result in zip(messages, route_many(tx, [m for _, m in messages]), strict=True):
            done[item.id] = f"{result.outcome}: {result.reason}", self.routed_log(item, result)
        return [(item, done[item.id]) for item in items]

    def inbound_of(self, item: WebhookEvent) -> Any:
        """The message of an inbox event, with its receiving number looked up from its channel or connector."""
        from controller.tenant.inbound import Inbound
        from controller.tenant.rules import inbound_message

        message = inbound_message(item.body)
        place = self.directory.find([message.channel_id, message.connector_id, message.to])
        to = place.number if place and place.number else message.to
        return Inbound(message.message_id, to or "", message.from_, message.text, item.received_at,
                       channel_id=message.channel_id or message.connector_id)

    @staticmethod
    def routed_log(item: WebhookEvent, result: Any) -> Callable[[], dict[str, Any]]:
        """What the batch's `inbound.routed` line says of this message (see log_routed)."""
        def log() -> dict[str, Any]:
            return {"bird_request_id": item.request_id, "outcome": result.outcome,
                    "organization": result.organization, "reason": result.reason}
        return log

    def route_alone(self, item: WebhookEvent) -> tuple[str, Callable[[], None]]:
        try:
            with self.store.transaction() as tx:
                return self.route_inbound(item, tx)
        except Exception as exc:
            return f"failed: {exc}", lambda error=exc: self.failed(item, error)  # type: ignore[misc]

    @staticmethod
    def failed(item: WebhookEvent, exc: Exception) -> str:
        event("webhook.failed", f"handling {item.event} failed: {exc}", logging.ERROR,
              webhook_event=item.event, bird_request_id=item.request_id)
        return f"failed: {exc}"

    def route_one(self, item: WebhookEvent) -> str:
        outcome, log = self.route_alone(item)
        log_routed([log()])
        return outcome

    def route_inbound(self, item: WebhookEvent, tx: Any) -> tuple[str, Callable[[], None]]:
        """Route one message in `tx`: its outcome, and the log line to write once `tx` is committed."""
        from controller.tenant.inbound import route_many

        if item.body.get("event") not in INBOUND_EVENTS:
            return "ignored: not a message", lambda: None
        (result,) = route_many(tx, [self.inbound_of(item)])
        return f"{result.outcome}: {result.reason}", self.routed_log(item, result)

    # --- health --------------------------------------------------------------------------------------
    async def readiness(self) -> tuple[bool, dict[str, Any]]:
        try:
            holder = await asyncio.wait_for(asyncio.to_thread(self.leadership.leader), READINESS_TIMEOUT)
            state = "ok"
        except Exception as exc:
            holder, state = None, f"unreachable: {type(exc).__name__}: {logs.REDACT(str(exc))[:300]}"
        specs: dict[str, Any] = {"status": "invalid" if self.spec_errors else ("valid" if self.view else "missing")}
        if self.view is not None:
            specs.update(documents=self.view.documents, fingerprint=self.view.fingerprint[:12])
        if self.spec_errors:
            specs["errors"] = self.spec_errors[:20]
            specs["inForce"] = "the last valid specs" if self.view else "none: nothing is reconciled"
        ready = self.view is not None and state == "ok" and self.role in ("leader", "standby")
        body = {"ready": ready, "role": self.role, "identity": self.identity,
                "leader": holder.describe() if holder else None, "state": state, "specs": specs,
                "queueDepth": len(self.queue), "lastReconcile": self.last_reconcile or None,
                "organizations": sorted(self.owned)}
        if self.receivers is not None:
            # Every worker answering on --webhook-listen; one restarting makes the daemon not ready.
            alive, wanted = self.receivers.alive, self.receivers.wanted
            body["webhookReceivers"] = {"listen": self.options.webhook_listen, "alive": alive, "wanted": wanted}
            ready = body["ready"] = ready and alive == wanted
        return ready, body

    # --- lifecycle -----------------------------------------------------------------------------------
    async def run(self) -> None:
        tasks = [asyncio.create_task(coro, name=name) for name, coro in (
            ("leader", self.lead_or_stand_by()), ("worker", self.work()), ("inbox", self.drain_inbox()),
            ("watcher", self.watch_specs()))]
        if self.notifier is not None:
            tasks.append(asyncio.create_task(self.notifier.run(), name="notifier"))
        try:
            await self.stopping.wait()
        finally:
            await self.shutdown(tasks)

    async def shutdown(self, tasks: list[asyncio.Task[Any]]) -> None:
        in_flight = set(self._units)
        if in_flight:
            event("shutdown.waiting", "waiting for the in-flight reconcile to finish",
                  grace_seconds=self.options.shutdown_grace)
            _, pending = await asyncio.wait(in_flight, timeout=self.options.shutdown_grace)
            if pending:
                for unit in pending:
                    unit.cancel()
                await asyncio.gather(*pending, return_exceptions=True)
                event("shutdown.cancelled", "the in-flight reconcile was cancelled; its journal entries stay open "
                      "and the next reconcile resolves them by re-reading Bird", logging.WARNING)
        if self.notifier is not None:
            await self.notifier.drain(1.0)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.to_thread(self.leadership.release)
        if self.role == "leader":
            event("leader.released", "leadership released", identity=self.identity)
        self.role = "stopped"
        self.metrics.leader.set(0)

    def stop(self) -> None:
        self.stopping.set()
        self.wake.set()


def _current_task() -> asyncio.Task[Any] | None:
    try:
        return asyncio.current_task()
    except RuntimeError:
        return None


def annotations(view: SpecView) -> dict[str, dict[str, str]]:
    """The documents' annotations, leaving out documents without any (a new document has none)."""
    return {address: notes for address, notes in annotations_by_document(view.specs.documents).items() if notes}


def spoken_for(plan: Plan) -> set[str] | None:
    """The addresses a plan speaks for: None (all of them) for a full plan; for a narrowed (targeted) plan,
    those it mentions (what it leaves out of scope keeps its earlier condition)."""
    if not plan.scope:
        return None
    return (set(plan.ready) | {w.address for w in plan.waiting} | {f.address for f in plan.failed}
            | {c.address for c in plan.changes})


def kept_elsewhere(known: Mapping[str, Any] | set[str], plan: Plan) -> set[str]:
    """The addresses of `known` a plan does not speak for."""
    spoken = spoken_for(plan)
    return set() if spoken is None else {a for a in known if a not in spoken}


def workspaces_read(world: Any) -> int:
    """How many Bird workspaces this observation read (rather than took from the warm cache)."""
    observed = getattr(world, "observed_workspaces", None)
    return len(observed) if observed is not None else len(world.numbers)


def removal_files(previous: SpecView, removed: set[str]) -> list[dict[str, Any]]:
    """The files that declared the removed resources, with their size when last loaded and now."""
    out = []
    by_file: dict[str, int] = {}
    for doc in previous.specs.documents:
        path = str(doc.source.path)
        if any(a.split("/", 1)[-1].split("[", 1)[0] == doc.name for a in removed):
            by_file[path] = by_file.get(path, 0) + 1
    for path in sorted(by_file):
        try:
            now: int | None = os.stat(path).st_size
        except OSError:
            now = None  # deleted
        out.append({"file": path, "sizeBefore": previous.file_sizes.get(path), "sizeAfter": now,
                    "documents": by_file[path]})
    return out

