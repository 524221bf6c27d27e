"""The reconcile engine's entry points: plan, apply, status, import — one function each.

The CLI, the demo and the daemon all go through here, so every rule (locking, journaling,
refusals, saved-plan staleness) holds however a reconcile is reached.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import socket
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from controller.bird import BirdAuthError, BirdClient, BirdError
from controller.reconcile import readiness
from controller.reconcile.apply import ApplyReport, ChangeResult, JournaledIO, execute
from controller.reconcile.desired import build_controls, desired_from_specs
from controller.reconcile.observe import Prefetch, named_workspaces, observe, read_state
from controller.reconcile.plan import Change, Plan, address_key, fingerprint
from controller.reconcile.planner import compute_plan
from controller.reconcile.resources_view import plan_resources
from controller.reconcile.scope import Controls, document_address, organization_workspaces, workspaces_to_read
from controller.reconcile.settings import (  # noqa: F401 (the engine's settings and errors, as callers know them)
    DEFAULT_BIRD_URL,
    DEFAULT_PARALLELISM,
    GET_RATE_ENV,
    POST_RATE_ENV,
    EngineError,
    Refused,
    Settings,
    SpecsInvalid,
    auth_problem,
    bird_client,
    check_bird_url,
    close_aside,
    missing_sqlite_file,
    open_store,
    open_store_aside,
    rate_from_env,
    run,
)
from controller.resources import brand
from controller.resources.base import Desired, World
from controller.resources.phone_number import purchase_members
from specs import SpecSet, load_specs
from specs.loader import ParseCache

T = TypeVar("T")


MAX_ROUNDS = 6


def load(paths: Sequence[str], cache: ParseCache | None = None) -> SpecSet:
    result = load_specs(list(paths), cache)
    if result.errors:
        raise SpecsInvalid(result.errors)
    return result.specs


def specs_fingerprint(desired: Sequence[Desired]) -> str:
    # The spec directory differs between the machine that plans and the one that applies.
    return fingerprint([[d.address, d.fields, _without_spec_dir(d.context)]
                        for d in sorted(desired, key=lambda d: d.address)])


def _without_spec_dir(context: Mapping[str, Any]) -> Mapping[str, Any]:
    # (copied only where there is one: 20,000 copies were a fifth of a daemon's spec reload)
    return {k: v for k, v in context.items() if k != "specDir"} if "specDir" in context else context


async def check_access(paths: Sequence[str], settings: Settings) -> None:
    """One read per workspace the specs name, so a long-running process (the daemon) with a wrong or
    unauthorised key stops at start (BirdAuthError) instead of logging the same 401 forever. Invalid
    specs and an unreachable Bird are left to the caller's usual handling."""
    try:
        desired = desired_from_specs(load(paths), settings.environ)
    except Exception:
        return
    workspaces = sorted({d.context["workspaceId"] for d in desired if d.context.get("workspaceId")})
    async with bird_client(settings) as client:
        for ws in workspaces:
            try:
                async for _ in client.list_numbers(ws):
                    break
            except BirdAuthError:
                raise
            except BirdError:
                return


@dataclass
class Computed:
    plan: Plan
    world: World
    desired: list[Desired]


@dataclass
class WorldCache:
    """The last observation, kept by a long-running caller (the daemon) across reconciles: a targeted
    reconcile reads only the workspaces it needs and takes the others from here. Every compute given
    the cache refreshes it (what was read now is fresher, the rest is as it was)."""

    world: World | None = None
    rows: Any = None  # the state's records as last read (controller.state.store.RecordRowCache)


@dataclass(frozen=True)
class Expanded:
    """The specs' desired resources and their fingerprint, as a caller that keeps them (the daemon, for
    the specs in force) hands them to compute instead of expanding the same specs again."""

    specs: SpecSet
    desired: Sequence[Desired]
    fingerprint: str


