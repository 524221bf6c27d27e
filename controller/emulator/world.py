"""The world the emulator starts from: organizations, workspaces, access keys, wallets, resellers, stock.

A world is plain data, loaded from YAML (``senderctl emulator --world FILE``) or the default world of
CONTRACT.md. Example::

    organizations:
      - id: 11111111-1111-4111-8111-111111111111
        resellers:
          - {id: 33333333-3333-4333-8333-333333333333, status: ACTIVE, companyName: Acme Resale}
        stock:
          - {country: US, type: local, count: 12000, prefix: "+1415"}   # prefix optional
        workspaces:
          - id: 22222222-2222-4222-8222-222222222222
            wallet: "1000.00"        # USD
            ownedNumbers: 10000      # optional: numbers this workspace already owns
    rateLimits: {GET: 50, POST: 500}   # optional: Bird's documented per-workspace limits, requests/s
    latency: {mean: 0.15, jitter: 0.02}  # optional: seconds each Bird answer is delayed (see Latency)
    stockPrefix: leading-digits  # or area-code: how the stock search reads `prefix` (see STOCK_PREFIX_READINGS)
    accessKeys:
      - key: emulator-key
        organizations: [11111111-1111-4111-8111-111111111111]   # and every workspace in them
        workspaces: []                                          # or single workspaces
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

from controller.emulator import policy

DEFAULT_ACCESS_KEY = "emulator-key"
DEFAULT_ORGANIZATION_ID = "11111111-1111-4111-8111-111111111111"
DEFAULT_WORKSPACE_ID = "22222222-2222-4222-8222-222222222222"
DEFAULT_RESELLER_ID = "33333333-3333-4333-8333-333333333333"
DEFAULT_STOCK = 1000


class WorldError(ValueError):
    """The world file is unusable; the message says where and how to fix it."""


@dataclass(frozen=True)
class StockSpec:
    country: str = "US"
    type: str = "local"
    count: int = DEFAULT_STOCK
    prefix: str | None = None


@dataclass(frozen=True)
class ResellerSpec:
    id: str
    status: str = "ACTIVE"
    companyName: str = "Emulated Reseller Inc."
    phone: str = "+12025550143"
    email: str = "reseller@example.com"


@dataclass(frozen=True)
class WorkspaceSpec:
    id: str
    organization_id: str
    wallet: Decimal = policy.DEFAULT_WALLET
    owned_numbers: int = 0
    name: str = ""  # Bird's workspace display name (List workspaces)


@dataclass(frozen=True)
class AccessKeySpec:
    key: str
    organizations: frozenset[str] = frozenset()
    workspaces: frozenset[str] = frozenset()

    def __repr__(self) -> str:  # the key is a secret, even in the emulator
        return f"AccessKeySpec(key=***, organizations={sorted(self.organizations)}, workspaces={sorted(self.workspaces)})"


@dataclass(frozen=True)
class OrganizationSpec:
    id: str
    workspaces: tuple[WorkspaceSpec, ...] = ()
    resellers: tuple[ResellerSpec, ...] = ()
    stock: tuple[StockSpec, ...] = ()


@dataclass(frozen=True)
class Delay:
    """One class of answers' delay, in seconds: uniform in [mean - jitter, mean + jitter] (never below 0)."""

    mean: float = 0.0
    jitter: float = 0.0


@dataclass(frozen=True)
class Latency:
    """How far away the emulated Bird is: every Bird answer waits ``delay`` (or its method's own, for a
    per-route-class latency, e.g. writes slower than reads). Admin routes are never delayed."""

    default: Delay = Delay()
    by_method: tuple[tuple[str, Delay], ...] = ()

    def for_method(self, method: str) -> Delay:
        return dict(self.by_method).get(method.upper(), self.default)

    @property
    def none(self) -> bool:
        return all(d.mean <= 0 and d.jitter <= 0 for d in (self.default, *dict(self.by_method).values()))


# Bird documents the stock search's `prefix` two ways: "numbers beginning with the prefix" and "a specific
# local area-code ... in full international format (+1212)". leading-digits (the default) takes any
# leading digits; area-code takes only a whole US area code (+1 and three digits) and finds nothing for a
# shorter or longer prefix, so a client can be checked against either reading.
STOCK_PREFIX_READINGS = ("leading-digits", "area-code")


