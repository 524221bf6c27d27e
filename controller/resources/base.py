"""The one small interface every resource kind implements, and the plain data it works on.

A kind module answers three questions:
  * expand:  which desired resources do the specs declare?            (pure)
  * compare: given the observed world, what must change, or why wait?  (pure)
  * change:  carry one planned change out against Bird and the state. (I/O, in apply)

Observation (reading Bird and the state into a `World`) lives in controller/reconcile/observe.py because
one Bird list call answers for several kinds (a workspace's channels serve both the SMS connectors and
webhook filters); each kind says which collections it needs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar

from controller.reconcile.plan import Change, Refusal

if TYPE_CHECKING:
    from controller.bird import BirdClient

T = TypeVar("T")

Status = Literal["Ready", "Waiting", "Failed"]

# Apply order: organization → workspace → brand → vetting → campaign → number → channel →
# assignment → webhook subscription; reversed for removals.
ORDER = {
    "Organization": 0,
    "Workspace": 1,
    "Brand": 2,
    "Vetting": 3,
    "Campaign": 4,
    "PhoneNumber": 5,
    "NumberPool": 5,
    "Channel": 6,
    "Assignment": 7,
    "WebhookSubscription": 8,
}


@dataclass(frozen=True)
class Desired:
    """One resource the specs ask for, in a form the compare step can use without the spec models.

    `fields` is what is compared with Bird (secret-free); `context` carries ids and references the
    compare and apply steps need (Bird org/workspace ids, the spec's deletion policy, secret refs).
    """

    address: str
    kind: str
    organization: str  # Organization metadata.name
    fields: dict[str, Any]
    context: dict[str, Any] = field(default_factory=dict)
    depends_on: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.address.split("/", 1)[1]


@dataclass(frozen=True)
class RecordView:
    """What the state database remembers about a managed resource (plain data for the planner)."""

    address: str
    kind: str
    bird_id: str | None
    spec_hash: str | None
    spec: dict[str, Any]
    data: dict[str, Any]


@dataclass(frozen=True)
class OperationView:
    id: int
    address: str
    action: str
    key: str
    request: dict[str, Any]


@dataclass(frozen=True)
class OrgConfigView:
    bird_organization_id: str
    enabled: bool
    limit: int
    weekly_price: Decimal
    currency: str
    ten_dlc_active: bool


@dataclass(frozen=True)
class TenantView:
    orgs: dict[str, OrgConfigView] = field(default_factory=dict)
    # number (E.164) -> user, active assignments only
    assignments: dict[str, str] = field(default_factory=dict)
    # number -> organization, for numbers the org holds (not archived)
    held_numbers: dict[str, str] = field(default_factory=dict)
    archived_numbers: frozenset[str] = frozenset()
    # Made through the platform API (the API owns them; the reconciler leaves them alone).
    api_numbers: frozenset[str] = frozenset()
    api_assignments: frozenset[str] = frozenset()
    # organization -> purchases the platform API has reserved a slot of the limit for and not finished
    api_purchases_pending: dict[str, int] = field(default_factory=dict)
    # number -> (the record that forgot it, when): still held and billed, managed by no record
    forgotten: dict[str, tuple[str, datetime]] = field(default_factory=dict)


@dataclass
class World:
    """Everything observed, as plain dicts keyed the way the planner looks them up.

    Bird objects are JSON dicts exactly as Bird returns them. A missing key means "not observed"
    (e.g. the brand's campaigns are not listed when the brand does not exist yet).
    """

    numbers: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # workspace id -> owned numbers
    stock: dict[tuple[str, str, str, str], list[dict[str, Any]]] = field(default_factory=dict)
    brands: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # workspace id -> brands
    vettings: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    campaigns: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    resellers: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    # workspace id -> channels, the SMS connectors' among them (a channel carries its connectorId, number
    # `identifier`, campaign `useCaseId` and `useCaseType`): Bird reports a channel's
    # readiness on the channel ("status": "active", seed 001 "Confirm a 10DLC channel's readiness").
    channels: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    subscriptions: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    records: dict[str, RecordView] = field(default_factory=dict)
    open_operations: list[OperationView] = field(default_factory=list)
    tenant: TenantView = field(default_factory=TenantView)
    # scope ("workspace <id>") -> why it could not be observed (404, auth)
    unreachable: dict[str, str] = field(default_factory=dict)
    # Addresses the state has reported a condition for (planned before): not new to the specs.
    known_addresses: frozenset[str] = frozenset()
    # secrets that could not be resolved: address -> message (plan needs them; validate does not)
    missing_secrets: dict[str, str] = field(default_factory=dict)
    # The Bird workspaces read by this observation; None: every workspace. A targeted reconcile reads only
    # some (the rest, if present, is an earlier observation): nothing elsewhere is changed or removed.
    observed_workspaces: frozenset[str] | None = None
    # Bird's clock when observed (its Date header): how old Bird's own dates are (ghost campaigns).
    bird_now: datetime | None = None

    def fingerprint_view(self) -> dict[str, Any]:
        """The part of the world a plan depends on, without volatile fields, for staleness checks."""

        def strip(items: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
            return sorted(
                ({k: v for k, v in item.items() if k not in VOLATILE_FIELDS} for item in items),
                key=lambda d: str(d.get("id", "")),
            )

        def coll(mapping: dict[Any, list[dict[str, Any]]]) -> dict[str, Any]:
            return {str(k): strip(v) for k, v in sorted(mapping.items(), key=lambda kv: str(kv[0]))}

        return {
            "numbers": coll(self.numbers),
            "brands": coll(self.brands),
            "vettings": coll(self.vettings),
            "campaigns": coll(self.campaigns),
            "channels": coll(self.channels),
            "subscriptions": coll(self.subscriptions),
            "records": {a: [r.bird_id, r.spec_hash, r.data] for a, r in sorted(self.records.items())},
            "tenant": {
                "orgs": {k: vars(v) for k, v in sorted(self.tenant.orgs.items())},
                "assignments": dict(sorted(self.tenant.assignments.items())),
                "held": dict(sorted(self.tenant.held_numbers.items())),
                "archived": sorted(self.tenant.archived_numbers),
            },
            "unreachable": dict(sorted(self.unreachable.items())),
        }


# Timestamps move without anything a plan depends on changing.
VOLATILE_FIELDS = frozenset({"updatedAt", "lastUpdatedAt", "modifiedAt"})


@dataclass(frozen=True)
class Outcome:
    """The compare step's answer for one desired resource."""

    status: Status
    reason: str = ""
    changes: tuple[Change, ...] = ()
    refusals: tuple[Refusal, ...] = ()
    recheck_after: int = 300
    # Facts dependents need: e.g. {"birdId": ..., "status": "APPROVED", "channelId": ...}
    facts: dict[str, Any] = field(default_factory=dict)


class PlanContext(Protocol):
    """What the compare step may ask about the rest of the plan (controller.reconcile.planner.Context
    implements it, in memory only)."""

    world: World
    desired_by_address: dict[str, Desired]
    # Numbers this plan adds to each organization's pool, and number strings claimed by a resource.
    pool_additions: Counter[str]
    claimed_numbers: dict[str, str]
    indexes: dict[tuple[int, str], dict[Any, dict[str, Any]]]
    adopt_unmanaged: bool

    def outcome(self, address: str) -> Outcome | None: ...
    def desired(self, address: str) -> Desired | None: ...
    def desired_of_kind(self, kind: str) -> list[Desired]: ...
    def index(self, items: list[dict[str, Any]], key: Callable[[dict[str, Any]], Any], name: str) -> dict[Any, Any]: ...
    def held_count(self, organization: str) -> int: ...
    def take_stock(self, key: tuple[str, str, str, str]) -> dict[str, Any] | None: ...


class ApplyIO(Protocol):
    """What a kind's `change` may touch: Bird, the state and the clock (controller.reconcile.apply.JournaledIO
    implements it, journaling every Bird write)."""

    client: BirdClient
    now: Callable[[], datetime]

    def save(self, address: str, kind: str, *, bird_id: str | None, spec: dict[str, Any],
             data: dict[str, Any]) -> None: ...
    def save_batch(self, intent_address: str, records: list[dict[str, Any]]) -> None: ...
    def forget(self, address: str) -> None: ...
    def settle(self, address: str, record: Any = None) -> None: ...
    async def tenant_call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T: ...
    def secret(self, address: str, ref: Mapping[str, str], base_dir: str) -> str: ...
    def digest_secret(self) -> bytes: ...
    async def journaled(self, change: Change, *, request: dict[str, Any], call: Callable[[], Awaitable[T]],
                        probe: Callable[[], Awaitable[T | None]] | None = None, key_suffix: str = "") -> T: ...


class ResourceKind(Protocol):
    kind: str

    def compare(self, desired: Desired, ctx: PlanContext) -> Outcome: ...

    def removal(self, record: RecordView, ctx: PlanContext) -> Outcome: ...

    async def change(self, change: Change, io: ApplyIO) -> None: ...
