"""What every emulated Bird domain shares: one clock, one store, one event outbox, one error shape.

The domains (``controller.emulator.domains``: numbers, 10DLC compliance, channels, notifications) are
mixins over ``Kernel``; ``controller.emulator.core.Emulator`` composes them. Each domain declares its
endpoints in ``ROUTES`` (Bird route name -> method) and its clock transitions in ``TIMERS`` (timer kind
-> method), so an endpoint's routes, validation and lifecycle live in one module while the clock, the
objects, the charges and the outbox stay one shared store. The request-count and rate-limit layer is
``controller.emulator.faults``, also shared by every route.

Each endpoint method takes the resolved workspace or organization, the path parameters, the query and
the decoded body, and returns ``(status, json)`` or raises ``ApiError``. The JSON written by the domains
is the single source of the shapes the emulator serves (field names are Bird's).
"""

from __future__ import annotations

import heapq
import random
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, ClassVar

from controller.emulator import policy
from controller.emulator.collection import Collection, InvalidPageToken, Item, decode_token, encode_token
from controller.emulator.errors import ApiError, invalid, invalid_field, not_found
from controller.emulator.faults import RequestLimits
from controller.emulator.validation import Problems
from controller.emulator.world import AccessKeySpec, OrganizationSpec, WorkspaceSpec, World

Query = Mapping[str, list[str]]
Answer = tuple[int, Any]
SMS_CAPABILITIES = {"sms": {"inbound": True, "outbound": True}, "mms": {"inbound": True, "outbound": True},
                    "voice": {"inbound": True, "outbound": True}}


