"""The daemon's moving parts around one event loop: leadership, the spec watcher, the work queue and
its reconcile worker, the webhook inbox. The HTTP app (controller/daemon/http.py) talks to this.

Only the leader reconciles. Every replica receives webhooks, verifies them and writes them to the
state's webhook inbox; the leader drains the inbox. Reconciles go through engine.apply, which holds
the state's apply lock and journals every Bird write.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import random
import socket
import time
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from controller import engine, tenant
from controller.apply import ChangeResult
from controller.daemon import logs
from controller.daemon.config import DaemonOptions
from controller.daemon.logs import event
from controller.daemon.metrics import Metrics
from controller.daemon.notify import Notifier, condition_events, drift_event
from controller.daemon.queue import FULL, WorkQueue, jittered
from controller.daemon.routing import EVENT_KINDS, INBOUND_EVENTS, affected, dependents, id_index, spec_edit
from controller.daemon.specview import SpecsRejected, SpecView, load_view, missing_status_events
from controller.daemon.webhooks import Verdict
from controller.plan import Change, Plan
from controller.scope import annotations_by_document
from controller.state import DatabaseError, StateLocked, StateStore
from controller.state.leader import Leadership
from controller.state.webhook_inbox import (
    WebhookEvent,
    mark_handled_in,
    mark_webhooks_handled,
    pending_webhooks,
    prune_webhooks,
    record_webhook,
)

RESYNC_JITTER = 0.10
RECHECK_JITTER = 0.10
INBOX_POLL_SECONDS = 1.0
INBOX_GATHER_SECONDS = 0.05  # how long a poked inbox waits for more events before draining
INBOX_RETENTION = timedelta(days=1)
PRUNE_EVERY_SECONDS = 600.0
READINESS_TIMEOUT = 3.0
WATCH_RETRY_SECONDS = 2.0
# Log lines name at most this many addresses (a pool of thousands would flood the log).
LOGGED_ADDRESSES = 50
# The file watcher's thread returns this often (ms), so shutdown never waits long for it.
WATCH_POLL_MS = 500


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
        self.listen_port: int | None = None
        self._calls: dict[asyncio.Task[Any] | None, list[dict[str, Any]]] = {}
        self._in_flight: asyncio.Task[Any] | None = None
        self.notifier = notifier
        settings.on_bird_response = self.on_bird_response
        # The last observation of Bird: a targeted reconcile reads only the workspaces it needs.
        self.world_cache = engine.WorldCache()
        self._ids_known: tuple[Any, dict[str, set[str]]] | None = None  # (records, their id index)
        # Resource address -> Ready / Waiting / Failed, as the plans last saw it (the gauges count these).
        self.conditions: dict[str, str] = {}

    # --- specs -------------------------------------------------------------------------------------
    def environ(self) -> Mapping[str, str] | None:
        return self.settings.environ

    async def reload_specs(self, why: str) -> bool:
        """Load the spec files; keep the set in force when they are invalid. True when the set changed."""
        try:
            view = await asyncio.to_thread(load_view, self.options.paths, self.environ())
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
            for problem in view.secret_problems:
                event("specs.secret_missing", f"cannot verify webhooks for {problem}", logging.WARNING)
            missing = missing_status_events(view)
            if missing:
                event("specs.no_status_webhooks", "no WebhookSubscription asks for " + ", ".join(missing) +
                      f" at {self.webhook_url()}: approvals are noticed by scheduled re-checks only",
                      logging.WARNING)
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
            previous = self.view
            if await self.reload_specs("changed: " + ", ".join(names[:10])) and self.role == "leader":
                self.enqueue_edit(previous, self.view)

    def enqueue_edit(self, previous: SpecView | None, view: SpecView | None) -> None:
        """A spec edit reconciles what it added or changed (a targeted reconcile: only their workspaces are
        read). A removal, or a changed annotation (pause, ignore-drift), reconciles everything: forgetting
        and archiving are only planned with the whole of Bird in view."""
        changed, removed = spec_edit(previous.desired, view.desired) if previous and view else (set(), set())
        notes_moved = previous is None or view is None or annotations(previous) != annotations(view)
        if removed or notes_moved or not changed:
            self.enqueue(FULL, 0, "the spec files changed")
            return
        for address in sorted(changed):
            self.enqueue(address, 0, "the spec files changed")

    # --- leadership ----------------------------------------------------------------------------------
    async def lead_or_stand_by(self) -> None:
        while not self.stopping.is_set():
            try:
                if self.role == "leader":
                    if not await asyncio.to_thread(self.leadership.still_leader):
                        self.step_down("the leader lock was lost (state database connection ended)")
                elif await asyncio.to_thread(self.leadership.try_acquire):
                    self.become_leader()
                elif self.role != "standby":
                    self.role = "standby"
                    holder = await asyncio.to_thread(self.leadership.leader)
                    event("leader.standby", "standing by: another daemon leads",
                          leader=holder.describe() if holder else None)
            except Exception as exc:
                if self.role == "leader":
                    self.step_down(f"cannot confirm leadership: {exc}")
                event("leader.error", f"leader election failed: {exc}; retrying", logging.WARNING)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), jittered(self.options.leader_poll, 0.25, self.rng))

    def become_leader(self) -> None:
        self.role = "leader"
        self.metrics.leader.set(1)
        event("leader.acquired", "this daemon is now the leader", identity=self.identity)
        self.enqueue(FULL, 0, "became the leader")
        self.inbox_poke.set()

    def step_down(self, why: str) -> None:
        self.role = "standby"
        self.metrics.leader.set(0)
        self.queue.entries.clear()
        if self._in_flight is not None and not self._in_flight.done():
            # Another daemon may lead now: stop acting. Open journal entries are resolved by re-reading Bird.
            self._in_flight.cancel()
        self.metrics.queue_depth.set(0)
        event("leader.lost", f"no longer the leader: {why}", logging.WARNING, identity=self.identity)

    # --- the work queue ------------------------------------------------------------------------------
    def enqueue(self, key: str, delay: float, reason: str, slack: float = 0.0) -> None:
        self.queue.add(key, time.monotonic() + delay, reason, slack)
        self.metrics.queue_depth.set(len(self.queue))
        self.wake.set()

    async def work(self) -> None:
        while not self.stopping.is_set():
            due = self.queue.next_due() if self.role == "leader" else None
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
            batch = self.queue.pop_due(time.monotonic())
            self.metrics.queue_depth.set(len(self.queue))
            if batch:
                self._in_flight = asyncio.ensure_future(self.reconcile(batch))
                try:
                    await asyncio.shield(self._in_flight)
                except asyncio.CancelledError:
                    if not self._in_flight.done():
                        raise
                finally:
                    self._in_flight = None

    async def reconcile(self, batch: dict[str, str]) -> None:
        view = self.view
        if view is None:
            return  # no valid specs yet: nothing may be done; a valid edit queues a full reconcile
        full = FULL in batch
        if full:
            # A missed file event or a changed secret ({fromFile}/environment) is picked up here.
            await self.reload_specs("full reconcile")
            view = self.view or view
        scope = "full" if full else "targeted"
        keys = [FULL] if full else sorted(batch)
        covered = None if full else dependents(view.desired, keys)
        only = None if covered is None else (lambda c: c.address in covered)
        reasons = sorted(set(batch.values()))
        event("reconcile.start", f"{scope} reconcile", scope=scope, reasons=reasons[:10],
              addresses=None if covered is None else sorted(covered)[:LOGGED_ADDRESSES],
              resources=None if covered is None else len(covered))
        started = time.monotonic()
        outcome_label = "ok"
        summary: dict[str, Any] = {}
        before = await self.conditions_before()
        try:
            outcome = await engine.apply(self.options.paths, self.settings, specs=view.specs, only=only,
                                         allow_archive=self.options.allow_archive, on_result=self.on_result,
                                         owner="senderctl daemon", on_plan=self.planned(scope, started),
                                         scope=None if covered is None else frozenset(covered),
                                         cache=self.world_cache,
                                         expanded=engine.Expanded(view.specs, view.desired, view.fingerprint))
        except engine.Refused as exc:
            outcome_label = "refused"
            event("reconcile.refused", f"{exc}; the daemon does not act until the specs (or --allow-archive) "
                  "make this safe", logging.ERROR, scope=scope)
            self.notify({"type": "plan.refused", "reason": str(exc)})
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
            elapsed = time.monotonic() - started
            self.metrics.reconcile_duration.labels(scope, outcome_label).observe(elapsed)
            self.metrics.reconciles.labels(scope, outcome_label).inc()
            self.last_reconcile = {"scope": scope, "outcome": outcome_label, "seconds": round(elapsed, 3),
                                   "finished": utcnow().isoformat(timespec="seconds"), **summary}
            if full:
                resync = jittered(self.options.resync, RESYNC_JITTER, self.rng)
                self.queue.add(FULL, time.monotonic() + resync, "periodic resync")
                await self.bill_previous_week()
            self.metrics.queue_depth.set(len(self.queue))
            self._calls.clear()
        event("reconcile.done", f"{scope} reconcile {outcome_label} in {elapsed:.2f} s", **self.last_reconcile)

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
        if self.notifier is not None:
            self.notifier.publish(item)

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

    def webhook_urls(self, request_url: str) -> list[str]:
        """URLs a delivery may have been signed for: ours, the subscriptions' in the specs, the one received."""
        urls = [self.webhook_url()]
        if self.view is not None:
            urls += sorted(self.view.subscription_urls)
        return [*urls, request_url]

    def signing_keys(self) -> tuple[str, ...]:
        return self.view.signing_keys if self.view is not None else ()

    async def accept(self, verdict: Verdict) -> str:
        """Record a verified event for the leader: 'accepted', or 'replay' for a request id seen before."""
        try:
            fresh = await asyncio.to_thread(record_webhook, self.store, request_id=verdict.request_id,
                                            event=verdict.event, body=verdict.document,
                                            received_by=self.identity, at=utcnow())
        except Exception as exc:
            raise Unavailable(f"the state database cannot record the webhook: {exc}") from None
        if fresh and self.role == "leader":
            self.inbox_poke.set()
        return "accepted" if fresh else "replay"

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
            try:
                # One hop to a worker thread reads the batch, routes its inbound messages and marks them
                # handled in one transaction; the other events queue reconciles here and are marked
                # together after. A crash before a mark re-handles those events, which is harmless
                # (routing is idempotent per message id; a status event only queues a reconcile).
                batch, routed = await asyncio.to_thread(self.take_batch)
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
        batch = pending_webhooks(self.store)
        inbound = [item for item in batch if item.event in INBOUND_EVENTS]
        if not inbound:
            return batch, {}
        try:
            with self.store.transaction() as tx:
                done = [(item, self.attempt_route(item, tx)) for item in inbound]
                mark_handled_in(tx, [(item.id, outcome) for item, (outcome, _) in done], at=utcnow())
        except DatabaseError:
            done = [(item, self.route_alone(item)) for item in inbound]
            mark_webhooks_handled(self.store, [(item.id, outcome) for item, (outcome, _) in done], at=utcnow())
        for _item, (_, log) in done:
            log()
        return batch, {item.id: outcome for item, (outcome, _) in done}

    def attempt_route(self, item: WebhookEvent, tx: Any) -> tuple[str, Callable[[], None]]:
        """(outcome, what to log) of routing one message in `tx`; a database error propagates."""
        try:
            return self.route_inbound(item, tx)
        except DatabaseError:
            raise
        except Exception as exc:  # one bad message must not block the ones behind it
            return f"failed: {exc}", lambda error=exc: self.failed(item, error)  # type: ignore[misc]

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
        log()
        return outcome

    def route_inbound(self, item: WebhookEvent, tx: Any) -> tuple[str, Callable[[], None]]:
        """Route one message in `tx`: its outcome, and the log line to write once `tx` is committed."""
        from controller.tenant.inbound import route_in
        from controller.tenant.rules import parse_inbound

        _, message = parse_inbound(json.dumps(item.body).encode())
        if message is None:
            return "ignored: not a message", lambda: None
        to = message.to or self.number_of_channel(message.channel_id)
        result = route_in(tx, to=to, channel_id=None, from_=message.from_, text=message.text,
                          message_id=message.message_id, at=item.received_at)

        def log() -> None:
            event("inbound.routed", f"inbound SMS {result.outcome}: {result.reason}", webhook_event=item.event,
                  bird_request_id=item.request_id, outcome=result.outcome, organization=result.organization)

        return f"{result.outcome}: {result.reason}", log

    def number_of_channel(self, channel_id: str | None) -> str:
        for record in self.store.records().values():
            if record.kind == "Channel" and channel_id and record.data.get("channelId") == channel_id:
                return str(record.data.get("number") or "")
        return f"channel:{channel_id}" if channel_id else ""

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
                "queueDepth": len(self.queue), "lastReconcile": self.last_reconcile or None}
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
        in_flight = self._in_flight
        if in_flight is not None and not in_flight.done():
            event("shutdown.waiting", "waiting for the in-flight reconcile to finish",
                  grace_seconds=self.options.shutdown_grace)
            done, _ = await asyncio.wait({in_flight}, timeout=self.options.shutdown_grace)
            if not done:
                in_flight.cancel()
                with contextlib.suppress(BaseException):
                    await in_flight
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


def watch_targets(paths: tuple[str, ...]) -> tuple[set[Path], set[Path]]:
    """Directories to watch recursively, and single files (watched through their directory, so an
    editor's write-to-temp-and-rename is seen)."""
    roots, files = set(), set()
    for raw in paths:
        p = Path(raw).resolve()
        (roots if p.is_dir() else files).add(p)
    return roots, files