@dataclass(frozen=True)
class World:
    organizations: tuple[OrganizationSpec, ...]
    access_keys: tuple[AccessKeySpec, ...] = field(default=())
    # Requests per second per workspace (or organization) and HTTP method; none by default.
    rate_limits: tuple[tuple[str, float], ...] = ()
    latency: Latency = Latency()
    stock_prefix: str = "leading-digits"

    @classmethod
    def default(cls) -> World:
        """CONTRACT.md's default world: one key, org, workspace (1000.00 USD), ACTIVE reseller, 1000 numbers."""
        workspace = WorkspaceSpec(DEFAULT_WORKSPACE_ID, DEFAULT_ORGANIZATION_ID)
        organization = OrganizationSpec(
            DEFAULT_ORGANIZATION_ID, (workspace,), (ResellerSpec(DEFAULT_RESELLER_ID),), (StockSpec(),))
        return cls((organization,), (AccessKeySpec(DEFAULT_ACCESS_KEY, frozenset({DEFAULT_ORGANIZATION_ID})),))

    @classmethod
    def from_file(cls, path: str | Path) -> World:
        try:
            data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise WorldError(f"{path}: cannot read the world file: {exc.strerror}") from None
        except yaml.YAMLError as exc:
            raise WorldError(f"{path}: not valid YAML: {exc}") from None
        return cls.from_dict(data, source=str(path))

    @classmethod
    def from_dict(cls, data: Any, *, source: str = "world") -> World:
        if not isinstance(data, dict):
            raise WorldError(f"{source}: expected a mapping with 'organizations' and 'accessKeys'")
        organizations = tuple(
            _organization(item, f"{source}: organizations[{i}]")
            for i, item in enumerate(_list(data, "organizations", source)))
        if not organizations:
            raise WorldError(f"{source}: organizations: declare at least one organization")
        keys = tuple(_access_key(item, f"{source}: accessKeys[{i}]")
                     for i, item in enumerate(_list(data, "accessKeys", source)))
        if not keys:
            keys = (AccessKeySpec(DEFAULT_ACCESS_KEY, frozenset(o.id for o in organizations)),)
        stock_prefix = data.get("stockPrefix", "leading-digits")
        if stock_prefix not in STOCK_PREFIX_READINGS:
            raise WorldError(f"{source}: stockPrefix: {stock_prefix!r} is not one of {', '.join(STOCK_PREFIX_READINGS)}")
        return cls(organizations, keys, _rate_limits(data.get("rateLimits"), f"{source}: rateLimits"),
                   _latency(data.get("latency"), f"{source}: latency"), stock_prefix)

    def workspaces(self) -> list[WorkspaceSpec]:
        return [ws for org in self.organizations for ws in org.workspaces]


def _rate_limits(value: Any, where: str) -> tuple[tuple[str, float], ...]:
    if value is None:
        return ()
    if not isinstance(value, dict):
        raise WorldError(f"{where}: expected a mapping of HTTP method to requests per second, e.g. {{GET: 50}}")
    limits = []
    for method, rate in value.items():
        if str(method).upper() not in ("GET", "POST", "PATCH", "PUT", "DELETE"):
            raise WorldError(f"{where}.{method}: not an HTTP method the emulator serves")
        if isinstance(rate, bool) or not isinstance(rate, int | float) or rate <= 0:
            raise WorldError(f"{where}.{method}: expected a number of requests per second > 0, got {rate!r}")
        limits.append((str(method).upper(), float(rate)))
    return tuple(limits)