async def compute(specs: SpecSet, client: BirdClient, store: Any, environ: Mapping[str, str] | None,
                  settings: Settings | None = None, *, adopt_unmanaged: bool = False,
                  scope: frozenset[str] | None = None, cache: WorldCache | None = None,
                  expanded: Expanded | None = None) -> Computed:
    """Observe and plan. `scope`: plan only these addresses (and their dependencies), reading only the
    workspaces they need when `cache` holds an earlier observation for the others (see WorldCache).
    `expanded`: these specs' desired resources, already expanded (used only when made from `specs`).
    `store`: the state store, or a future of it still being opened (asked of Bird meanwhile)."""
    known = expanded if expanded is not None and expanded.specs is specs else None
    desired = list(known.desired) if known else desired_from_specs(specs, environ)
    if cache is not None and cache.rows is None:
        from controller.state.store import RecordRowCache

        cache.rows = RecordRowCache()
    earlier = cache.world if cache is not None else None
    rows = cache.rows if cache is not None else None
    prefetch = prefetched(client, desired, scope, earlier, settings.orgs if settings is not None else ())
    try:
        if isinstance(store, asyncio.Future):
            store = await store
        if prefetch is None:
            state = read_state(store, rows)
        else:  # (in a thread: the prefetched reads go on meanwhile)
            state = await asyncio.to_thread(read_state, store, rows)
        targets = known_targets(scope, desired, state[0])
        read = workspaces_to_read(desired, state[0], targets) if targets and earlier is not None else None
        if read is None and not targets and settings is not None and settings.orgs:
            # Whole organizations: only their workspaces (the planner acts on nothing it did not read).
            read = organization_workspaces(desired, state[0], settings.orgs)
        world = await observe(client, store, desired, only=read, earlier=earlier, state=state, prefetch=prefetch)
    finally:
        if prefetch is not None:
            await prefetch.close()
    if cache is not None:
        cache.world = world
    controls = controls_for(specs, desired, world, settings)
    if targets:
        controls = dataclasses.replace(controls, targets=controls.targets | targets)
    plan = compute_plan(desired, world, specs_fingerprint=known.fingerprint if known else specs_fingerprint(desired),
                        controls=controls, adopt_unmanaged=adopt_unmanaged)
    plan = dataclasses.replace(plan, resources=plan_resources(plan, desired, labels_by_document(specs)))
    plan = await checked_against_bird(plan, client)
    return Computed(plan, world, desired)


def prefetched(client: BirdClient, desired: Sequence[Desired], scope: frozenset[str] | None,
               earlier: World | None, orgs: Sequence[str] = ()) -> Prefetch | None:
    """The lists of the workspaces the plan reads as the specs alone tell them, asked for before the state
    is read (None: nothing to gain, or the state is needed to tell). A whole plan reads every workspace the
    specs name (of `orgs`, when given); a targeted one, with an earlier observation for the rest, those its
    addresses need, unless one is an address the specs no longer declare."""
    if client is None:
        return None
    if not scope:
        named = named_workspaces(desired)
        if orgs:
            of_orgs = organization_workspaces(desired, {}, orgs)
            named &= of_orgs if of_orgs is not None else set()
        return Prefetch.of_workspaces(client, named, earlier, desired) if named else None
    if earlier is None or not set(scope) <= {d.address for d in desired}:
        return None
    guess = workspaces_to_read(desired, {}, scope)
    return Prefetch.of_workspaces(client, guess, earlier, desired) if guess else None


async def checked_against_bird(plan: Plan, client: BirdClient) -> Plan:
    """What only Bird's reference lists can tell, read only when the plan registers or edits a brand (a
    no-op plan reads nothing more): a vertical Bird does not list is refused now, not at apply."""
    named = brand.verticals_named(plan.changes)
    if not named:
        return plan
    try:
        listed = frozenset(v.name for v in await client.tcr_verticals())
    except BirdError:
        return plan  # Bird's list cannot be read now: Bird still refuses an unknown vertical at apply
    refusals = brand.vertical_refusals(named, listed)
    return dataclasses.replace(plan, refusals=plan.refusals + tuple(refusals)) if refusals else plan


def labels_by_document(specs: SpecSet) -> dict[str, dict[str, str]]:
    return {doc.address: dict(doc.metadata.labels) for doc in specs.documents if doc.metadata.labels}


