"""The status page's data, pure: (specs in force, the state's conditions and holdings, the last observation
of Bird) -> an Estate of rows, per-organization summaries and 10DLC timelines; filtering and pages.

The daemon builds one Estate after each reconcile (or when asked and none is fresh) and every request
filters it: at 10,000 numbers that is ~30,000 rows, filtered and counted in a few milliseconds.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from controller.resources.base import Desired, World
from controller.resources.fees import CAMPAIGN_MONTHLY
from controller.state.estate import EstateRows

STATUSES = ("Ready", "Waiting", "Failed", "Paused", "Unknown")
CONDITIONS = {"ready": {"Ready"}, "waiting": {"Waiting"}, "failed": {"Failed"}, "paused": {"Paused"},
              "unknown": {"Unknown"}, "not-ready": {"Waiting", "Failed", "Paused", "Unknown"}}
WEEKS_PER_MONTH = Decimal(52) / Decimal(12)
UNKNOWN_REASON = "not reconciled yet by this daemon's state"
PER_PAGE = 100
MAX_PER_PAGE = 500


@dataclass(frozen=True)
class Row:
    address: str
    kind: str
    organization: str
    workspace: str
    status: str
    reason: str
    since: datetime | None

    @property
    def name(self) -> str:
        return self.address.split("/", 1)[1]


@dataclass
class Counts:
    by_status: Counter[str] = field(default_factory=Counter)

    def add(self, status: str) -> None:
        self.by_status[status] += 1

    def __getitem__(self, status: str) -> int:
        return self.by_status[status]

    @property
    def total(self) -> int:
        return sum(self.by_status.values())


@dataclass
class WorkspaceSummary:
    name: str
    counts: Counts = field(default_factory=Counts)
    held: int = 0


@dataclass
class OrgSummary:
    name: str
    counts: Counts = field(default_factory=Counts)
    workspaces: dict[str, WorkspaceSummary] = field(default_factory=dict)
    held: int = 0
    limit: int | None = None
    enabled: bool = False
    ten_dlc_active: bool = False
    currency: str = "USD"
    numbers_monthly: Decimal = Decimal(0)  # Bird's monthly prices of the numbers held
    platform_monthly: Decimal = Decimal(0)  # the platform's weekly price, over a month
    campaigns_monthly: Decimal = Decimal(0)  # the carriers' monthly fee of the approved campaigns

    @property
    def run_rate(self) -> Decimal:
        return (self.numbers_monthly + self.platform_monthly + self.campaigns_monthly).quantize(Decimal("0.01"))


@dataclass(frozen=True)
class Step:
    """One step of a brand's 10DLC path: its condition, Bird's status and dates, and what it waits on."""

    title: str
    address: str
    status: str
    reason: str
    bird_status: str | None = None
    created: str | None = None
    updated: str | None = None
    detail: str = ""
    # Every resource the step covers, when more than `address` (a campaign's channels).
    addresses: tuple[str, ...] = ()


@dataclass(frozen=True)
class Timeline:
    brand: str  # metadata.name
    organization: str
    workspace: str
    steps: tuple[Step, ...]

    @property
    def status(self) -> str:
        """The path's condition: its first step that is not Ready, else Ready."""
        return next((s.status for s in self.steps if s.status != "Ready"), "Ready")

    @property
    def waits_on(self) -> str:
        step = next((s for s in self.steps if s.status != "Ready"), None)
        return f"{step.title}: {step.reason}" if step is not None else ""


@dataclass
class Estate:
    rows: list[Row]
    orgs: dict[str, OrgSummary]
    timelines: dict[str, Timeline]
    built_at: datetime
    observed: bool  # Bird's dates come from an observation this daemon holds

    def visible_to(self, organization: str, workspace: str | None) -> Estate:
        """What a token of `organization` (and, if limited to one, `workspace`) may see."""
        rows = [r for r in self.rows if r.organization == organization and (workspace is None or r.workspace == workspace)]
        orgs = {k: dataclasses.replace(v, workspaces={w: s for w, s in v.workspaces.items()
                                                      if workspace is None or w == workspace})
                for k, v in self.orgs.items() if k == organization}
        timelines = {k: t for k, t in self.timelines.items()
                     if t.organization == organization and (workspace is None or t.workspace == workspace)}
        return Estate(rows, orgs, timelines, self.built_at, self.observed)


def workspace_names(specs: Any) -> dict[str, str]:
    """Bird workspace id -> the Workspace's metadata.name."""
    if specs is None:
        return {}
    return {str(doc.spec.birdWorkspaceId): doc.name for doc in specs.of_kind("Workspace")}