def rfc3339(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def money(amount: Decimal, currency: str = policy.CURRENCY) -> dict[str, Any]:
    """Bird's Money: integer ``amount`` scaled by ``exponent``."""
    return {"currencyCode": currency, "amount": int(amount.scaleb(-policy.MONEY_EXPONENT)),
            "exponent": policy.MONEY_EXPONENT}


@dataclass
class Outgoing:
    """A webhook due for delivery: which subscription, what event, the JSON body."""

    subscription_id: str
    workspace_id: str
    url: str
    signing_key: str = field(repr=False)
    event: str
    body: dict[str, Any]
    # One request id per event, kept by every retry: a receiver that saw the first attempt recognises
    # the retry as a replay (Bird's messagebird-request-id header).
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    attempt: int = 0
    # The messagebird-request-timestamp of the first attempt, which every retry carries again.
    timestamp: str = ""


@dataclass(order=True)
class Timer:
    due: float
    seq: int
    kind: str = field(compare=False)
    workspace_id: str = field(compare=False)
    object_id: str = field(compare=False)


@dataclass
class OrgState:
    spec: OrganizationSpec
    stock: Collection = field(default_factory=Collection)
    stock_by_number: dict[str, str] = field(default_factory=dict)   # number -> stock item id
    resellers: Collection = field(default_factory=Collection)


@dataclass
class WorkspaceState:
    spec: WorkspaceSpec
    balance: Decimal
    numbers: Collection = field(default_factory=Collection)
    brands: Collection = field(default_factory=Collection)
    vettings: dict[str, Collection] = field(default_factory=dict)    # brand id -> vettings
    campaigns: dict[str, Collection] = field(default_factory=dict)   # brand id -> campaigns
    connectors: Collection = field(default_factory=Collection)
    channels: Collection = field(default_factory=Collection)
    webhooks: Collection = field(default_factory=Collection)

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def organization_id(self) -> str:
        return self.spec.organization_id


class Clock:
    """The emulator's clock: starts at the real time and moves only when told."""

    def __init__(self, start: float | None = None) -> None:
        self.now = time.time() if start is None else start

    def iso(self) -> str:
        return rfc3339(self.now)



class Kernel(RequestLimits):
    """The shared store and clock. The HTTP layer holds ``lock`` around each endpoint call; the admin
    methods (``advance``, ``decide``, ``inbound``, ``reset``, ``dump``) take it themselves, so tests may
    call them from another thread than the server's."""

    ROUTES: ClassVar[dict[str, str]] = {}
    TIMERS: ClassVar[dict[str, str]] = {}

    def __init__(self, world: World | None = None, *, seed: int = 0) -> None:
        self.world = world or World.default()
        self.seed = seed
        self.lock = threading.RLock()
        self.reset()

    # ------------------------------------------------------------------------------------ world setup

    # What reset() does not rebuild: the world it starts from, its seed and the lock itself.
    _FIXED = ("world", "seed", "lock", "snapshots")

    def snapshot(self, name: str) -> None:
        """Keep a copy of every object, the clock and the timers under `name` (admin: reliability tests
        return to one moment of a long scenario many times without replaying it)."""
        import copy

        with self.lock:
            if not hasattr(self, "snapshots"):
                self.snapshots: dict[str, dict[str, Any]] = {}
            live = {k: v for k, v in vars(self).items() if k not in self._FIXED}
            self.snapshots[name] = copy.deepcopy(live)

    def restore(self, name: str) -> None:
        """Back to the moment `snapshot(name)` kept (the request counts included); KeyError if none."""
        import copy

        with self.lock:
            saved = getattr(self, "snapshots", {})[name]
            for key, value in copy.deepcopy(saved).items():
                setattr(self, key, value)

    def reset(self) -> None:
        """Back to the world it started with (the clock restarts at the real time)."""
        with self.lock:
            self.rng = random.Random(self.seed)
            self.clock = Clock()
            self.keys: dict[str, AccessKeySpec] = {k.key: k for k in self.world.access_keys}
            self.orgs: dict[str, OrgState] = {}
            self.workspaces: dict[str, WorkspaceState] = {}
            self.owner_of_number: dict[str, tuple[str, str]] = {}    # number -> (workspace, number id)
            self.connector_of_number: dict[str, str] = {}            # number id -> connector id
            self.channel_of_identifier: dict[str, tuple[str, str]] = {}  # number -> (workspace, channel id)
            self.index: dict[str, tuple[str, str, str | None]] = {}  # id -> (kind, workspace, brand id)
            self.charges: list[dict[str, Any]] = []
            self.deliveries: list[dict[str, Any]] = []
            self.outbox: list[Outgoing] = []
            self.timers: list[Timer] = []
            self.retries: dict[str, Outgoing] = {}                   # retry key -> delivery due again
            self.webhook_logs: dict[str, dict[str, Any]] = {}        # request id -> its subscription log entry
            self.contacts: dict[str, str] = {}                       # sender number -> Bird contact id
            self.requests: Counter[str] = Counter()
            self.requests_by_scope: dict[str, Counter[str]] = {}  # workspace or organization id -> route -> n
            # Every write (any method but GET), in arrival order, with the Senderctl-Holder header that names
            # the daemon replica and lease epoch it was sent under (policy.HOLDER_LOG).
            self.write_log: list[dict[str, Any]] = []
            self.rate_windows: dict[tuple[str, str], deque[float]] = {}
            self._timer_seq = 0
            taken: set[str] = set()
            for org in self.world.organizations:
                self._build_organization(org, taken)

    def _build_organization(self, spec: OrganizationSpec, taken: set[str]) -> None:
        """Each organization's objects at the start (resellers, stock, owned numbers): the composed
        emulator knows which domain builds which."""
        raise NotImplementedError

    def new_id(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    # ----------------------------------------------------------------------------------- routing

    @classmethod
    def route_table(cls) -> dict[str, str]:
        """Every Bird route name this emulator serves -> the method serving it, from each domain's
        ``ROUTES``; a route claimed by two domains is a programming error."""
        return cls._merged("ROUTES")

    @classmethod
    def _merged(cls, attribute: str) -> dict[str, str]:
        cached = cls.__dict__.get(f"_merged_{attribute}")
        if cached is not None:
            return cached
        table: dict[str, str] = {}
        for klass in reversed(cls.__mro__):
            for name, method in vars(klass).get(attribute, {}).items():
                if name in table:
                    raise TypeError(f"{attribute} entry {name!r} is claimed by two domains")
                table[name] = method
        setattr(cls, f"_merged_{attribute}", table)
        return table

    def handler(self, route_name: str) -> Callable[[Any, dict[str, str], Query, Any], Answer]:
        """The bound method serving the Bird route called ``route_name``."""
        return getattr(self, self.route_table()[route_name])

    # ------------------------------------------------------------------------------------- access

    def authorize(self, authorization: str | None) -> AccessKeySpec:
        scheme, _, key = (authorization or "").partition(" ")
        spec = self.keys.get(key.strip()) if scheme.lower() == "accesskey" else None
        if spec is None:
            raise ApiError(401, policy.CODE_UNAUTHORIZED,
                           "Authorization header must be 'AccessKey <key>' with a valid access key")
        return spec

    def owned_workspace(self, key: AccessKeySpec, workspace_id: str,
                        organization_id: str | None = None) -> WorkspaceState:
        ws = self.workspaces.get(workspace_id)
        if ws is None or not (ws.organization_id in key.organizations or ws.id in key.workspaces):
            raise not_found(f"workspace {workspace_id}")
        if organization_id is not None and ws.organization_id != organization_id:
            raise not_found(f"workspace {workspace_id} in organization {organization_id}")
        return ws

    def owned_organization(self, key: AccessKeySpec, organization_id: str) -> OrgState:
        org = self.orgs.get(organization_id)
        if org is None or organization_id not in key.organizations:
            raise not_found(f"organization {organization_id}")
        return org


    # ----------------------------------------------------------------------------------- pagination

    @staticmethod
    def page_args(query: Query, max_limit: int = policy.MAX_PAGE_SIZE) -> tuple[int, int, bool]:
        """``limit``, the cursor and ``reverse`` from Bird's list query; 422 naming the bad parameter."""
        problems = Problems()
        limit = policy.DEFAULT_PAGE_SIZE
        raw_limit = (query.get("limit") or [None])[-1]
        if raw_limit is not None:
            try:
                limit = int(raw_limit)
            except ValueError:
                limit = -1
            if not 1 <= limit <= max_limit:
                problems.add("limit", f"must be an integer between 1 and {max_limit}")
        raw_reverse = (query.get("reverse") or ["false"])[-1].lower()
        if raw_reverse not in ("true", "false"):
            problems.add("reverse", "must be true or false")
        reverse = raw_reverse == "true"
        after = 0
        token = (query.get("pageToken") or [None])[-1]
        if token:
            if len(token) > policy.MAX_PAGE_TOKEN:
                problems.add("pageToken", f"must be at most {policy.MAX_PAGE_TOKEN} characters long")
            else:
                try:
                    after = decode_token(token, reverse)
                except InvalidPageToken:
                    problems.add("pageToken", "is not a valid page token for this list and order")
        if problems:
            raise invalid(problems, "Invalid pagination")
        return limit, after, reverse

    def paginate(self, collection: Collection, query: Query, keep: Callable[[Item], bool] | None = None,
                 render: Callable[[Item], Any] | None = None, max_limit: int = policy.MAX_PAGE_SIZE) -> Answer:
        limit, after, reverse = self.page_args(query, max_limit)
        items, cursor = collection.page(limit, after, keep, reverse)
        body: dict[str, Any] = {"results": [render(i) if render else i for i in items]}
        if cursor is not None:
            body["nextPageToken"] = encode_token(cursor, reverse)
        return 200, body

    # -------------------------------------------------------------------------------------- money

    def _charge(self, ws: WorkspaceState, items: list[tuple[str, Decimal, str, str]]) -> None:
        """Charge every (kind, amount, object id, description) or none: Bird's insufficient-balance error."""
        total = sum((amount for _, amount, _, _ in items), Decimal("0"))
        if total > ws.balance:
            raise ApiError(422, policy.CODE_INSUFFICIENT_BALANCE,
                           f"Insufficient balance: the workspace wallet holds {ws.balance:.2f} "
                           f"{policy.CURRENCY}, this request costs {total:.2f} {policy.CURRENCY}",
                           {"wallet": [f"balance {ws.balance:.2f} is less than {total:.2f}"]})
        for kind, amount, object_id, description in items:
            ws.balance -= amount
            self.charges.append({
                "id": self.new_id(), "workspaceId": ws.id, "kind": kind, "objectId": object_id,
                "description": description, "amount": f"{amount:.2f}", "currencyCode": policy.CURRENCY,
                "createdAt": self.clock.iso()})

    # ----------------------------------------------------------------------------- clock, lifecycles

    def _schedule(self, delay: float, kind: str, workspace_id: str, object_id: str) -> None:
        self._timer_seq += 1
        heapq.heappush(self.timers, Timer(self.clock.now + delay, self._timer_seq, kind, workspace_id, object_id))

    def advance(self, seconds: float) -> list[dict[str, Any]]:
        """Move the clock; run every transition that falls due, in order, at its own time. Webhooks for
        them are queued in ``outbox``. Returns the transitions made."""
        if seconds < 0:
            raise invalid_field("seconds", "must be >= 0: the clock never goes back")
        if not seconds <= policy.MAX_ADVANCE_SECONDS:  # also NaN and infinity: the clock must stay readable
            raise invalid_field("seconds", f"must be at most {policy.MAX_ADVANCE_SECONDS} (ten years) per call")
        with self.lock:
            target = self.clock.now + seconds
            made: list[dict[str, Any]] = []
            while self.timers and self.timers[0].due <= target:
                timer = heapq.heappop(self.timers)
                self.clock.now = max(self.clock.now, timer.due)
                change = self._fire(timer)
                if change:
                    made.append(change)
            self.clock.now = target
            return made


    def next_due(self, until: float) -> float | None:
        """When the earliest timer falls due, if it does by `until` (emulator clock)."""
        with self.lock:
            return self.timers[0].due if self.timers and self.timers[0].due <= until else None

    def _fire(self, timer: Timer) -> dict[str, Any] | None:
        ws = self.workspaces.get(timer.workspace_id)
        method = self._merged("TIMERS").get(timer.kind)
        if ws is None or method is None:
            return None
        return getattr(self, method)(ws, timer.object_id)

    def _find(self, kind: str, object_id: str) -> Item | None:
        found = self.index.get(object_id)
        if found is None or found[0] != kind:
            return None
        ws = self.workspaces[found[1]]
        if kind == "brand":
            return ws.brands.get(object_id)
        if kind in ("vetting", "campaign") and found[2] is not None:
            holder = ws.vettings if kind == "vetting" else ws.campaigns
            return holder[found[2]].get(object_id)
        return None

    def _campaign_anywhere(self, ws: WorkspaceState, campaign_id: str) -> Item | None:
        found = self.index.get(campaign_id)
        if found is None or found[0] != "campaign" or found[1] != ws.id or found[2] is None:
            return None
        return ws.campaigns[found[2]].get(campaign_id)

    def _emit(self, ws: WorkspaceState, event: str, payload: Item, attributes: dict[str, str]) -> None:
        """Queue ``event`` for every matching subscription (notifications domain)."""
        raise NotImplementedError

    def take_outbox(self) -> list[Outgoing]:
        with self.lock:
            out, self.outbox = self.outbox, []
            return out

    @staticmethod
    def _object(body: Any) -> dict[str, Any]:
        if body is None:
            return {}
        if not isinstance(body, dict):
            raise ApiError(422, policy.CODE_INVALID, "The request body must be a JSON object",
                           {"body": ["must be a JSON object"]})
        return body