def known_targets(scope: frozenset[str] | None, desired: Sequence[Desired],
                  records: Mapping[str, Any]) -> frozenset[str]:
    """The scoped addresses the specs or the state know (there is nothing to plan for the others). Empty:
    the plan is not narrowed at all (the caller's `only` still limits what is carried out)."""
    if not scope:
        return frozenset()
    known = {d.address for d in desired}
    return frozenset(a for a in scope if a in known or a in records)


def controls_for(specs: SpecSet, desired: Sequence[Desired], world: World, settings: Settings | None) -> Controls:
    """The scope flags and the specs' pause annotations, checked against what exists."""
    targets = tuple(settings.targets) if settings else ()
    orgs = tuple(settings.orgs) if settings else ()
    declared = {d.name for d in specs.of_kind("Organization")}
    unknown_orgs = sorted(set(orgs) - declared)
    if unknown_orgs:
        raise EngineError(f"--org {', '.join(unknown_orgs)}: no such Organization in the specs "
                          f"(declared: {', '.join(sorted(declared)) or 'none'})")
    known = ({d.address for d in desired} | {document_address(d) for d in desired} | set(world.records)
             if targets else set())  # (three sets of every address: only worth building for a --target)
    unknown = sorted(set(targets) - known)
    if unknown:
        raise EngineError(f"--target {', '.join(unknown)}: no such resource in the specs or the state "
                          "(give Kind/name, e.g. PhoneNumber/alice-line)")
    return build_controls(specs, desired, targets=targets, orgs=orgs)


async def plan(paths: Sequence[str], settings: Settings) -> Computed:
    """Read-only: observes Bird and the state; writes to neither."""
    specs = load(paths)
    async with bird_client(settings) as client:
        # Opened aside while Bird is asked for the lists the specs name (a SQL engine's imports and the
        # schema check are a third of a second, a round trip or two of Bird's distance).
        store = open_store_aside(settings, read_only=True)
        try:
            return await compute(specs, client, store, settings.environ, settings)
        finally:
            close_aside(store)


@dataclass
class ApplyOutcome:
    first_plan: Plan
    final: Computed | None = None
    report: ApplyReport = field(default_factory=ApplyReport)
    rounds: int = 0


def check_refusals(p: Plan, allow_archive: bool, force: bool) -> None:
    blocked = p.blocked(allow_archive=allow_archive, force=force)
    if blocked:
        lines = [f"{r.address}: {r.reason}" + (f" (lifted by {r.flag})" if r.flag else "") for r in blocked]
        raise Refused("apply refused:\n  " + "\n  ".join(lines))


def _as_saved(change: Change) -> Any:
    """The change as a saved plan file holds it (JSON types), so a loaded and a fresh one compare."""
    return json.loads(json.dumps(change.to_json(), sort_keys=True, default=str))


def saved_document(saved: Plan | Mapping[str, Any]) -> dict[str, Any]:
    """A saved plan as the JSON it was read from (a Plan given by a caller is turned into that JSON)."""
    return saved.to_json() if isinstance(saved, Plan) else dict(saved)


def mismatch_reason(saved: Mapping[str, Any], fresh: Plan) -> str | None:
    """None when the recomputed plan is exactly the saved one; otherwise why apply refuses it."""
    from controller.reconcile.saved_plan import differences

    lines = differences(saved, fresh.to_json())
    if not lines:
        return None
    if saved.get("fingerprint") == fresh.fingerprint:
        head = ("saved plan does not match the plan recomputed from the same specs and world: the file was edited "
                "after it was computed; nothing was applied. Run `senderctl plan` again and review it.")
        return head + "\n" + "\n".join(f"  {line}" for line in lines)
    return stale_reason(Plan.from_json(dict(saved)), fresh) + "\n" + "\n".join(f"  {line}" for line in lines)