def workspace_of(d: Desired, names: Mapping[str, str]) -> str:
    if d.kind == "Workspace":
        return d.name
    if d.context.get("workspace"):
        return str(d.context["workspace"])
    return names.get(str(d.context.get("workspaceId") or d.fields.get("workspaceId") or ""), "")


def build_estate(desired: Sequence[Desired], specs: Any, state: EstateRows, world: World | None,
                 now: datetime) -> Estate:
    names = workspace_names(specs)
    workspaces = {d.address: workspace_of(d, names) for d in desired}
    rows = []
    for d in sorted(desired, key=lambda d: d.address):
        status, reason, since = state.conditions.get(d.address, ("Unknown", UNKNOWN_REASON, None))
        # An assignment is where its number is.
        workspace = workspaces[d.address] or workspaces.get(str(d.context.get("number") or ""), "")
        rows.append(Row(d.address, d.kind, d.organization, workspace, status, reason, since))
    orgs = summaries(rows, state)
    timelines = {t.brand: t for t in brand_timelines(desired, rows, state, world, names)}
    return Estate(rows, orgs, timelines, now, world is not None)


def summaries(rows: Iterable[Row], state: EstateRows) -> dict[str, OrgSummary]:
    orgs: dict[str, OrgSummary] = {}
    ready_campaigns: Counter[str] = Counter()
    for row in rows:
        org = orgs.setdefault(row.organization, OrgSummary(row.organization))
        org.counts.add(row.status)
        if row.workspace:
            ws = org.workspaces.setdefault(row.workspace, WorkspaceSummary(row.workspace))
            ws.counts.add(row.status)
        if row.kind == "Campaign" and row.status == "Ready":
            ready_campaigns[row.organization] += 1
    for name, org in orgs.items():
        terms = state.orgs.get(name)
        org.held = state.held.get(name, 0)
        for ws in org.workspaces.values():
            ws.held = state.held_by_workspace.get(ws.name, 0)
        org.numbers_monthly = state.monthly_prices.get(name, Decimal(0))
        org.campaigns_monthly = CAMPAIGN_MONTHLY * ready_campaigns[name]
        if terms is not None:
            org.limit, org.enabled, org.ten_dlc_active = terms.limit, terms.enabled, terms.ten_dlc_active
            org.currency = terms.currency
            org.platform_monthly = terms.weekly_price * org.held * WEEKS_PER_MONTH
    return dict(sorted(orgs.items()))


# --- the 10DLC timeline ---------------------------------------------------------------------------


def brand_timelines(desired: Sequence[Desired], rows: Sequence[Row], state: EstateRows, world: World | None,
                    names: Mapping[str, str]) -> list[Timeline]:
    by_address = {r.address: r for r in rows}
    campaigns_of: dict[str, list[Desired]] = {}
    channels_of: dict[str, list[Desired]] = {}
    for d in desired:
        if d.kind == "Campaign":
            campaigns_of.setdefault(str(d.context.get("brand")), []).append(d)
        elif d.kind == "Channel":
            channels_of.setdefault(str(d.context.get("campaign")), []).append(d)
    out = []
    for brand in (d for d in desired if d.kind == "Brand"):
        ws_id = str(brand.context.get("workspaceId") or "")
        brand_id = state.bird_ids.get(brand.address)
        steps = [step("Brand registered", brand.address, by_address, find(world, "brands", ws_id, brand_id))]
        vetting = f"Vetting/{brand.name}"
        if vetting in by_address:
            found = find(world, "vettings", (ws_id, brand_id), state.bird_ids.get(vetting))
            steps.append(step("Vetting", vetting, by_address, found))
        for campaign in sorted(campaigns_of.get(brand.address, []), key=lambda d: d.address):
            found = find(world, "campaigns", (ws_id, brand_id), state.bird_ids.get(campaign.address))
            steps.append(step(f"Campaign {campaign.name}", campaign.address, by_address, found))
            steps.append(channels_step(campaign, channels_of.get(campaign.address, []), by_address, world, ws_id,
                                       state))
        out.append(Timeline(brand.name, brand.organization, names.get(ws_id, ""), tuple(steps)))
    return sorted(out, key=lambda t: (t.organization, t.brand))


def find(world: World | None, collection: str, key: Any, bird_id: str | None) -> dict[str, Any] | None:
    if world is None or not bird_id:
        return None
    return next((item for item in getattr(world, collection).get(key, []) if item.get("id") == bird_id), None)


def step(title: str, address: str, rows: Mapping[str, Row], bird: dict[str, Any] | None) -> Step:
    row = rows.get(address)
    status, reason = (row.status, row.reason) if row else ("Unknown", UNKNOWN_REASON)
    detail = ""
    rejection = (bird or {}).get("rejection")
    if isinstance(rejection, dict) and rejection:
        detail = f"Bird rejection {rejection.get('code', '')}: {rejection.get('description', '')}"
    return Step(title, address, status, reason, (bird or {}).get("status"), (bird or {}).get("createdAt"),
                (bird or {}).get("updatedAt"), detail)