def _seconds(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise WorldError(f"{where}: expected a number of seconds >= 0 (e.g. 0.15 for 150 ms), got {value!r}")
    return float(value)


def _delay(value: Any, where: str, base: Delay = Delay()) -> Delay:
    if not isinstance(value, dict):
        raise WorldError(f"{where}: expected a mapping such as {{mean: 0.15, jitter: 0.02}} (seconds)")
    unknown = set(value) - {"mean", "jitter", "methods"}
    if unknown:
        raise WorldError(f"{where}: unknown field(s) {', '.join(sorted(map(str, unknown)))}; "
                         f"expected mean, jitter (seconds) and optionally methods")
    mean = _seconds(value["mean"], f"{where}.mean") if "mean" in value else base.mean
    jitter = _seconds(value["jitter"], f"{where}.jitter") if "jitter" in value else base.jitter
    return Delay(mean, jitter)


def _latency(value: Any, where: str) -> Latency:
    """``latency: {mean: S, jitter: S, methods: {POST: {mean: S, jitter: S}}}``; a method's own delay
    takes what it leaves out from the top level."""
    if value is None:
        return Latency()
    default = _delay(value, where)
    methods = value.get("methods") or {}
    if not isinstance(methods, dict):
        raise WorldError(f"{where}.methods: expected a mapping of HTTP method to {{mean, jitter}}")
    by_method = []
    for method, delay in methods.items():
        if str(method).upper() not in ("GET", "POST", "PATCH", "PUT", "DELETE"):
            raise WorldError(f"{where}.methods.{method}: not an HTTP method the emulator serves")
        if isinstance(delay, dict) and "methods" in delay:
            raise WorldError(f"{where}.methods.{method}: methods cannot nest")
        by_method.append((str(method).upper(), _delay(delay, f"{where}.methods.{method}", default)))
    return Latency(default, tuple(by_method))


def _list(data: dict[str, Any], key: str, where: str) -> list[Any]:
    value = data.get(key) or []
    if not isinstance(value, list):
        raise WorldError(f"{where}: {key}: expected a list")
    return value


def _mapping(item: Any, where: str) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise WorldError(f"{where}: expected a mapping")
    return item


def _uuid(value: Any, where: str) -> str:
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        raise WorldError(f"{where}: {value!r} is not a UUID") from None


def _count(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise WorldError(f"{where}: expected a whole number >= 0, got {value!r}")
    return value


def _organization(item: Any, where: str) -> OrganizationSpec:
    item = _mapping(item, where)
    org_id = _uuid(item.get("id"), f"{where}.id")
    workspaces = []
    for i, ws in enumerate(_list(item, "workspaces", where)):
        ws = _mapping(ws, f"{where}.workspaces[{i}]")
        try:
            wallet = Decimal(str(ws.get("wallet", policy.DEFAULT_WALLET)))
        except InvalidOperation:
            raise WorldError(f"{where}.workspaces[{i}].wallet: not an amount: {ws.get('wallet')!r}") from None
        workspaces.append(WorkspaceSpec(
            _uuid(ws.get("id"), f"{where}.workspaces[{i}].id"), org_id, wallet,
            _count(ws.get("ownedNumbers", 0), f"{where}.workspaces[{i}].ownedNumbers"), str(ws.get("name") or "")))
    resellers = tuple(
        ResellerSpec(**{"id": _uuid(_mapping(r, f"{where}.resellers[{i}]").get("id"), f"{where}.resellers[{i}].id"),
                        **{k: str(v) for k, v in r.items() if k in ("status", "companyName", "phone", "email")}})
        for i, r in enumerate(_list(item, "resellers", where)))
    stock = []
    for i, s in enumerate(_list(item, "stock", where)):
        s = _mapping(s, f"{where}.stock[{i}]")
        prefix = s.get("prefix")
        if prefix is not None and not (isinstance(prefix, str) and prefix.startswith("+1") and prefix[1:].isdigit()
                                       and len(prefix) <= 8):
            raise WorldError(f"{where}.stock[{i}].prefix: expected '+1' and up to 6 digits, got {prefix!r}")
        if str(s.get("country", "US")).upper() != "US":
            raise WorldError(f"{where}.stock[{i}].country: the emulator generates US numbers only")
        stock.append(StockSpec("US", str(s.get("type", "local")), _count(s.get("count", DEFAULT_STOCK),
                                                                         f"{where}.stock[{i}].count"), prefix))
    return OrganizationSpec(org_id, tuple(workspaces), resellers, tuple(stock))


def _access_key(item: Any, where: str) -> AccessKeySpec:
    item = _mapping(item, where)
    key = item.get("key")
    if not isinstance(key, str) or not key:
        raise WorldError(f"{where}.key: expected a non-empty string")
    return AccessKeySpec(
        key,
        frozenset(_uuid(o, f"{where}.organizations") for o in _list(item, "organizations", where)),
        frozenset(_uuid(w, f"{where}.workspaces") for w in _list(item, "workspaces", where)))