def stale_reason(saved: Plan, fresh: Plan) -> str:
    saved_changes = {(c.address, c.action): c for c in saved.changes}
    fresh_changes = {(c.address, c.action): c for c in fresh.changes}
    moved = [f"  no longer planned: {a} {addr}" for addr, a in sorted(saved_changes.keys() - fresh_changes.keys())]
    moved += [f"  newly needed: {a} {addr}" for addr, a in sorted(fresh_changes.keys() - saved_changes.keys())]
    # Same resource, same action, different content (a spec value edited, Bird's value moved).
    moved += [f"  now planned differently: {a} {addr}"
              for addr, a in sorted(saved_changes.keys() & fresh_changes.keys())
              if _as_saved(saved_changes[addr, a]) != _as_saved(fresh_changes[addr, a])]
    if saved.specs_fingerprint and saved.specs_fingerprint != fresh.specs_fingerprint:
        head = "the specs changed since the plan was saved"
    else:
        head = "Bird or the state changed since the plan was saved"
    detail = "\n".join(moved) if moved else "  (the same changes, computed from a different world)"
    return f"saved plan is stale: {head}; run `senderctl plan` again.\n{detail}"


async def apply(
    paths: Sequence[str],
    settings: Settings,
    *,
    allow_archive: bool = False,
    force: bool = False,
    saved: Plan | Mapping[str, Any] | None = None,
    confirm: Callable[[Plan], bool] | None = None,
    on_result: Callable[[ChangeResult], None] | None = None,
    owner: str = "senderctl apply",
    only: Callable[[Change], bool] | None = None,
    specs: SpecSet | None = None,
    on_plan: Callable[[Computed], None] | None = None,
    scope: frozenset[str] | None = None,
    cache: WorldCache | None = None,
    expanded: Expanded | None = None,
    review: Callable[[Plan], None] | None = None,
) -> ApplyOutcome:
    """Observe, plan, refuse what is unsafe, confirm, execute; then carry on with what the
    executed changes unblocked (resources the approved plan listed as waiting), round by round.

    `review` (the policies, `apply --policy`) sees every plan before any of it is carried out and
    raises Refused to stop it: the first plan's refusal ends the apply before any Bird write; a later
    round's ends the carrying on (what it would have done is left for the next, reviewed, apply);
    `only` limits execution to some changes (the daemon reconciling what a webhook touched);
    `specs` lets a caller that already holds a loaded SpecSet (the daemon) skip loading;
    `on_plan` sees the first plan as soon as it is computed (the daemon logs how long that took);
    `scope` and `cache`: plan only some addresses, reading only their workspaces (see compute)."""
    specs = specs if specs is not None else load(paths)
    store = open_store(settings)
    store.fence = settings.fence
    try:
        with apply_lock(store, settings, owner):
            async with bird_client(settings) as client:
                return await _apply_locked(specs, client, store, settings, allow_archive=allow_archive, force=force,
                                           saved=saved, confirm=confirm, on_result=on_result, only=only,
                                           on_plan=on_plan, scope=scope, cache=cache, expanded=expanded,
                                           review=review)
    finally:
        store.close()


def apply_lock(store: Any, settings: Settings, owner: str) -> contextlib.AbstractContextManager[Any]:
    """The state's apply lock, for every apply but a fenced daemon's: its lease keeps every other daemon
    from writing, and a session's advisory lock would outlive a stopped (SIGSTOP) or cut-off leader and
    block the replica that took over. A command's apply still excludes the daemons' writes: each of their
    intents takes the apply lock's key shared, for its transaction only (controller.state.lease.check_in)."""
    if settings.fence is not None:
        return contextlib.nullcontext()
    return store.apply_lock(owner=f"{owner} pid={os.getpid()} host={socket.gethostname()}",
                            timeout=settings.lock_timeout, on_wait=settings.on_lock_wait)


