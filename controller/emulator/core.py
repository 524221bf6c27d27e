"""The emulated Bird: state, clock, lifecycles and every endpoint's behaviour, without any I/O.

Each endpoint is a method named after its route in ``controller.bird.routes`` (``numbers_list`` for
``numbers-list``) that takes the resolved workspace or organization, the path parameters, the query and
the decoded body, and returns ``(status, json)`` or raises ``ApiError``. The JSON written here is the
single source of the shapes the emulator serves (field names are Bird's). Webhooks due to lifecycle
transitions are queued in ``outbox``; the HTTP layer delivers them (``controller.emulator.webhooks``).
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
from typing import Any

from controller.emulator import policy
from controller.emulator.collection import Collection, InvalidPageToken, Item, decode_token, encode_token
from controller.emulator.numbers import generate_us_numbers, is_valid_e164
from controller.emulator.validation import Problems
from controller.emulator.world import AccessKeySpec, OrganizationSpec, WorkspaceSpec, World

Query = Mapping[str, list[str]]
Answer = tuple[int, Any]

BRAND_FIELDS = ("entityType", "firstName", "lastName", "displayName", "companyName", "ein", "einIssuingCountry",
                "phone", "street", "city", "state", "postalCode", "country", "email", "stockSymbol",
                "stockExchange", "website", "vertical", "altBusinessId", "altBusinessIdType",
                "businessContactEmail")
# Bird: once a brand is approved (or has an approved vetting) these cannot change.
BRAND_FROZEN_WHEN_APPROVED = ("entityType", "companyName", "ein", "einIssuingCountry")
CAMPAIGN_FIELDS = ("name", "usecase", "subUsecases", "description", "embeddedLink", "embeddedPhone", "numberPool",
                   "ageGated", "directLending", "subscriberOptin", "subscriberOptout", "subscriberHelp",
                   "samples", "attachmentUrls", "messageFlow", "helpMessage", "helpKeywords", "optoutKeywords",
                   "optinKeywords", "optinMessage", "optoutMessage", "termsAndConditions", "resellerId")
WEBHOOK_FIELDS = ("service", "event", "eventFilters", "template", "url", "signingKey")
WEBHOOK_UPDATE_FIELDS = ("template", "url", "signingKey", "status", "eventFilters")
SMS_CAPABILITIES = {"sms": {"inbound": True, "outbound": True}, "mms": {"inbound": True, "outbound": True},
                    "voice": {"inbound": True, "outbound": True}}


class ApiError(Exception):
    """An error answer in Bird's shape: ``{"code", "message"[, "details"]}``."""

    def __init__(self, status: int, code: str, message: str, details: dict[str, list[str]] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            body["details"] = self.details
        return body


def invalid(problems: Problems | dict[str, list[str]], message: str = "The request body is invalid") -> ApiError:
    details = problems.details if isinstance(problems, Problems) else problems
    return ApiError(422, policy.CODE_INVALID, f"{message}: " + "; ".join(
        f"{name} {' and '.join(msgs)}" for name, msgs in details.items()), details)


def invalid_field(name: str, message: str, code: str = policy.CODE_INVALID) -> ApiError:
    return ApiError(422, code, f"{name} {message}", {name: [message]})


def not_found(what: str) -> ApiError:
    return ApiError(404, policy.CODE_NOT_FOUND, f"{what} not found")


def rfc3339(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def money(amount: Decimal, currency: str = policy.CURRENCY) -> dict[str, Any]:
    """Bird's Money: integer ``amount`` scaled by ``exponent``."""
    return {"currencyCode": currency, "amount": int(amount.scaleb(-policy.MONEY_EXPONENT)),
            "exponent": policy.MONEY_EXPONENT}


def use_case_status(brand_ok: bool, campaign_ok: bool, linked: bool) -> dict[str, Any]:
    """The ``useCaseStatus`` check of seed 001 ("Confirm a 10DLC channel's readiness")."""
    def assertion(name: str, ok: bool, message: str) -> dict[str, Any]:
        item = {"name": name, "displayName": "", "description": "", "status": "ok" if ok else "warning"}
        if not ok:
            item["message"] = message
        return item

    assertions = [assertion("brand", brand_ok, "Brand is not approved"),
                  assertion("campaign", campaign_ok, "Campaign is not approved"),
                  assertion("checks whether number is linked to campaign", linked, "Number status is INACTIVE")]
    return {"name": "useCaseStatus", "displayName": "UseCase Status", "assertions": assertions,
            "status": "ok" if all(a["status"] == "ok" for a in assertions) else "warning"}


@dataclass
class Outgoing:
    """A webhook due for delivery: which subscription, what event, the JSON body."""

    subscription_id: str
    workspace_id: str
    url: str
    signing_key: str = field(repr=False)
    event: str
    body: dict[str, Any]


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


class Emulator:
    """All of Bird the emulator holds. The HTTP layer holds ``lock`` around each endpoint call; the
    admin methods (``advance``, ``decide``, ``inbound``, ``reset``, ``dump``) take it themselves, so tests
    may call them from another thread than the server's."""

    def __init__(self, world: World | None = None, *, seed: int = 0) -> None:
        self.world = world or World.default()
        self.seed = seed
        self.lock = threading.RLock()
        self.reset()

    # ------------------------------------------------------------------------------------ world setup

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
            self.requests: Counter[str] = Counter()
            self.rate_windows: dict[tuple[str, str], deque[float]] = {}
            self._timer_seq = 0
            taken: set[str] = set()
            for org in self.world.organizations:
                self._build_organization(org, taken)

    def _build_organization(self, spec: OrganizationSpec, taken: set[str]) -> None:
        org = self.orgs[spec.id] = OrgState(spec)
        for reseller in spec.resellers:
            org.resellers.add(reseller.id, {
                "id": reseller.id, "organizationId": spec.id, "status": reseller.status,
                "companyName": reseller.companyName, "phone": reseller.phone, "email": reseller.email,
                "createdAt": self.clock.iso(), "updatedAt": self.clock.iso()})
        for stock in spec.stock:
            for number in generate_us_numbers(self.rng, stock.count, prefix=stock.prefix, taken=taken):
                self._add_stock(org, number, stock.type)
        for ws_spec in spec.workspaces:
            ws = self.workspaces[ws_spec.id] = WorkspaceState(ws_spec, ws_spec.wallet)
            for number in generate_us_numbers(self.rng, ws_spec.owned_numbers, taken=taken):
                self._own_number(ws, number, "US", "local", policy.NUMBER_MONTHLY_PRICE)

    def new_id(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def _add_stock(self, org: OrgState, number: str, number_type: str) -> None:
        item_id = self.new_id()
        org.stock.add(item_id, {
            "id": item_id, "countryCode": "US", "type": number_type, "numberString": number,
            "capabilities": SMS_CAPABILITIES, "monthlyPrice": money(policy.NUMBER_MONTHLY_PRICE),
            "backOrderRequired": False})
        org.stock_by_number[number] = item_id

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

    def check_rate(self, scope_id: str, method: str, now: float | None = None) -> None:
        """429 when this workspace (or organization) made more ``method`` requests in the last second
        than the world's ``rateLimits`` allow. Uses the real time, not the emulator's clock."""
        limit = dict(self.world.rate_limits).get(method)
        if limit is None:
            return
        now = time.monotonic() if now is None else now
        window = self.rate_windows.setdefault((scope_id, method), deque())
        while window and window[0] <= now - 1.0:
            window.popleft()
        if len(window) >= limit:
            raise ApiError(429, policy.CODE_RATE_LIMITED,
                           f"Too many {method} requests: the limit is {limit:g} per second per workspace",
                           headers={"Retry-After": str(policy.RATE_LIMIT_RETRY_AFTER)})
        window.append(now)

    # ----------------------------------------------------------------------------------- pagination

    @staticmethod
    def page_args(query: Query) -> tuple[int, int, bool]:
        """``limit``, the cursor and ``reverse`` from Bird's list query; 422 naming the bad parameter."""
        problems = Problems()
        limit = policy.DEFAULT_PAGE_SIZE
        raw_limit = (query.get("limit") or [None])[-1]
        if raw_limit is not None:
            try:
                limit = int(raw_limit)
            except ValueError:
                limit = -1
            if not 1 <= limit <= policy.MAX_PAGE_SIZE:
                problems.add("limit", f"must be an integer between 1 and {policy.MAX_PAGE_SIZE}")
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
                 render: Callable[[Item], Any] | None = None) -> Answer:
        limit, after, reverse = self.page_args(query)
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

    # ------------------------------------------------------------------------------------ numbers

    def numbers_available(self, ws: WorkspaceState, params: dict[str, str], query: Query, body: Any) -> Answer:
        org = self.orgs[ws.organization_id]
        keep = self._stock_filter(query, ("country", "countryCode", "countryCodes"), ("type", "types"))
        return self.paginate(org.stock, query, keep, lambda item: {
            "number": item["numberString"], "country": item["countryCode"], "type": item["type"],
            "capabilities": item["capabilities"], "monthlyRecurringPrice": item["monthlyPrice"],
            "complianceRequirements": []})

    def numbers_stock_items(self, org: OrgState, params: dict[str, str], query: Query, body: Any) -> Answer:
        keep = self._stock_filter(query, ("countryCodes", "countryCode", "country"), ("types", "type"))
        return self.paginate(org.stock, query, keep)

    @staticmethod
    def _stock_filter(query: Query, country_keys: tuple[str, ...], type_keys: tuple[str, ...]
                      ) -> Callable[[Item], bool]:
        def values(keys: tuple[str, ...]) -> set[str]:
            return {part.strip().upper() for key in keys for raw in query.get(key, []) for part in raw.split(",")
                    if part.strip()}

        countries = values(country_keys)
        types = {t.lower() for t in values(type_keys)}
        prefix = (query.get("prefix") or [""])[-1].strip()
        if prefix and not prefix.startswith("+"):
            prefix = "+" + prefix
        return lambda item: ((not countries or item["countryCode"] in countries)
                             and (not types or item["type"] in types)
                             and item["numberString"].startswith(prefix))

    def numbers_list(self, ws: WorkspaceState, params: dict[str, str], query: Query, body: Any) -> Answer:
        prefix = (query.get("prefix") or [""])[-1]
        term = (query.get("searchTerm") or [""])[-1]
        keep = (lambda n: n["number"].startswith(prefix) and term in n["number"]) if prefix or term else None
        return self.paginate(ws.numbers, query, keep)

    def number_get(self, ws: WorkspaceState, params: dict[str, str], query: Query, body: Any) -> Answer:
        return 200, self._number(ws, params["numberId"])

    def _number(self, ws: WorkspaceState, number_id: str) -> Item:
        number = ws.numbers.get(number_id)
        if number is None:
            raise not_found(f"number {number_id}")
        return number

    def numbers_buy(self, ws: WorkspaceState, params: dict[str, str], query: Query, body: Any) -> Answer:
        problems = Problems()
        body = self._object(body)
        problems.unknown_fields(body, ("numbers",))
        entries = body.get("numbers")
        if not isinstance(entries, list) or not entries:
            raise invalid_field("numbers", "must be a non-empty list of {number, country}")
        if len(entries) > policy.MAX_NUMBERS_PER_PURCHASE:
            raise invalid_field("numbers", f"must have at most {policy.MAX_NUMBERS_PER_PURCHASE} items")
        org = self.orgs[ws.organization_id]
        wanted: list[tuple[str, str]] = []
        for i, entry in enumerate(entries):
            if not isinstance(entry, dict):
                problems.add(f"numbers[{i}]", "must be an object with number and country")
                continue
            scope = problems.scoped(f"numbers[{i}]")
            scope.unknown_fields(entry, ("number", "country"))
            number = scope.string(entry, "number", required=True, max_len=30)
            country = scope.string(entry, "country", required=True, max_len=2)
            if number is None or country is None:
                continue
            if not is_valid_e164(number):
                scope.add("number", "must be a valid phone number in E.164 format")
            elif not is_valid_e164(number, country):
                scope.add("country", f"does not match the number {number}")
            elif (number, country.upper()) in wanted:
                scope.add("number", "is listed twice")
            else:
                wanted.append((number, country.upper()))
        if problems:
            raise invalid(problems)
        gone = [i for i, (number, _) in enumerate(wanted) if number not in org.stock_by_number]
        if gone:
            raise ApiError(422, policy.CODE_NOT_IN_STOCK, "Number is no longer available in stock",
                           {f"numbers[{i}].number": [f"{wanted[i][0]} is not available"] for i in gone})
        items = [org.stock.get(org.stock_by_number[number]) for number, _ in wanted]
        return 201, {"results": self._buy(ws, org, [i for i in items if i is not None], long_code=False)}

    def numbers_long_code_buy(self, ws: WorkspaceState, params: dict[str, str], query: Query, body: Any
                              ) -> Answer:
        problems = Problems()
        body = self._object(body)
        problems.unknown_fields(body, ("numberStockItemIds",))
        ids = problems.string_list(body, "numberStockItemIds", required=True, min_items=1,
                                   max_items=policy.MAX_NUMBERS_PER_PURCHASE)
        if problems or ids is None:
            raise invalid(problems)
        org = self.orgs[ws.organization_id]
        if len(set(ids)) != len(ids):
            raise invalid_field("numberStockItemIds", "must not list the same id twice")
        gone = [i for i, item_id in enumerate(ids) if item_id not in org.stock]
        if gone:
            raise ApiError(422, policy.CODE_NOT_IN_STOCK, "Number stock item is no longer available",
                           {f"numberStockItemIds[{i}]": [f"{ids[i]} is not in stock"] for i in gone})
        items = [org.stock.get(item_id) for item_id in ids]
        return 201, {"results": self._buy(ws, org, [i for i in items if i is not None], long_code=True)}

    def _buy(self, ws: WorkspaceState, org: OrgState, items: list[Item], *, long_code: bool) -> list[Item]:
        prices = [Decimal(i["monthlyPrice"]["amount"]).scaleb(i["monthlyPrice"]["exponent"]) for i in items]
        self._charge(ws, [("number", price, item["id"], f"{item['numberString']} first month")
                          for item, price in zip(items, prices, strict=True)])
        bought = []
        for item, price in zip(items, prices, strict=True):
            org.stock.remove(item["id"])
            del org.stock_by_number[item["numberString"]]
            # The owned number keeps its stock item's id, so the charge above already names it.
            number = self._own_number(ws, item["numberString"], item["countryCode"], item["type"], price,
                                      number_id=item["id"])
            bought.append(self._long_code(number) if long_code else number)
        return bought

    def _own_number(self, ws: WorkspaceState, number: str, country: str, number_type: str, price: Decimal,
                    number_id: str | None = None) -> Item:
        number_id = number_id or self.new_id()
        now = self.clock.iso()
        item = {
            "id": number_id, "number": number, "country": country, "type": number_type,
            "capabilities": SMS_CAPABILITIES, "monthlyRecurringPrice": money(price),
            "status": policy.NUMBER_ACTIVE,
            "subscription": {"status": policy.SUBSCRIPTION_ACTIVE, "subscribedAt": now, "updatedAt": now},
            "createdAt": now, "updatedAt": now, "activatedAt": now}
        ws.numbers.add(number_id, item)
        self.owner_of_number[number] = (ws.id, number_id)
        self.index[number_id] = ("number", ws.id, None)
        return item

    @staticmethod
    def _long_code(number: Item) -> Item:
        """The numbers-long-code view of an owned number (same id: Bird's endpoint id)."""
        return {"id": number["id"], "endpointId": number["id"], "numberString": number["number"],
                "countryCode": number["country"], "type": number["type"], "capabilities": number["capabilities"],
                "createdAt": number["createdAt"], "updatedAt": number["updatedAt"]}

    def number_cancel(self, ws: WorkspaceState, params: dict[str, str], query: Query, body: Any) -> Answer:
        number = self._number(ws, params["numberId"])
        subscription = number["subscription"]
        if subscription["status"] != policy.SUBSCRIPTION_CANCELED:
            now = self.clock.now
            subscribed = datetime.fromisoformat(subscription["subscribedAt"].replace("Z", "+00:00")).timestamp()
            periods = int((now - subscribed) // policy.NUMBER_BILLING_PERIOD_SECONDS) + 1
            ends = subscribed + periods * policy.NUMBER_BILLING_PERIOD_SECONDS
            subscription.update(status=policy.SUBSCRIPTION_CANCELED, cancelledAt=rfc3339(now),
                                updatedAt=rfc3339(now))
            number.update(deactivatesAt=rfc3339(ends), updatedAt=rfc3339(now))
            self._schedule(ends - now, "number-deactivate", ws.id, number["id"])
        return 200, number

    # -------------------------------------------------------------------------------------- brands

    def brands_list(self, ws: WorkspaceState, params: dict[str, str], query: Query, body: Any) -> Answer:
        return self.paginate(ws.brands, query)

    def brand_get(self, ws: WorkspaceState, params: dict[str, str], query: Query, body: Any) -> Answer:
        return 200, self._brand(ws, params["brandId"])

    def _brand(self, ws: WorkspaceState, brand_id: str) -> Item:
        brand = ws.brands.get(brand_id)
        if brand is None:
            raise not_found(f"brand {brand_id}")
        return brand

    def brand_create(self, ws: WorkspaceState, params: dict[str, str], query: Query, body: Any) -> Answer:
        body = self._object(body)
        problems = Problems()
        problems.unknown_fields(body, BRAND_FIELDS)
        self._check_brand(body, problems, creating=True)
        if problems:
            raise invalid(problems, "Invalid brand")
        brand_id = self.new_id()
        self._charge(ws, [("brand-registration", policy.BRAND_REGISTRATION_FEE, brand_id,
                           f"10DLC brand registration: {body['displayName']}")])
        now = self.clock.iso()
        brand = {"id": brand_id, "organizationId": ws.organization_id, "createdAt": now, "updatedAt": now,
                 "status": policy.BRAND_PENDING, **{k: body[k] for k in BRAND_FIELDS if body.get(k) is not None},
                 "workspaceIds": [ws.id]}
        ws.brands.add(brand_id, brand)
        ws.vettings[brand_id] = Collection()
        ws.campaigns[brand_id] = Collection()
        self.index[brand_id] = ("brand", ws.id, None)
        self._schedule(policy.BRAND_REVIEW_SECONDS, "brand", ws.id, brand_id)
        return 201, brand

    @staticmethod
    def _check_brand(body: dict[str, Any], problems: Problems, *, creating: bool,
                     current_country: str | None = None) -> None:
        """Bird's documented brand limits. On update only the fields present are checked (US rules use
        the brand's current country when the update does not change it)."""
        req = creating
        entity = problems.enum(body, "entityType", policy.BRAND_ENTITY_TYPES, required=req)
        problems.string(body, "firstName", max_len=100)
        problems.string(body, "lastName", max_len=100)
        problems.string(body, "displayName", required=req, min_len=1, max_len=255)
        problems.string(body, "companyName", required=req, min_len=1, max_len=255)
        problems.string(body, "ein", required=req, min_len=1, max_len=21)
        issuing = problems.string(body, "einIssuingCountry", required=req, max_len=2)
        if issuing is not None and len(issuing) != 2:
            problems.add("einIssuingCountry", "must be a 2 letter ISO country code")
        problems.phone(body, "phone", required=req)
        problems.string(body, "street", required=req, min_len=1, max_len=100)
        problems.string(body, "city", required=req, min_len=1, max_len=100)
        state = problems.string(body, "state", required=req, min_len=1, max_len=20)
        postal = problems.string(body, "postalCode", required=req, min_len=1, max_len=10)
        country = problems.string(body, "country", required=req, max_len=2)
        if country is not None and len(country) != 2:
            problems.add("country", "must be a 2 letter ISO country code")
        if (country or current_country) == "US":
            if postal is not None and not (len(postal) == 5 and postal.isdigit()):
                problems.add("postalCode", "must be a 5 digit zip code in the United States")
            if state is not None and not (len(state) == 2 and state.isalpha()):
                problems.add("state", "must be a 2 letter state code in the United States")
        problems.email(body, "email", required=req, max_len=100)
        symbol = problems.string(body, "stockSymbol", max_len=10)
        exchange = problems.enum(body, "stockExchange", policy.STOCK_EXCHANGES)
        if entity == "PUBLIC_PROFIT":
            if not symbol:
                problems.add("stockSymbol", "is required for entityType PUBLIC_PROFIT")
            if not exchange:
                problems.add("stockExchange", "is required for entityType PUBLIC_PROFIT")
        problems.string(body, "website", required=req, min_len=1, max_len=100)
        problems.string(body, "vertical", max_len=50)
        alt = problems.string(body, "altBusinessId", max_len=50)
        alt_type = problems.enum(body, "altBusinessIdType", policy.ALT_BUSINESS_ID_TYPES)
        if alt and not alt_type:
            problems.add("altBusinessIdType", "is required when altBusinessId is given")
        problems.email(body, "businessContactEmail", max_len=100)

    def brand_update(self, ws: WorkspaceState, params: dict[str, str], query: Query, body: Any) -> Answer:
        brand = self._brand(ws, params["brandId"])
        body = self._object(body)
        problems = Problems()
        problems.unknown_fields(body, BRAND_FIELDS)
        self._check_brand(body, problems, creating=False, current_country=brand.get("country"))
        for name in BRAND_FIELDS:  # Bird's required fields cannot be cleared
            if name in body and body[name] is None and name not in ("firstName", "lastName", "stockSymbol",
                                                                    "stockExchange", "vertical", "altBusinessId",
                                                                    "altBusinessIdType", "businessContactEmail"):
                problems.add(name, "is required and cannot be null")
        vetted = any(v["status"] == policy.VETTING_ACTIVE for v in ws.vettings.get(brand["id"], ()))
        if brand["status"] == policy.BRAND_APPROVED or vetted:
            for name in BRAND_FROZEN_WHEN_APPROVED:
                if name in body and body[name] != brand.get(name):
                    problems.add(name, "cannot be changed once the brand is approved or has an approved vetting")
        merged = {**brand, **{k: v for k, v in body.items() if v is not None}}
        if merged.get("entityType") == "PUBLIC_PROFIT" and not (merged.get("stockSymbol")
                                                                 and merged.get("stockExchange")):
            problems.add("stockSymbol", "stockSymbol and stockExchange are required for entityType PUBLIC_PROFIT")
        if problems:
            raise invalid(problems, "Invalid brand")
        resubmit = brand["status"] == policy.BRAND_REJECTED
        if resubmit:
            self._charge(ws, [("brand-resubmission", policy.BRAND_RESUBMISSION_FEE, brand["id"],
                               f"10DLC brand resubmission: {merged['displayName']}")])
        for name, value in body.items():
            if value is None:
                brand.pop(name, None)
            else:
                brand[name] = value
        brand["updatedAt"] = self.clock.iso()
        if resubmit:
            brand["status"] = policy.BRAND_PENDING
            brand.pop("rejection", None)
            self._schedule(policy.BRAND_REVIEW_SECONDS, "brand", ws.id, brand["id"])
        return 200, brand

    def brand_delete(self, ws: WorkspaceState, params: dict[str, str], query: Query, body: Any) -> Answer:
        brand = self._brand(ws, params["brandId"])
        if len(ws.campaigns.get(brand["id"], ())):
            raise ApiError(policy.BRAND_DELETE_WITH_CAMPAIGNS_STATUS, policy.CODE_CONFLICT,
                           "The brand still has campaigns; delete them first")
        ws.brands.remove(brand["id"])
        self.index.pop(brand["id"], None)
        return 204, None

    # ------------------------------------------------------------------------------------ vettings

    def vettings_list(self, ws: WorkspaceState, params: dict[str, str], query: Query, body: Any) -> Answer:
        self._brand(ws, params["brandId"])
        return self.paginate(ws.vettings[params["brandId"]], query)

    def vetting_create(self, ws: WorkspaceState, params: dict[str, str], query: Query, body: Any) -> Answer:
        brand = self._brand(ws, params["brandId"])
        body = self._object(body)
        problems = Problems()
        problems.unknown_fields(body, ("class", "vettingProviderId"))
        vetting_class = problems.enum(body, "class", policy.VETTING_CLASSES, required=True)
        provider = problems.string(body, "vettingProviderId", max_len=50)
        if problems:
            raise invalid(problems, "Invalid workspace brand vetting")
        if brand["status"] == policy.BRAND_REJECTED:
            raise invalid_field("brandId", "must not be a rejected brand: update and resubmit it first")
        vetting_id = self.new_id()
        self._charge(ws, [("vetting", policy.VETTING_FEE, vetting_id, f"{vetting_class} brand vetting")])
        now = self.clock.iso()
        vetting = {"id": vetting_id, "brandId": brand["id"], "createdAt": now, "updatedAt": now,
                   "status": policy.VETTING_PENDING, "class": vetting_class, "reasons": []}
        if provider:
            vetting["vettingProviderId"] = provider
        ws.vettings[brand["id"]].add(vetting_id, vetting)
        self.index[vetting_id] = ("vetting", ws.id, brand["id"])
        self._schedule(policy.VETTING_REVIEW_SECONDS, "vetting", ws.id, vetting_id)
        return 201, vetting

    # ----------------------------------------------------------------------------------- campaigns

    def campaigns_list(self, ws: WorkspaceState, params: dict[str, str], query: Query, body: Any) -> Answer:
        self._brand(ws, params["brandId"])
        return self.paginate(ws.campaigns[params["brandId"]], query)

    def campaign_get(self, ws: WorkspaceState, params: dict[str, str], query: Query, body: Any) -> Answer:
        self._brand(ws, params["brandId"])
        campaign = ws.campaigns[params["brandId"]].get(params["campaignId"])
        if campaign is None:
            raise not_found(f"campaign {params['campaignId']}")
        return 200, campaign

    def campaign_create(self, ws: WorkspaceState, params: dict[str, str], query: Query, body: Any) -> Answer:
        brand = self._brand(ws, params["brandId"])
        body = self._object(body)
        problems = Problems()
        problems.unknown_fields(body, CAMPAIGN_FIELDS)
        self._check_campaign(ws, body, problems)
        if brand["status"] != policy.BRAND_APPROVED:
            problems.add("brandId", f"brand must be APPROVED to register a campaign; it is {brand['status']}")
        if problems:
            raise invalid(problems, "Invalid campaign")
        campaign_id = self.new_id()
        minimum = policy.CAMPAIGN_MONTHLY_FEE * policy.CAMPAIGN_MINIMUM_MONTHS
        self._charge(ws, [
            ("campaign-vetting", policy.CAMPAIGN_VETTING_FEE, campaign_id, f"10DLC campaign vetting: {body['name']}"),
            ("campaign-minimum-commitment", minimum, campaign_id,
             f"10DLC campaign {policy.CAMPAIGN_MINIMUM_MONTHS}-month minimum: {body['name']}")])
        now = self.clock.iso()
        campaign = {"id": campaign_id, "name": body["name"],
                    "subscription": {"status": "active", "subscribedAt": now, "updatedAt": now},
                    "status": policy.CAMPAIGN_PENDING,
                    **{k: body[k] for k in CAMPAIGN_FIELDS if k not in ("name", "attachmentUrls")
                       and body.get(k) is not None},
                    "brandId": brand["id"], "attachments": [], "createdAt": now, "updatedAt": now}
        ws.campaigns[brand["id"]].add(campaign_id, campaign)
        self.index[campaign_id] = ("campaign", ws.id, brand["id"])
        self._schedule(policy.CAMPAIGN_REVIEW_SECONDS, "campaign", ws.id, campaign_id)
        return 201, campaign

    def _check_campaign(self, ws: WorkspaceState, body: dict[str, Any], problems: Problems) -> None:
        problems.string(body, "name", required=True, min_len=1, max_len=255)
        usecase = problems.string(body, "usecase", required=True, max_len=50)
        subs = problems.string_list(body, "subUsecases", max_len=50)
        if usecase in policy.MIXED_USECASES and (subs is None or not 2 <= len(subs) <= 5):
            problems.add("subUsecases", f"must list 2 to 5 use cases when usecase is {usecase}")
        problems.string(body, "description", required=True, min_len=40, max_len=4096)
        problems.string(body, "messageFlow", required=True, min_len=40, max_len=2048)
        problems.string(body, "helpMessage", required=True, min_len=20, max_len=255)
        problems.string_list(body, "samples", required=True, min_items=1, max_items=5, max_len=1024)
        problems.string_list(body, "attachmentUrls", max_items=5)
        for flag in ("embeddedLink", "embeddedPhone", "numberPool", "ageGated", "directLending", "subscriberOptin",
                     "subscriberOptout", "subscriberHelp"):
            problems.boolean(body, flag)
        for keywords in ("helpKeywords", "optoutKeywords", "optinKeywords"):
            problems.string(body, keywords, max_len=255)
        problems.string(body, "optinMessage", min_len=20, max_len=320)
        problems.string(body, "optoutMessage", min_len=20, max_len=320)
        terms = problems.boolean(body, "termsAndConditions", required=True)
        if terms is False:
            problems.add("termsAndConditions", "must be true: the campaign must follow CTIA guidelines")
        if body.get("resellerId") is not None:
            reseller_id = problems.uuid(body, "resellerId")
            if reseller_id:
                reseller = self.orgs[ws.organization_id].resellers.get(reseller_id)
                if reseller is None:
                    problems.add("resellerId", f"reseller {reseller_id} does not exist in this organization")
                elif reseller["status"] != "ACTIVE":
                    problems.add("resellerId", f"reseller must be ACTIVE; it is {reseller['status']}")

    def resellers_list(self, ws: WorkspaceState, params: dict[str, str], query: Query, body: Any) -> Answer:
        return self.paginate(self.orgs[ws.organization_id].resellers, query)

    # ---------------------------------------------------------------------------- connectors, channels

    def connectors_list(self, ws: WorkspaceState, params: dict[str, str], query: Query, body: Any) -> Answer:
        ref = (query.get("templateRef") or query.get("connectorTemplateRef") or [None])[-1]
        keep = (lambda c: c["connectorTemplateRef"] == ref) if ref else None
        return self.paginate(ws.connectors, query, keep)

    def connector_get(self, ws: WorkspaceState, params: dict[str, str], query: Query, body: Any) -> Answer:
        return 200, self._connector(ws, params["connectorId"])

    def _connector(self, ws: WorkspaceState, connector_id: str) -> Item:
        connector = ws.connectors.get(connector_id)
        if connector is None:
            raise not_found(f"connector {connector_id}")
        return connector

    def connector_create(self, ws: WorkspaceState, params: dict[str, str], query: Query, body: Any) -> Answer:
        body = self._object(body)
        problems = Problems()
        problems.unknown_fields(body, ("name", "connectorTemplateRef", "arguments", "securityArguments",
                                       "channelConversationalStatusEnabled", "invitationToken"))
        name = problems.string(body, "name", required=True, min_len=1, max_len=255)
        ref = problems.string(body, "connectorTemplateRef", required=True)
        if ref is not None and ref != policy.SMS_TEMPLATE_REF:
            problems.add("connectorTemplateRef", f"the emulator installs SMS connectors only: "
                                                 f"'{policy.SMS_TEMPLATE_REF}'")
        problems.boolean(body, "channelConversationalStatusEnabled")
        arguments = body.get("arguments")
        if not isinstance(arguments, dict):
            problems.add("arguments", "is required: phoneNumberId, useCaseId and channelMessageType")
            raise invalid(problems, "invalid data provided")
        args = problems.scoped("arguments")
        number_id = args.string(arguments, "phoneNumberId", required=True)
        use_case_id = args.string(arguments, "useCaseId", required=True)
        args.string(arguments, "channelMessageType", required=True, max_len=50)
        number = ws.numbers.get(number_id) if number_id else None
        if number_id and number is None:
            problems.add("arguments.phoneNumberId", f"number {number_id} is not owned by this workspace")
        campaign = self._campaign_anywhere(ws, use_case_id) if use_case_id else None
        if use_case_id and campaign is None:
            problems.add("arguments.useCaseId", f"campaign {use_case_id} does not exist in this workspace")
        elif campaign is not None and campaign["status"] != policy.CAMPAIGN_APPROVED:
            problems.add("arguments.useCaseId", f"campaign must be APPROVED; it is {campaign['status']}")
        if problems:
            raise invalid(problems, "invalid data provided")
        assert number is not None and campaign is not None and name is not None
        if number["id"] in self.connector_of_number:
            raise ApiError(409, policy.CODE_CONFLICT,
                           f"connector already exists for number {number['number']}: "
                           f"{self.connector_of_number[number['id']]}")
        connector_id, channel_id = self.new_id(), self.new_id()
        now = self.clock.iso()
        check = use_case_status(True, True, False)
        channel = {
            "id": channel_id, "platformId": policy.SMS_PLATFORM, "name": name, "connectorId": connector_id,
            "identifier": number["number"], "status": policy.CHANNEL_PENDING,
            "capabilities": {"messaging": {"displayName": "Messaging capabilities", "status": "inactive",
                                           "outgoing": {"status": "inactive"}, "incoming": {"status": "active"}}},
            "useCaseId": campaign["id"], "useCaseType": arguments["channelMessageType"],
            policy.USE_CASE_STATUS_FIELD: check, "createdAt": now, "updatedAt": now}
        connector = {
            "id": connector_id, "workspaceId": ws.id, "name": name, "arguments": dict(arguments),
            "channel": {"channelId": channel_id, "platform": policy.SMS_PLATFORM, "status": channel["status"]},
            "number": {"numberId": number["id"], "phoneNumber": number["number"],
                       "capabilities": "mms-inbound,mms-outbound,sms-inbound,sms-outbound",
                       "numberType": number["type"], "endpointType": "long-code-number",
                       "country": number["country"]},
            "connectorTemplateSlug": policy.SMS_PLATFORM, "connectorTemplateRef": ref,
            "status": policy.CONNECTOR_ACTIVE, policy.USE_CASE_STATUS_FIELD: dict(check),
            "createdAt": now, "updatedAt": now}
        ws.connectors.add(connector_id, connector)
        ws.channels.add(channel_id, channel)
        self.connector_of_number[number["id"]] = connector_id
        self.channel_of_identifier[number["number"]] = (ws.id, channel_id)
        self.index[connector_id] = ("connector", ws.id, None)
        self.index[channel_id] = ("channel", ws.id, None)
        self._schedule(policy.CARRIER_ACK_SECONDS, "carrier-ack", ws.id, connector_id)
        return 201, connector

    def _campaign_anywhere(self, ws: WorkspaceState, campaign_id: str) -> Item | None:
        found = self.index.get(campaign_id)
        if found is None or found[0] != "campaign" or found[1] != ws.id or found[2] is None:
            return None
        return ws.campaigns[found[2]].get(campaign_id)

    def connector_delete(self, ws: WorkspaceState, params: dict[str, str], query: Query, body: Any) -> Answer:
        connector = self._connector(ws, params["connectorId"])
        ws.connectors.remove(connector["id"])
        channel_id = connector["channel"]["channelId"]
        ws.channels.remove(channel_id)
        self.connector_of_number.pop(connector["number"]["numberId"], None)
        self.channel_of_identifier.pop(connector["number"]["phoneNumber"], None)
        self.index.pop(connector["id"], None)
        self.index.pop(channel_id, None)
        return 204, None

    def channels_list(self, ws: WorkspaceState, params: dict[str, str], query: Query, body: Any) -> Answer:
        return self.paginate(ws.channels, query)

    def channel_get(self, ws: WorkspaceState, params: dict[str, str], query: Query, body: Any) -> Answer:
        channel = ws.channels.get(params["channelId"])
        if channel is None:
            raise not_found(f"channel {params['channelId']}")
        return 200, channel

    # ------------------------------------------------------------------------- webhook subscriptions

    def webhook_subscriptions_list(self, ws: WorkspaceState, params: dict[str, str], query: Query, body: Any
                                   ) -> Answer:
        return self.paginate(ws.webhooks, query)

    def webhook_subscription_get(self, ws: WorkspaceState, params: dict[str, str], query: Query, body: Any
                                 ) -> Answer:
        return 200, self._webhook(ws, params["webhookSubscriptionId"])

    def _webhook(self, ws: WorkspaceState, subscription_id: str) -> Item:
        subscription = ws.webhooks.get(subscription_id)
        if subscription is None:
            raise not_found(f"webhook subscription {subscription_id}")
        return subscription

    def webhook_subscription_create(self, ws: WorkspaceState, params: dict[str, str], query: Query, body: Any
                                    ) -> Answer:
        body = self._object(body)
        problems = Problems()
        problems.unknown_fields(body, WEBHOOK_FIELDS)
        service = problems.string(body, "service", required=True, max_len=100)
        event = problems.string(body, "event", required=True, max_len=100)
        if service and event and policy.EVENT_SERVICES.get(event, service) != service:
            problems.add("event", f"{event} is sent by service {policy.EVENT_SERVICES[event]}, not {service}")
        self._check_webhook_url(body, problems, required=True)
        problems.string(body, "signingKey", required=True, min_len=1, max_len=1024)
        problems.string(body, "template", max_len=100)
        filters = self._check_filters(body, problems)
        if problems:
            raise invalid(problems, "Invalid webhook subscription")
        subscription_id = self.new_id()
        now = self.clock.iso()
        subscription = {"id": subscription_id, "organizationId": ws.organization_id, "workspaceId": ws.id,
                        "service": service, "event": event, "eventFilters": filters, "url": body["url"],
                        "signingKey": body["signingKey"], "status": "active", "createdAt": now, "updatedAt": now}
        if body.get("template") is not None:
            subscription["template"] = body["template"]
        ws.webhooks.add(subscription_id, subscription)
        self.index[subscription_id] = ("webhookSubscription", ws.id, None)
        return 201, subscription

    def webhook_subscription_update(self, ws: WorkspaceState, params: dict[str, str], query: Query, body: Any
                                    ) -> Answer:
        subscription = self._webhook(ws, params["webhookSubscriptionId"])
        body = self._object(body)
        if not body:
            raise invalid_field("body", "must set at least one of " + ", ".join(WEBHOOK_UPDATE_FIELDS))
        problems = Problems()
        problems.unknown_fields(body, WEBHOOK_UPDATE_FIELDS)
        self._check_webhook_url(body, problems, required=False)
        problems.string(body, "signingKey", min_len=1, max_len=1024)
        problems.string(body, "template", max_len=100)
        problems.enum(body, "status", policy.SUBSCRIPTION_STATUSES)
        filters = self._check_filters(body, problems) if "eventFilters" in body else None
        if problems:
            raise invalid(problems, "Invalid webhook subscription")
        for name in ("url", "signingKey", "template", "status"):
            if body.get(name) is not None:
                subscription[name] = body[name]
        if filters is not None:
            subscription["eventFilters"] = filters
        subscription["updatedAt"] = self.clock.iso()
        return 200, subscription

    def webhook_subscription_delete(self, ws: WorkspaceState, params: dict[str, str], query: Query, body: Any
                                    ) -> Answer:
        subscription = self._webhook(ws, params["webhookSubscriptionId"])
        ws.webhooks.remove(subscription["id"])
        self.index.pop(subscription["id"], None)
        return 204, None

    @staticmethod
    def _check_webhook_url(body: dict[str, Any], problems: Problems, *, required: bool) -> None:
        from controller.emulator.webhooks import acceptable_url

        url = problems.string(body, "url", required=required, max_len=2048)
        if url is not None and not acceptable_url(url):
            problems.add("url", "must be an https:// URL with a public host name (or http://127.0.0.1 / "
                                "http://localhost for a local receiver)")

    @staticmethod
    def _check_filters(body: dict[str, Any], problems: Problems) -> list[dict[str, str]]:
        filters = body.get("eventFilters")
        if filters is None:
            return []
        if not isinstance(filters, list):
            problems.add("eventFilters", "must be a list of {key, value}")
            return []
        clean = []
        for i, item in enumerate(filters):
            if not (isinstance(item, dict) and isinstance(item.get("key"), str) and item["key"]
                    and isinstance(item.get("value"), str) and item["value"] and set(item) <= {"key", "value"}):
                problems.add(f"eventFilters[{i}]", "must be an object with a non-empty string key and value")
            else:
                clean.append({"key": item["key"], "value": item["value"]})
        return clean

    # ----------------------------------------------------------------------------- clock, lifecycles

    def _schedule(self, delay: float, kind: str, workspace_id: str, object_id: str) -> None:
        self._timer_seq += 1
        heapq.heappush(self.timers, Timer(self.clock.now + delay, self._timer_seq, kind, workspace_id, object_id))

    def advance(self, seconds: float) -> list[dict[str, Any]]:
        """Move the clock; run every transition that falls due, in order, at its own time. Webhooks for
        them are queued in ``outbox``. Returns the transitions made."""
        if seconds < 0:
            raise invalid_field("seconds", "must be >= 0: the clock never goes back")
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

    def _fire(self, timer: Timer) -> dict[str, Any] | None:
        ws = self.workspaces.get(timer.workspace_id)
        if ws is None:
            return None
        if timer.kind == "brand":
            brand = ws.brands.get(timer.object_id)
            if brand and brand["status"] == policy.BRAND_PENDING:
                return self._set_brand(ws, brand, policy.BRAND_APPROVED, None)
        elif timer.kind == "vetting":
            vetting = self._find("vetting", timer.object_id)
            if vetting and vetting["status"] == policy.VETTING_PENDING:
                return self._set_vetting(ws, vetting, policy.VETTING_ACTIVE, None)
        elif timer.kind == "campaign":
            campaign = self._find("campaign", timer.object_id)
            if campaign and campaign["status"] == policy.CAMPAIGN_PENDING:
                return self._set_campaign(ws, campaign, policy.CAMPAIGN_APPROVED, None)
        elif timer.kind == "carrier-ack":
            connector = ws.connectors.get(timer.object_id)
            if connector:
                return self._acknowledge(ws, connector)
        elif timer.kind == "number-deactivate":
            number = ws.numbers.get(timer.object_id)
            if number and number["subscription"]["status"] == policy.SUBSCRIPTION_CANCELED:
                ws.numbers.remove(number["id"])
                self.owner_of_number.pop(number["number"], None)
                number.update(status=policy.NUMBER_INACTIVE, updatedAt=self.clock.iso(),
                              deactivatedAt=self.clock.iso())
                return {"kind": "number", "id": number["id"], "status": policy.NUMBER_INACTIVE}
        return None

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

    def _set_brand(self, ws: WorkspaceState, brand: Item, status: str, rejection: dict[str, str] | None
                   ) -> dict[str, Any]:
        brand.update(status=status, updatedAt=self.clock.iso())
        if rejection:
            brand["rejection"] = rejection
        else:
            brand.pop("rejection", None)
        self._emit(ws, "10dlc.brand", brand, {"brandId": brand["id"]})
        return {"kind": "brand", "id": brand["id"], "status": status}

    def _set_vetting(self, ws: WorkspaceState, vetting: Item, status: str, rejection: dict[str, str] | None
                     ) -> dict[str, Any]:
        vetting.update(status=status, updatedAt=self.clock.iso())
        if status == policy.VETTING_ACTIVE:
            vetting["score"] = policy.VETTING_SCORE
        if rejection:
            vetting["rejection"] = rejection
            vetting["reasons"] = [rejection["description"]]
        self._emit(ws, policy.VETTING_EVENT, vetting, {"brandId": vetting["brandId"]})
        return {"kind": "vetting", "id": vetting["id"], "status": status}

    def _set_campaign(self, ws: WorkspaceState, campaign: Item, status: str, rejection: dict[str, str] | None
                      ) -> dict[str, Any]:
        campaign.update(status=status, updatedAt=self.clock.iso())
        if rejection:
            campaign["rejection"] = rejection
        else:
            campaign.pop("rejection", None)
        self._emit(ws, "10dlc.campaign", campaign, {"campaignId": campaign["id"], "brandId": campaign["brandId"]})
        return {"kind": "campaign", "id": campaign["id"], "status": status}

    def _acknowledge(self, ws: WorkspaceState, connector: Item) -> dict[str, Any] | None:
        channel = ws.channels.get(connector["channel"]["channelId"])
        if channel is None:
            return None
        campaign = self._campaign_anywhere(ws, connector["arguments"].get("useCaseId", ""))
        campaign_ok = campaign is not None and campaign["status"] == policy.CAMPAIGN_APPROVED
        check = use_case_status(True, campaign_ok, True)
        now = self.clock.iso()
        connector[policy.USE_CASE_STATUS_FIELD] = check
        connector["updatedAt"] = now
        channel[policy.USE_CASE_STATUS_FIELD] = dict(check)
        if check["status"] == "ok":
            channel["status"] = connector["channel"]["status"] = policy.CHANNEL_ACTIVE
            channel["capabilities"]["messaging"].update(status="active", outgoing={"status": "active"})
        channel["updatedAt"] = now
        self._emit(ws, "channel.updated", channel, {"channelId": channel["id"]})
        return {"kind": "channel", "id": channel["id"], "status": channel["status"]}

    def decide(self, kind: Any, object_id: Any, status: Any, rejection: Any = None) -> dict[str, Any]:
        """Force a brand, vetting or campaign outcome now (admin ``POST /_emulator/decide``)."""
        with self.lock:
            if kind not in policy.DECISIONS:
                raise invalid_field("kind", "must be one of " + ", ".join(policy.DECISIONS))
            if status not in policy.DECISIONS[kind]:
                raise invalid_field("status", "must be one of " + ", ".join(policy.DECISIONS[kind]))
            item = self._find(kind, object_id) if isinstance(object_id, str) else None
            if item is None:
                raise not_found(f"{kind} {object_id}")
            target = policy.DECISIONS[kind][status]
            reason = None
            if status == "REJECTED":
                given = rejection if isinstance(rejection, dict) else {}
                reason = {"code": str(given.get("code") or policy.DEFAULT_REJECTION["code"]),
                          "description": str(given.get("description") or policy.DEFAULT_REJECTION["description"])}
            ws = self.workspaces[self.index[object_id][1]]
            setter = {"brand": self._set_brand, "vetting": self._set_vetting, "campaign": self._set_campaign}[kind]
            setter(ws, item, target, reason)
            return item

    # ------------------------------------------------------------------------------------- webhooks

    def _emit(self, ws: WorkspaceState, event: str, payload: Item, attributes: dict[str, str]) -> None:
        service = policy.EVENT_SERVICES.get(event, "")
        for subscription in ws.webhooks:
            if (subscription["status"] == "active" and subscription["event"] == event
                    and subscription["service"] == service
                    and all(attributes.get(f["key"]) == f["value"] for f in subscription["eventFilters"])):
                self.outbox.append(Outgoing(subscription["id"], ws.id, subscription["url"],
                                            subscription["signingKey"], event,
                                            {"service": service, "event": event, "payload": dict(payload)}))

    def inbound(self, body: Any) -> dict[str, Any]:
        """Queue a signed ``sms.inbound`` for the channel of ``to`` (admin ``POST /_emulator/inbound``)."""
        with self.lock:
            body = self._object(body)
            problems = Problems()
            problems.phone(body, "to", required=True)
            problems.phone(body, "from", required=True)
            text = problems.string(body, "text", required=True, max_len=1600)
            if problems:
                raise invalid(problems, "Invalid inbound message")
            found = self.channel_of_identifier.get(body["to"])
            if found is None:
                raise not_found(f"channel for number {body['to']} (install a connector for it first)")
            ws = self.workspaces[found[0]]
            channel = ws.channels.get(found[1])
            assert channel is not None
            now = self.clock.iso()
            message = {
                "id": self.new_id(), "channelId": channel["id"],
                "sender": {"contact": {"identifierKey": "phonenumber", "identifierValue": body["from"]}},
                "receiver": {"connector": {"id": channel["connectorId"], "identifierValue": body["to"]}},
                "body": {"type": "text", "text": {"text": text}}, "direction": "incoming", "status": "delivered",
                "createdAt": now, "updatedAt": now}
            self._emit(ws, "sms.inbound", message, {"channelId": channel["id"]})
            return message

    def take_outbox(self) -> list[Outgoing]:
        with self.lock:
            out, self.outbox = self.outbox, []
            return out

    # ----------------------------------------------------------------------------------- state dump

    def dump(self) -> dict[str, Any]:
        """Every object the emulator holds (admin ``GET /_emulator/state``); signing keys masked."""
        with self.lock:
            def each(attr: str) -> list[Item]:
                return [{**item, "workspaceId": ws.id} for ws in self.workspaces.values()
                        for item in getattr(ws, attr)]

            def nested(attr: str) -> list[Item]:
                return [{**item, "workspaceId": ws.id} for ws in self.workspaces.values()
                        for collection in getattr(ws, attr).values() for item in collection]

            return {
                "clock": {"now": self.clock.iso(), "epoch": self.clock.now},
                "numbers": each("numbers"), "brands": each("brands"), "vettings": nested("vettings"),
                "campaigns": nested("campaigns"), "connectors": each("connectors"), "channels": each("channels"),
                "webhookSubscriptions": [{**s, "signingKey": "***"} for s in each("webhooks")],
                "charges": list(self.charges),
                "wallets": [{"workspaceId": ws.id, "organizationId": ws.organization_id,
                             "currencyCode": policy.CURRENCY, "balance": f"{ws.balance:.2f}"}
                            for ws in self.workspaces.values()],
                "stock": [{"organizationId": org.spec.id, "count": len(org.stock)} for org in self.orgs.values()],
                "resellers": [r for org in self.orgs.values() for r in org.resellers],
                "deliveries": list(self.deliveries),
                "undelivered": [d for d in self.deliveries if not d["delivered"]],
            }

    @staticmethod
    def _object(body: Any) -> dict[str, Any]:
        if body is None:
            return {}
        if not isinstance(body, dict):
            raise ApiError(422, policy.CODE_INVALID, "The request body must be a JSON object",
                           {"body": ["must be a JSON object"]})
        return body
