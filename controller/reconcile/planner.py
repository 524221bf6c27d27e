"""compute_plan: (desired resources, observed world) -> Plan. Pure: no I/O, no clock, no randomness.

Each desired resource is compared by its kind module in dependency order, so a dependent sees its
dependencies' outcomes (a campaign knows whether its brand is approved). Resources the state
remembers but the specs no longer declare are handed to their kind's removal rule. Finally the
safety rails turn risky plans into refusals that a flag must lift.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from controller.reconcile import compliance
from controller.reconcile.plan import (
    Change,
    Failed,
    OutOfScope,
    Plan,
    Refusal,
    Waiting,
    address_key,
    fingerprint,
)
from controller.reconcile.scope import (
    Controls,
    OrgIndex,
    desired_workspaces,
    document_address,
    with_dependencies,
)
from controller.resources import KINDS, organization
from controller.resources.base import ORDER, Desired, Outcome, RecordView, World
from controller.resources.common import indexed_lookups
from controller.resources.phone_number import StockKey, StockLedger, purchase_members

# Safety rail: more than this share of a kind's existing resources updated, replaced, archived,
# deleted, unassigned or forgotten in one plan needs --force, once a kind has at least RAIL_MINIMUM.
# Unassign and forget count: they touch nothing a user pays for on Bird, but a user loses a number.
RAIL_SHARE = Decimal("0.10")
RAIL_MINIMUM = 10
RAIL_ACTIONS = frozenset({"update", "replace", "archive", "delete", "unassign"})


@dataclass
class Context:
    """What compare functions may look up while the plan is computed (in-memory only)."""

    world: World
    desired_by_address: dict[str, Desired]
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    # Numbers this plan adds to each organization's pool (bought or adopted), and stock numbers
    # already picked, so two PhoneNumbers never pick the same stock number and limits and the
    # one-number rule count the whole plan.
    pool_additions: Counter[str] = field(default_factory=Counter)
    stock: StockLedger | None = None
    # Number strings held by resources in this plan (to spot a number claimed twice).
    claimed_numbers: dict[str, str] = field(default_factory=dict)
    # Lookup tables over observed collections, built once: keeps planning linear in size.
    indexes: dict[tuple[int, str], dict[Any, dict[str, Any]]] = field(default_factory=dict)
    # `senderctl import`: adopt owned numbers that match a `select` spec and nothing holds, where a
    # plan refuses to buy beside them.
    adopt_unmanaged: bool = False

    def index(self, items: list[dict[str, Any]], key: Callable[[dict[str, Any]], Any], name: str) -> dict[Any, Any]:
        """items keyed by key(item); `name` identifies the key function for the cache."""
        cache_key = (id(items), name)
        table = self.indexes.get(cache_key)
        if table is None:
            table = self.indexes[cache_key] = {}
            for item in items:
                table.setdefault(key(item), item)
        return table

    def held_count(self, organization: str) -> int:
        counts = self.indexes.get((0, "held"))
        if counts is None:
            counts = self.indexes[(0, "held")] = dict(Counter(self.world.tenant.held_numbers.values()))
        # Purchases the platform API is carrying out hold a slot of the limit too.
        return counts.get(organization, 0) + self.world.tenant.api_purchases_pending.get(organization, 0)

    def outcome(self, address: str) -> Outcome | None:
        return self.outcomes.get(address)

    def desired(self, address: str) -> Desired | None:
        return self.desired_by_address.get(address)

    def desired_of_kind(self, kind: str) -> list[Desired]:
        return [d for d in self.desired_by_address.values() if d.kind == kind]

    def take_stock(self, key: StockKey) -> dict[str, Any] | None:
        if self.stock is None:
            self.stock = StockLedger(self.world.stock, self.world.tenant.held_numbers)
        return self.stock.take(key)


def sort_key(d: Desired) -> tuple[int, tuple[Any, ...]]:
    return ORDER.get(d.kind, 99), address_key(d.address)


def compute_plan(desired: Sequence[Desired], world: World, *, specs_fingerprint: str,
                 controls: Controls | None = None, adopt_unmanaged: bool = False) -> Plan:
    """`controls` narrows the plan (--target, --org, the Organizations the specs declare) and pauses
    resources; the default plans everything the specs and the state hold. `adopt_unmanaged`: see Context."""
    with indexed_lookups():  # Bird objects are found by id from an index per list, for this plan only
        return _compute_plan(desired, world, specs_fingerprint=specs_fingerprint, controls=controls,
                             adopt_unmanaged=adopt_unmanaged)


def _compute_plan(desired: Sequence[Desired], world: World, *, specs_fingerprint: str,
                  controls: Controls | None, adopt_unmanaged: bool) -> Plan:
    controls = controls or Controls()
    ctx = Context(world=world, desired_by_address={d.address: d for d in desired}, adopt_unmanaged=adopt_unmanaged)
    scope = Scope.of(desired, world, ctx.desired_by_address, controls)
    changes: list[Change] = []
    refusals: list[Refusal] = []
    waiting: list[Waiting] = []
    failed: list[Failed] = []
    ready: list[str] = []
    paused: list[str] = []
    out_of_scope: list[OutOfScope] = []

    # Every desired resource is compared, in scope or not, so that dependents and status know where
    # it stands; only what is in scope and not paused is kept.
    # A resource whose workspace was not read now (a targeted reconcile) is skipped: nothing may change
    # it, and comparing it against the last observation only cost time (at 100 workspaces, 99 % of the
    # plan). An Organization spans workspaces: the purchases planned now need its outcome.
    compared = [d for d in desired if d.address not in scope.unread_desired or d.kind == "Organization"]
    for d in sorted(compared, key=sort_key):
        outcome = compliance.gate(d, KINDS[d.kind].compare(d, ctx))
        ctx.outcomes[d.address] = outcome
        if not scope.covers_desired(d.address):
            release_purchases(d, outcome, ctx)
            if outcome.changes or outcome.refusals:
                out_of_scope.append(OutOfScope(d.address, scope.exclusion_of_desired(d.address)))
            continue
        if d.address in controls.paused:
            release_purchases(d, outcome, ctx)
            paused.append(d.address)
            continue
        changes.extend(outcome.changes)
        refusals.extend(outcome.refusals)
        if outcome.status == "Ready" and not outcome.changes:
            ready.append(d.address)
        elif outcome.status == "Waiting" and not outcome.changes:
            waiting.append(Waiting(d.address, outcome.reason, outcome.recheck_after))
        elif outcome.status == "Failed":
            failed.append(Failed(d.address, outcome.reason))

    forget: list[str] = []
    keeps: dict[str, str] = {}
    for address, record in sorted(world.records.items(), key=lambda item: address_key(item[0])):
        if address in ctx.desired_by_address or record.kind not in KINDS:
            continue
        hands_off = scope.record_exclusion(record)
        if hands_off is not None:
            out_of_scope.append(OutOfScope(address, hands_off))
            continue
        if scope.organization_of(record) in controls.paused_orgs:
            paused.append(address)
            continue
        unread = unobserved(record, world)
        if unread:
            # Not found on Bird only because Bird could not be read: never forget it for that.
            waiting.append(Waiting(address, f"removed from the specs, kept until Bird can be read: {unread}"))
            continue
        removal = KINDS[record.kind].removal(record, ctx)
        changes.extend(removal.changes)
        refusals.extend(removal.refusals)
        if removal.status == "Waiting" and not removal.changes:  # kept until something else is ready
            waiting.append(Waiting(address, removal.reason, removal.recheck_after))
        elif removal.status == "Ready" and not removal.changes and not removal.refusals:
            forget.append(address)
            keeps[address] = removal.reason or "removed from the state only; Bird is not touched"

    refusals.extend(shared_bird_objects(ctx))
    refusals.extend(organization.limit_refusals(changes, ctx))
    refusals.extend(archive_blockers(changes, world))
    refusals.extend(safety_rails(changes, world, ctx, scope, forget=forget))
    changes.sort(key=change_order)
    specs_fp = specs_fingerprint
    if controls_view(controls):
        # A resource paused (or a scope narrowed) after a plan was saved makes that plan stale.
        specs_fp = fingerprint(specs_fingerprint, controls_view(controls))
    return Plan(
        fingerprint_source=lambda: fingerprint(specs_fp, world.fingerprint_view()),
        changes=tuple(changes),
        waiting=tuple(waiting),
        refusals=tuple(refusals),
        failed=tuple(failed),
        ready=tuple(ready),
        forget=tuple(forget),
        keeps=keeps,
        specs_fingerprint=specs_fp,
        paused=tuple(sorted(paused, key=address_key)),
        out_of_scope=tuple(sorted(out_of_scope, key=lambda o: address_key(o.address))),
        scope=controls.to_json() if controls.narrowed else {},
    )


def shared_bird_objects(ctx: Context) -> list[Refusal]:
    """One spec per Bird object: two resources of the specs that hold (or would adopt) one Bird object would
    flip it between them at every apply (its assignment, its description). Refused, naming both."""
    holders: defaultdict[str, list[str]] = defaultdict(list)
    for address, outcome in ctx.outcomes.items():
        bird_id = outcome.facts.get("birdId")
        if bird_id:
            holders[str(bird_id)].append(address)
    out = []
    for bird_id, addresses in sorted(holders.items()):
        if len(addresses) < 2:
            continue
        first, *others = sorted(addresses)
        held = [a for a in addresses if (r := ctx.world.records.get(a)) is not None and r.bird_id == bird_id]
        whose = f" ({held[0]} holds it in the state)" if held else ""
        for other in others:
            out.append(Refusal(other, (
                f"{first} and {other} both name Bird object {bird_id}{whose}: one spec per Bird object, or every "
                f"apply would move it between them. Keep one: remove or change the other (a different `select` "
                "or `number`, another name)")))
    return out


def release_purchases(d: Desired, outcome: Outcome, ctx: Context) -> None:
    """A number this plan will not buy (paused, out of scope) takes no stock and no pool slot."""
    for change in outcome.changes:
        if change.action == "create" and change.kind in ("PhoneNumber", "NumberPool"):
            number = change.payload.get("number")
            if ctx.stock is not None:  # the ledger's cursor has passed it: no later purchase re-takes it
                ctx.stock.taken.discard(number)
            ctx.claimed_numbers.pop(number, None)
            ctx.pool_additions[d.organization] -= 1


def controls_view(controls: Controls) -> dict[str, Any]:
    view: dict[str, Any] = {}
    if controls.narrowed:
        view["scope"] = controls.to_json()
    if controls.paused or controls.paused_orgs:
        view["paused"] = sorted(controls.paused) + sorted(f"Organization/{o}/*" for o in controls.paused_orgs)
    return view


@dataclass
class Scope:
    """The part of the desired resources and records a plan acts on (see controller.reconcile.scope)."""

    controls: Controls
    orgs: OrgIndex
    desired_in_scope: set[str] | None  # None: every desired resource
    reason: str = ""
    # The workspaces this plan's observation read (None: all). What lives elsewhere was not seen now:
    # it is never changed, and a record there is never taken for "deleted on Bird".
    observed: frozenset[str] | None = None
    unread_desired: frozenset[str] = frozenset()

    @classmethod
    def of(cls, desired: Sequence[Desired], world: World, by_address: dict[str, Desired],
           controls: Controls) -> Scope:
        orgs = OrgIndex.build(desired, world.records, world.tenant.orgs)
        observed = world.observed_workspaces
        unread = frozenset() if observed is None else frozenset(
            d.address for d in desired if not (desired_workspaces(d) or {None}) <= observed)
        if not controls.narrowed:
            return cls(controls, orgs, None, observed=observed, unread_desired=unread)
        roots = {d.address for d in desired
                 if d.address in controls.targets or document_address(d) in controls.targets
                 or d.organization in controls.orgs}
        reasons = []
        if controls.targets:
            reasons.append("not a --target (" + ", ".join(sorted(controls.targets)) + ") nor a dependency of one")
        if controls.orgs:
            reasons.append("not in --org " + ", ".join(sorted(controls.orgs)))
        return cls(controls, orgs, with_dependencies(roots, by_address), "; ".join(reasons), observed, unread)

    def covers_desired(self, address: str) -> bool:
        if address in self.unread_desired:
            return False
        return self.desired_in_scope is None or address in self.desired_in_scope

    def exclusion_of_desired(self, address: str) -> str:
        return UNREAD_REASON if address in self.unread_desired else self.reason

    def organization_of(self, record: RecordView) -> str | None:
        return self.orgs.organization_of(record)

    def record_exclusion(self, record: RecordView) -> str | None:
        """Why a record the specs no longer declare must be left alone, or None to plan its removal."""
        if self.observed is not None and self.orgs.workspace_of(record) not in self.observed:
            return UNREAD_REASON
        org = self.organization_of(record)
        declared = self.controls.declared_orgs
        if declared is not None and org is not None and org not in declared:
            return (f"belongs to Organization {org}, which these specs do not declare; "
                    "it is neither forgotten nor archived")
        if self.controls.narrowed:
            targeted = record.address in self.controls.targets or (org is not None and org in self.controls.orgs)
            if not targeted:
                return self.reason
        return None


UNREAD_REASON = ("its Bird workspace was not read by this reconcile (a targeted reconcile reads only the workspaces "
                 "of what it reconciles); it is neither changed nor forgotten, archived or unassigned")


def unobserved(record: RecordView, world: World) -> str | None:
    """Why the Bird workspace holding this record could not be read, if it could not."""
    workspace_id = record.data.get("workspaceId")
    return world.unreachable.get(f"workspace {workspace_id}") if workspace_id else None


REMOVALS = frozenset({"archive", "delete", "unassign"})


def change_order(change: Change) -> tuple[int, int, tuple[Any, ...]]:
    """Removals first, in reverse dependency order; then everything else in dependency order (pool
    members by number: [2] before [10])."""
    rank = ORDER.get(change.kind, 99)
    if change.action in REMOVALS:
        return 0, -rank, address_key(change.address)
    return 1, rank, address_key(change.address)


def archive_blockers(changes: Sequence[Change], world: World) -> list[Refusal]:
    """Seed 002: a number is archived only when nothing uses it any more — counting what this
    same plan removes first (an unassign, a channel delete)."""
    unassigned = {c.payload.get("number") for c in changes if c.action == "unassign"}
    deleted = {c.payload.get("connectorId") for c in changes if c.action == "delete" and c.kind == "Channel"}
    out = []
    for change in changes:
        if change.action != "archive":
            continue
        number = change.payload.get("number")
        blockers = []
        user = world.tenant.assignments.get(number or "")
        if user and number not in unassigned:
            blockers.append(f"assigned to {user}")
        for channels in world.channels.values():
            for channel in channels:
                if channel.get("identifier") == number and channel.get("connectorId") not in deleted:
                    blockers.append(f"SMS channel connector {channel.get('connectorId')} (campaign "
                                    f"{channel.get('useCaseId')})")
        blockers += [f"unfinished {op.action} of {op.address}" for op in world.open_operations
                     if any(n == number for _, n in purchase_members(op.address, op.request))]
        if blockers:
            out.append(Refusal(change.address, f"{number} cannot be archived while it is still in use: "
                               f"{'; '.join(blockers)}. Remove those uses first"))
    return out


def safety_rails(changes: Iterable[Change], world: World, ctx: Context | None = None,
                 scope: Scope | None = None, forget: Iterable[str] = ()) -> list[Refusal]:
    """Per Organization and kind: updating, replacing, archiving, deleting, unassigning or forgetting
    more than the share its spec.safety.maxChangeShare allows (10 % by default) of the existing
    resources (once there are at least RAIL_MINIMUM) needs --force."""
    def org_of(address: str) -> str | None:
        d = ctx.desired(address) if ctx is not None else None
        if d is not None:
            return d.organization
        record = world.records.get(address)
        return scope.organization_of(record) if scope is not None and record is not None else None

    existing = Counter((org_of(a), r.kind) for a, r in world.records.items())
    risky: defaultdict[tuple[str | None, str], list[tuple[str, str]]] = defaultdict(list)  # (address, action)
    for change in changes:
        if change.action in RAIL_ACTIONS:
            risky[(org_of(change.address), change.kind)].append((change.address, change.action))
    for address in forget:
        record = world.records.get(address)
        if record is not None:
            risky[(org_of(address), record.kind)].append((address, "forget"))
    out = []
    for (org, kind), touched in sorted(risky.items(), key=lambda item: (str(item[0][0]), item[0][1])):
        total = existing.get((org, kind), 0)
        share = allowed_share(org, kind, ctx)
        if total >= RAIL_MINIMUM and Decimal(len(touched)) > share * total:
            where = f" of Organization {org}" if org else ""
            out.append(
                Refusal(
                    f"{kind}/*",
                    f"this plan would {', '.join(sorted({action for _, action in touched}))} {len(touched)} of "
                    f"{total} existing {kind} resources{where} (more than {percent(share)} %, spec.safety.maxChangeShare); "
                    "review the plan, then apply with --force if it is intended",
                    "--force",
                )
            )
    return out


def percent(share: Decimal) -> str:
    return f"{share * 100:f}".rstrip("0").rstrip(".")


def allowed_share(org: str | None, kind: str, ctx: Context | None) -> Decimal:
    """The Organization's spec.safety.maxChangeShare for `kind` (its default, else RAIL_SHARE)."""
    d = ctx.desired(f"Organization/{org}") if ctx is not None and org else None
    shares = d.context.get("maxChangeShare") or {} if d is not None else {}
    value = shares.get(kind) or shares.get("default")
    return Decimal(value) if value else RAIL_SHARE