async def _apply_locked(specs: SpecSet, client: BirdClient, store: Any, settings: Settings, *, allow_archive: bool,
                        force: bool, saved: Plan | Mapping[str, Any] | None, confirm: Callable[[Plan], bool] | None,
                        on_result: Callable[[ChangeResult], None] | None,
                        only: Callable[[Change], bool] | None = None,
                        on_plan: Callable[[Computed], None] | None = None,
                        scope: frozenset[str] | None = None, cache: WorldCache | None = None,
                        expanded: Expanded | None = None, review: Callable[[Plan], None] | None = None
                        ) -> ApplyOutcome:
    io = JournaledIO(client, store, environ=settings.environ)
    current = await compute(specs, client, store, settings.environ, settings, scope=scope, cache=cache,
                            expanded=expanded)
    if on_plan is not None:
        on_plan(current)
    if saved is not None:
        # Bound to its content: the file is only compared, never executed. What runs is what was
        # recomputed, and only when it is exactly what the reviewer saw.
        reason = mismatch_reason(saved_document(saved), current.plan)
        if reason:
            raise Refused(reason)
    first = current.plan
    check_refusals(first, allow_archive, force)
    if review is not None:
        review(first)
    outcome = ApplyOutcome(first_plan=first)
    if not first.has_changes:
        outcome.final = current
        record_conditions(store, current.plan)
        settle_converged(store, current.plan)
        return outcome
    if confirm is not None and not confirm(first):
        raise Refused("apply cancelled: the plan was not approved")

    follow_up = {w.address for w in first.waiting}
    failed: set[str] = set()  # never tried again in this apply: a failed write is the next run's to re-read

    def unblocked(c: Change) -> bool:
        return c.address in follow_up and c.address not in failed and (only is None or only(c))

    allowed: Callable[[Change], bool] | None = only
    plan_now = first
    while True:
        outcome.rounds += 1
        report = await execute(plan_now, io, parallelism=settings.parallelism, only=allowed, on_result=on_result)
        outcome.report.results.extend(report.results)
        outcome.report.forgotten.extend(report.forgotten)
        current = await compute(specs, client, store, settings.environ, settings, scope=scope, cache=cache,
                                expanded=expanded)
        if saved is not None or outcome.rounds >= MAX_ROUNDS:
            break
        # One failed change (an unknown outcome among thousands) does not hold back the rest: what waited
        # on other changes follows, the failed ones and what depends on them wait for the next apply.
        failed |= {r.change.address for r in report.failed}
        # Only what the approved plan listed as waiting may follow, and nothing it refused.
        next_changes = [c for c in current.plan.changes if unblocked(c)]
        if not next_changes or current.plan.blocked(allow_archive=allow_archive, force=force):
            break
        if review is not None:
            try:
                review(current.plan)
            except Refused:
                break
        plan_now = current.plan
        allowed = unblocked
    outcome.final = current
    record_conditions(store, current.plan)
    settle_converged(store, current.plan)
    return outcome


def settle_converged(store: Any, p: Plan) -> None:
    """Close intents left open by an interrupted run when the plan has nothing left to do for their
    resource: Bird already holds what the write asked for (e.g. an update killed after Bird accepted it),
    so no later save would ever close them and the journal would report them open forever. A create
    stays open unless its resource is Ready: its object may still appear on Bird (an ambiguous answer)."""
    busy = {c.address for c in p.changes} | {f.address for f in p.failed}
    ready = set(p.ready) - busy
    waiting = {w.address for w in p.waiting} - busy
    for op in store.open_operations():
        # A purchase of several numbers is settled once every resource it bought for is Ready.
        members = {address for address, _ in purchase_members(op.address, op.request)} or {op.address}
        if members <= ready or (members <= waiting and not op.action.startswith("create")):
            store.finish(op.id, "succeeded", result={"settledBy": "Bird matches the specs"})


def record_conditions(store: Any, p: Plan) -> None:
    from controller.state import Condition

    conditions = [Condition(address=a, status="Ready", reason="") for a in p.ready]
    conditions += [Condition(address=w.address, status="Waiting", reason=w.reason) for w in p.waiting]
    conditions += [Condition(address=f.address, status="Failed", reason=f.reason) for f in p.failed]
    conditions += [Condition(address=a, status="Paused", reason=PAUSED_REASON) for a in p.paused]
    pending = {c.address for c in p.changes} - {c.address for c in conditions}
    conditions += [Condition(address=a, status="Waiting", reason="change pending: run senderctl apply")
                   for a in sorted(pending)]
    store.set_conditions(conditions)


PAUSED_REASON = "senderctl.io/paused: no Bird write until the annotation is removed"


@dataclass(frozen=True)
class StatusLine:
    address: str
    status: str
    reason: str = ""
    since: Any = None
    throughput: str = ""  # brands and campaigns: what the carriers' published tiers let them send
    ghost: Any = None  # campaigns silent for 60 days: controller.resources.ghost.Silence

    def text(self) -> str:
        return f"{self.address}: {self.status}" + (f": {self.reason}" if self.reason else "")