def channels_step(campaign: Desired, channels: Sequence[Desired], rows: Mapping[str, Row], world: World | None,
                  ws_id: str, state: EstateRows) -> Step:
    """The campaign's numbers whose channel carriers acknowledged (channel active, useCaseStatus ok)."""
    title = f"Channels acknowledged ({campaign.name})"
    if not channels:
        return Step(title, campaign.address, "Ready", "", detail="no number is linked to this campaign")
    conditions = [rows.get(c.address) for c in channels]
    ready = sum(1 for row in conditions if row is not None and row.status == "Ready")
    pending = next((row for row in conditions if row is None or row.status != "Ready"), None)
    status = "Ready" if pending is None else (pending.status if pending is not None else "Unknown")
    reason = "" if pending is None else f"{pending.address}: {pending.reason}"
    updated = [c.get("updatedAt") for c in channel_objects(world, ws_id, [state.bird_ids.get(ch.address)
                                                                          for ch in channels])]
    latest = max((u for u in updated if u), default=None)
    return Step(title, channels[0].address, status, reason, f"{ready} of {len(channels)} acknowledged", None,
                latest, detail="", addresses=tuple(c.address for c in channels))


def channel_objects(world: World | None, ws_id: str, connector_ids: Iterable[str | None]) -> list[dict[str, Any]]:
    """Bird's channels behind the given connectors (a channel carries its connectorId)."""
    if world is None:
        return []
    wanted = {c for c in connector_ids if c}
    return [c for c in world.channels.get(ws_id, []) if c.get("connectorId") in wanted]


# --- the table: filters and pages -----------------------------------------------------------------


@dataclass(frozen=True)
class Query:
    condition: str = ""  # a key of CONDITIONS, or "" for all
    organization: str = ""
    workspace: str = ""
    kind: str = ""
    text: str = ""  # part of the address or the reason
    page: int = 1
    per_page: int = PER_PAGE

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> tuple[Query, list[str]]:
        """The query, and what was wrong with the parameters (each ignored, and said on the page)."""
        problems = []
        condition = params.get("condition", "").strip().lower()
        if condition and condition not in CONDITIONS:
            problems.append(f"condition {condition!r} is not one of {', '.join(CONDITIONS)}: showing all")
            condition = ""
        page = _positive(params.get("page", "1"), 1, "page", problems)
        per_page = min(_positive(params.get("per_page", str(PER_PAGE)), PER_PAGE, "per_page", problems), MAX_PER_PAGE)
        return cls(condition, params.get("org", "").strip(), params.get("workspace", "").strip(),
                   params.get("kind", "").strip(), params.get("q", "").strip()[:200], page, per_page), problems

    def matches(self, row: Row) -> bool:
        if self.condition and row.status not in CONDITIONS[self.condition]:
            return False
        if self.organization and row.organization != self.organization:
            return False
        if self.workspace and row.workspace != self.workspace:
            return False
        if self.kind and row.kind != self.kind:
            return False
        text = self.text.lower()
        return not text or text in row.address.lower() or text in row.reason.lower()

    def params(self, **override: Any) -> dict[str, str]:
        """The query string of this view (with some parameters changed), for links: a view is a link."""
        values = {"condition": self.condition, "org": self.organization, "workspace": self.workspace,
                  "kind": self.kind, "q": self.text, "page": str(self.page),
                  "per_page": str(self.per_page) if self.per_page != PER_PAGE else ""}
        values.update({k: str(v) for k, v in override.items()})
        return {k: v for k, v in values.items() if v and not (k == "page" and v == "1")}


def _positive(text: str, default: int, name: str, problems: list[str]) -> int:
    try:
        value = int(text)
    except ValueError:
        problems.append(f"{name} {text[:20]!r} is not a number: using {default}")
        return default
    if value < 1:
        problems.append(f"{name} must be 1 or more: using {default}")
        return default
    return value


@dataclass(frozen=True)
class Page:
    rows: list[Row]
    matched: int
    number: int
    pages: int
    counts: Counter[str]  # statuses of the matched rows


def select_page(rows: Sequence[Row], query: Query) -> Page:
    matched = [r for r in rows if query.matches(r)]
    pages = max(1, -(-len(matched) // query.per_page))
    number = min(query.page, pages)
    start = (number - 1) * query.per_page
    return Page(matched[start:start + query.per_page], len(matched), number, pages,
                Counter(r.status for r in matched))
