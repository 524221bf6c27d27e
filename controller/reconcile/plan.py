"""The Plan: what apply would do, computed purely from (desired specs, observed world).

Everything here is plain data. Renderers (controller/render) turn one Plan into text, JSON or
Markdown; apply (controller/reconcile/apply.py) executes its changes. No I/O may be imported here.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

FORMAT_VERSION = "1"

Action = Literal["create", "update", "replace", "archive", "delete", "assign", "unassign", "adopt"]
ACTIONS: tuple[Action, ...] = ("create", "update", "replace", "archive", "delete", "assign", "unassign", "adopt")
SUMMARY_ACTIONS: tuple[Action, ...] = ("create", "update", "archive", "assign", "unassign", "delete")

ZERO = Decimal("0")
_DIGITS = re.compile(r"(\d+)")


@functools.lru_cache(maxsize=1 << 17)
def address_key(address: str) -> tuple[Any, ...]:
    """Sort key for addresses that reads numbers as numbers: NumberPool/p[2] before NumberPool/p[10].
    Cached: every plan sorts the same addresses again (a daemon's targeted plans, 20,000 of them at
    100 x 100, spent a tenth of their time splitting them)."""
    return tuple(int(part) if part.isdigit() else part for part in _DIGITS.split(address))


@dataclass(frozen=True)
class Cost:
    """What a change costs, in USD. Money is Decimal, rendered as a string."""

    monthly: Decimal = ZERO
    weekly: Decimal = ZERO
    one_time: Decimal = ZERO
    currency: str = "USD"

    def __add__(self, other: Cost) -> Cost:
        return Cost(self.monthly + other.monthly, self.weekly + other.weekly, self.one_time + other.one_time)

    @property
    def is_zero(self) -> bool:
        return self.monthly == self.weekly == self.one_time == ZERO

    def to_json(self) -> dict[str, str]:
        return {
            "currency": self.currency,
            "monthly": _money(self.monthly),
            "weekly": _money(self.weekly),
            "one_time": _money(self.one_time),
        }


def _cost_from_json(data: dict[str, str] | None) -> Cost | None:
    """A saved change's cost; a zero cost reads back as none, as the change was computed."""
    if data is None:
        return None
    cost = Cost(Decimal(data["monthly"]), Decimal(data["weekly"]), Decimal(data["one_time"]), data["currency"])
    return None if cost.is_zero else cost


def money(value: Decimal) -> str:
    """Money as plans show it: cents when there are any, no padding (1.15, 2.99, 4)."""
    return _money(value)


def _money(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01"))) if value != value.to_integral() else str(int(value))


@dataclass(frozen=True)
class FieldChange:
    """One field-level difference. `immutable` marks a field Bird cannot change in place."""

    path: str
    before: Any
    after: Any
    immutable: bool = False


@dataclass(frozen=True)
class Change:
    address: str  # "Kind/name", e.g. "PhoneNumber/alice-line" or "Channel/alice-line"
    action: Action
    reason: str
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    fields: tuple[FieldChange, ...] = ()
    cost: Cost | None = None
    drift: bool = False  # the difference was made on Bird outside senderctl
    # Everything apply needs to carry the change out (ids, chosen number, idempotency key).
    # Never contains secrets: secrets are resolved again at apply time from their references.
    payload: dict[str, Any] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return self.address.split("/", 1)[0]

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "address": self.address,
            "action": self.action,
            "reason": self.reason,
            "before": self.before,
            "after": self.after,
        }
        if self.fields:
            out["fields"] = [
                {"path": f.path, "before": f.before, "after": f.after, **({"immutable": True} if f.immutable else {})}
                for f in self.fields
            ]
        # Always present (zero when the change costs nothing), so CI scripts can read it without a guard.
        out["cost"] = (self.cost or Cost()).to_json()
        if self.drift:
            out["drift"] = True
        if self.payload:
            out["payload"] = self.payload
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Change:
        cost = data.get("cost")
        return cls(
            address=data["address"],
            action=data["action"],
            reason=data.get("reason", ""),
            before=data.get("before"),
            after=data.get("after"),
            fields=tuple(
                FieldChange(f["path"], f.get("before"), f.get("after"), bool(f.get("immutable")))
                for f in data.get("fields", [])
            ),
            cost=_cost_from_json(cost),
            drift=bool(data.get("drift")),
            payload=data.get("payload", {}),
        )


@dataclass(frozen=True)
class Waiting:
    """A resource whose dependency is not ready yet: not an error, re-checked later."""

    address: str
    reason: str
    # Rough hint for the daemon: how soon re-checking is worthwhile (seconds).
    recheck_after: int = 300

    def to_json(self) -> dict[str, Any]:
        return {"address": self.address, "reason": self.reason}


@dataclass(frozen=True)
class Failed:
    """A resource Bird refused or that cannot converge without a human (e.g. a rejected brand)."""

    address: str
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"address": self.address, "reason": self.reason}


@dataclass(frozen=True)
class Refusal:
    """A change the plan will not carry out as is.

    `flag` names the apply flag that lifts it (`--allow-archive`, `--force`); None means no flag
    can (e.g. beyond the organization's number limit): the specs must change.
    """

    address: str
    reason: str
    flag: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"address": self.address, "reason": self.reason, "flag": self.flag}


@dataclass(frozen=True)
class OutOfScope:
    """A resource this plan leaves alone although it has changes pending or was removed from the
    specs: outside --target / --org, or of an Organization the specs given do not declare."""

    address: str
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"address": self.address, "reason": self.reason}