def status_lines(computed: Computed, remembered: Mapping[str, Any] | None = None) -> list[StatusLine]:
    p = computed.plan
    remembered = remembered or {}
    lines: dict[str, StatusLine] = {}
    for a in p.ready:
        lines[a] = StatusLine(a, "Ready")
    for w in p.waiting:
        lines[w.address] = StatusLine(w.address, "Waiting", w.reason)
    for f in p.failed:
        lines[f.address] = StatusLine(f.address, "Failed", f.reason)
    for c in p.changes:
        if c.address not in lines and c.address in {d.address for d in computed.desired}:
            lines[c.address] = StatusLine(c.address, "Waiting", f"{c.action} pending: run senderctl apply")
    for r in p.refusals:
        if r.address in lines and lines[r.address].status != "Failed":
            lines[r.address] = StatusLine(r.address, "Failed", r.reason)
    desired = {d.address for d in computed.desired}
    for a in p.paused:
        if a in desired:
            lines[a] = StatusLine(a, "Paused", PAUSED_REASON)
    out = []
    for address in sorted(lines, key=address_key):
        line = lines[address]
        cond = remembered.get(address)
        since = cond.since if cond is not None and cond.status == line.status else None
        out.append(StatusLine(line.address, line.status, line.reason, since))
    return out


async def status(paths: Sequence[str], settings: Settings) -> list[StatusLine]:
    specs = load(paths)
    store = open_store(settings, read_only=True)
    try:
        async with bird_client(settings) as client:
            computed = await compute(specs, client, store, settings.environ, settings)
            lines = status_lines(computed, store.conditions())
            # Bird's own view of what a number that is not Ready still needs (none read when all are Ready).
            endpoints = readiness.endpoints_to_read(computed.desired, computed.world.records,
                                                    {line.address for line in lines if line.status != "Ready"})
            requirements = await readiness.unsatisfied(client, endpoints) if endpoints else {}
        from controller.reconcile.ghost_view import campaign_silences
        from controller.reconcile.throughput_view import expected_throughput
        from controller.state.traffic import channel_traffic

        expected = expected_throughput(computed.desired, computed.world)
        ghosts = {a: s for a, s in campaign_silences(computed.desired, computed.world, channel_traffic(store.engine)).items()
                  if s.ghost}
        return [dataclasses.replace(line, throughput=expected[line.address].text if line.address in expected else "",
                                    ghost=ghosts.get(line.address))
                for line in readiness.explain(lines, endpoints, requirements)]
    finally:
        store.close()


async def import_existing(paths: Sequence[str], settings: Settings) -> tuple[ApplyReport, Computed]:
    """Adopt what already exists on Bird (matched by natural key) into the state; create nothing."""
    specs = load(paths)
    store = open_store(settings)
    try:
        with store.apply_lock(owner=f"senderctl import pid={os.getpid()} host={socket.gethostname()}",
                              timeout=settings.lock_timeout, on_wait=settings.on_lock_wait):
            async with bird_client(settings) as client:
                io = JournaledIO(client, store, environ=settings.environ)
                total = ApplyReport()
                for _ in range(MAX_ROUNDS):  # adopting a brand reveals its campaigns, and so on
                    computed = await compute(specs, client, store, settings.environ, settings, adopt_unmanaged=True)
                    adopts = [c for c in computed.plan.changes if c.action == "adopt"]
                    if not adopts:
                        break
                    report = await execute(computed.plan, io, only=lambda c: c.action == "adopt")
                    total.results.extend(report.results)
                    if report.failed:
                        break
                return total, computed
    finally:
        store.close()


async def drift(paths: Sequence[str], settings: Settings) -> Any:
    """Read-only: what changed on Bird outside senderctl since the last apply (controller.reconcile.drift)."""
    from controller.reconcile.drift import find_drift
    from controller.reconcile.scope import annotations_by_document, ignored_drift

    specs = load(paths)
    store = open_store(settings, read_only=True)
    try:
        async with bird_client(settings) as client:
            desired = desired_from_specs(specs, settings.environ)
            world = await observe(client, store, desired)
    finally:
        store.close()
    notes = annotations_by_document(specs.documents)
    return find_drift(desired, world, ignored=lambda d: ignored_drift(d, notes))