@dataclass(frozen=True)
class Resource:
    """What a plan's readers (its picture, policies) need of a resource it speaks of: the spec document
    that declares it, that document's labels, and the resources it waits on."""

    document: str
    labels: dict[str, str] = field(default_factory=dict)
    depends_on: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"document": self.document, "labels": dict(sorted(self.labels.items())),
                "depends_on": list(self.depends_on)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Resource:
        return cls(str(data.get("document") or ""), dict(data.get("labels") or {}),
                   tuple(data.get("depends_on") or ()))


@dataclass(frozen=True)
class Plan:
    # The plan's fingerprint, or what computes it: hashing the whole observed world costs half a second
    # at 10,000 numbers, and only a saved plan and its check at apply read it (see `fingerprint`).
    fingerprint_source: str | Callable[[], str] = field(compare=False)
    changes: tuple[Change, ...] = ()
    waiting: tuple[Waiting, ...] = ()
    refusals: tuple[Refusal, ...] = ()
    failed: tuple[Failed, ...] = ()
    ready: tuple[str, ...] = ()  # addresses that are converged
    # Addresses removed from the specs with deletionPolicy Orphan: apply forgets them in the state
    # and touches nothing on Bird.
    forget: tuple[str, ...] = ()
    # What stays on Bird (and stays billed) for each forgotten address, for the reviewer.
    keeps: dict[str, str] = field(default_factory=dict)
    # Hash of the desired resources alone: tells a stale saved plan's cause (specs vs world).
    specs_fingerprint: str = ""
    # Addresses with senderctl.io/paused (or in a paused Organization): no Bird write for them.
    paused: tuple[str, ...] = ()
    out_of_scope: tuple[OutOfScope, ...] = ()
    # The --target / --org the plan was computed with ({} for the whole specs): apply --plan reuses it.
    scope: dict[str, Any] = field(default_factory=dict)
    # address -> Resource, for every address the changes, waiting, refusals and failures name that the
    # specs declare (controller.reconcile.graph.plan_resources).
    resources: dict[str, Resource] = field(default_factory=dict)

    @functools.cached_property
    def fingerprint(self) -> str:
        """A hash of the specs and the observed world this plan was computed from (a saved plan is stale
        when the fresh one's differs)."""
        source = self.fingerprint_source
        return source() if callable(source) else source

    @property
    def has_changes(self) -> bool:
        return bool(self.changes or self.forget)

    def summary(self) -> dict[str, int]:
        counts = Counter(c.action for c in self.changes)
        out = {action: counts.get(action, 0) for action in SUMMARY_ACTIONS}
        for action in ("replace", "adopt"):
            if counts.get(action):
                out[action] = counts[action]
        return out

    def total_cost(self) -> Cost:
        total = Cost()
        for change in self.changes:
            if change.cost is not None:
                total = total + change.cost
        return total

    def blocked(self, allow_archive: bool = False, force: bool = False) -> list[Refusal]:
        """Refusals that the given flags do not lift."""
        lifted = {"--allow-archive": allow_archive, "--force": force}
        return [r for r in self.refusals if r.flag is None or not lifted.get(r.flag, False)]

    def to_json(self) -> dict[str, Any]:
        return {
            "format_version": FORMAT_VERSION,
            "fingerprint": self.fingerprint,
            "specs_fingerprint": self.specs_fingerprint,
            "changes": [c.to_json() for c in self.changes],
            "waiting": [w.to_json() for w in self.waiting],
            "refusals": [r.to_json() for r in self.refusals],
            "failed": [f.to_json() for f in self.failed],
            "forget": list(self.forget),
            "paused": list(self.paused),
            "out_of_scope": [o.to_json() for o in self.out_of_scope],
            "scope": self.scope,
            "keeps": dict(sorted(self.keeps.items())),
            "summary": self.summary(),
            "total_cost": self.total_cost().to_json(),
            "resources": {a: r.to_json() for a, r in sorted(self.resources.items())},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Plan:
        if str(data.get("format_version")) != FORMAT_VERSION:
            raise ValueError(f"unsupported plan format_version {data.get('format_version')!r} (expected {FORMAT_VERSION})")
        return cls(
            fingerprint_source=data["fingerprint"],
            changes=tuple(Change.from_json(c) for c in data.get("changes", [])),
            waiting=tuple(Waiting(w["address"], w["reason"]) for w in data.get("waiting", [])),
            refusals=tuple(Refusal(r["address"], r["reason"], r.get("flag")) for r in data.get("refusals", [])),
            failed=tuple(Failed(f["address"], f["reason"]) for f in data.get("failed", [])),
            forget=tuple(data.get("forget", [])),
            keeps=dict(data.get("keeps", {})),
            specs_fingerprint=data.get("specs_fingerprint", ""),
            paused=tuple(data.get("paused", [])),
            out_of_scope=tuple(OutOfScope(o["address"], o["reason"]) for o in data.get("out_of_scope", [])),
            scope=dict(data.get("scope") or {}),
            resources={a: Resource.from_json(r) for a, r in (data.get("resources") or {}).items()},
        )


def fingerprint(*parts: Any) -> str:
    """A stable hash of JSON-able inputs (the specs and the observed world a plan came from)."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(json.dumps(part, sort_keys=True, default=str, separators=(",", ":")).encode())
        digest.update(b"\x00")
    return digest.hexdigest()
