"""PhoneNumber and NumberPool members: numbers bought on Bird and held in the organization's pool.

Buying starts a monthly subscription, so this module is the most careful one:
  * a number already owned is adopted, never bought again — including one an interrupted apply
    bought (its journal intent names the number before the purchase is sent);
  * organization limits and the multi-number switch (seed 000) are checked across the whole plan;
  * a number is never released to satisfy a diff: a spec that now needs a different number is
    refused with an explanation.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Container, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from controller.reconcile.plan import Change, Cost, Refusal, money
from controller.resources.base import ApplyIO, Desired, Outcome, PlanContext, RecordView
from controller.resources.common import field_diff, is_sms
from controller.resources.lifecycle import RECHECK_CAMPAIGN, RECHECK_DEPENDENCY

if TYPE_CHECKING:
    from specs import SpecSet

KINDS = ("PhoneNumber", "NumberPool")


def member_names(doc: Any) -> list[str]:
    if doc.kind == "PhoneNumber":
        return [doc.metadata.name]
    return [f"{doc.metadata.name}[{i}]" for i in range(doc.spec.count)]


def selection(doc: Any) -> dict[str, Any]:
    number = getattr(doc.spec, "number", None)
    if number:
        return {"number": str(number)}
    sel = doc.spec.select
    return {
        "select": {
            "country": sel.country,
            "type": sel.type,
            **({"prefix": sel.prefix} if sel.prefix else {}),
        }
    }


StockKey = tuple[str, str, str, str]


def stock_key(organization: str, fields: dict[str, Any]) -> StockKey:
    """How observe and compare agree on one stock search: (organization, country, type, prefix), or
    (organization, country, "number", E.164) for an exact number.

    Keyed by organization, not workspace: Bird's stock is the organization's ("available numbers in stock
    at organization level", numbers-stock-items; numbers-available lists the same stock from any of its
    workspaces), so every workspace of an organization draws on one list and the planner hands each
    number to one resource only."""
    if "number" in fields:
        number = fields["number"]
        return organization, country_of(number), "number", number
    sel = fields["select"]
    return organization, sel["country"], sel["type"], sel.get("prefix", "")


@dataclass
class StockLedger:
    """Which stock number each purchase takes: the first one, in Bird's order, that no resource of this
    plan took and the organization does not hold already. Deterministic for a given world and order.

    A cursor per search keeps it linear: the numbers before it are all taken (and stay taken)."""

    stock: Mapping[StockKey, list[dict[str, Any]]]
    unavailable: Container[str]
    taken: set[str] = field(default_factory=set)
    cursors: dict[StockKey, int] = field(default_factory=dict)

    def take(self, key: StockKey) -> dict[str, Any] | None:
        items = self.stock.get(key, ())
        i = self.cursors.get(key, 0)
        while i < len(items):
            item = items[i]
            i += 1
            number = number_of(item)
            if number and number not in self.taken and number not in self.unavailable:
                self.taken.add(number)
                self.cursors[key] = i
                return item
        self.cursors[key] = i
        return None


def stock_shortfall(requests: Iterable[StockKey], stock: Mapping[StockKey, list[dict[str, Any]]],
                    unavailable: Container[str]) -> Counter[StockKey]:
    """How many more numbers each search must offer for every request (in plan order) to get one."""
    ledger = StockLedger(stock, unavailable)
    short: Counter[StockKey] = Counter()
    for key in requests:
        if ledger.take(key) is None:
            short[key] += 1
    return short


def country_of(number: str) -> str:
    import phonenumbers

    return phonenumbers.region_code_for_number(phonenumbers.parse(number)) or "US"


def expand(specs: SpecSet) -> list[Desired]:
    out = []
    for kind in KINDS:
        for doc in specs.of_kind(kind):
            spec = doc.spec
            ws = specs.get("Workspace", spec.workspace)
            ws_id = str(ws.spec.birdWorkspaceId) if ws else ""
            organization = ws.spec.organization if ws else ""
            # Read once per document, not per member: a pool of 100 numbers asked its model 100 times.
            selected = selection(doc)
            policy, protected, depends_on = spec.deletionPolicy, spec.protected, (f"Workspace/{spec.workspace}",)
            for index, name in enumerate(member_names(doc)):
                out.append(
                    Desired(
                        address=f"{kind}/{name}",
                        kind=kind,
                        organization=organization,
                        fields={"workspaceId": ws_id, **selected},
                        context={
                            "workspace": spec.workspace,
                            "workspaceId": ws_id,
                            "index": index,
                            "deletionPolicy": policy,
                            "protected": protected,
                        },
                        depends_on=depends_on,
                    )
                )
    return out


def number_of(item: dict[str, Any] | None) -> str | None:
    if not item:
        return None
    return item.get("numberString") or item.get("number") or item.get("phoneNumber")


def find_number(items: list[dict[str, Any]], number: str | None) -> dict[str, Any] | None:
    return next((item for item in items if number and number_of(item) == number), None)


def price_of(item: dict[str, Any] | None) -> Decimal | None:
    """Bird's money: {currencyCode, amount, exponent} -> Decimal, amount × 10^exponent (3500000, -6 = 3.50)."""
    item = item or {}
    price = item.get("monthlyPrice") or item.get("monthlyRecurringPrice")
    if not isinstance(price, dict) or price.get("amount") is None:
        return None
    return Decimal(int(price["amount"])).scaleb(int(price.get("exponent", 0)))


def satisfies(fields: dict[str, Any], owned: dict[str, Any]) -> str | None:
    """Why the owned number no longer matches the spec's selection, or None."""
    number = number_of(owned) or ""
    if "number" in fields:
        return None if fields["number"] == number else f"the spec asks for {fields['number']}"
    sel = fields["select"]
    if sel.get("prefix") and not number.startswith(sel["prefix"]):
        return f"the spec now selects prefix {sel['prefix']}"
    country = owned.get("countryCode") or owned.get("country")
    if country and country != sel["country"]:
        return f"the spec now selects country {sel['country']}"
    kind = owned.get("type")
    if kind and kind != sel["type"]:
        return f"the spec now selects type {sel['type']}"
    return None


def purchase_members(address: str, request: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(address, number) of every number a journaled purchase asks Bird for: each member of a batch
    (``{"numbers": [{address, number, stockItemId}, ...]}``), or the one number of an intent written
    before purchases were batched (``{"number": ...}``, for ``address``)."""
    members = request.get("numbers")
    if isinstance(members, list):
        return [(str(m.get("address") or address), str(m["number"])) for m in members
                if isinstance(m, Mapping) and m.get("number")]
    if request.get("number"):
        return [(address, str(request["number"]))]
    return []


def interrupted_purchase(d: Desired, by_number: dict[str, Any], ctx: PlanContext) -> dict[str, Any] | None:
    """A number an interrupted apply asked Bird for: its journal intent (naming every number of its batch)
    was committed before the purchase was sent."""
    for op in ctx.world.open_operations:
        if op.action != "create":
            continue
        for member, number in purchase_members(op.address, op.request):
            found = by_number.get(number) if member == d.address else None
            if found:
                return found
    return None


def compare(d: Desired, ctx: PlanContext) -> Outcome:
    ws = d.context["workspaceId"]
    if f"workspace {ws}" in ctx.world.unreachable:
        return Outcome("Waiting", f"workspace {ws} cannot be read on Bird", recheck_after=RECHECK_DEPENDENCY)
    owned = ctx.world.numbers.get(ws, [])
    by_id = ctx.index(owned, lambda n: n.get("id"), "id")
    by_number = ctx.index(owned, number_of, "number")
    record = ctx.world.records.get(d.address)
    moved_from = record.data.get("workspaceId") if record is not None and record.bird_id else None
    if moved_from and moved_from != ws:
        return Outcome("Failed", "", refusals=(Refusal(d.address, (
            f"{d.address} holds {record.data.get('number')} in workspace {moved_from}; the spec now names workspace "
            f"{ws}. senderctl does not move a number between workspaces or buy a second one for a move: restore "
            "the workspace, or declare a new resource in the new workspace and archive this one explicitly")),))
    found = by_id.get(record.bird_id) if record and record.bird_id else None
    managed = found is not None
    reason = ""
    if found is None and "number" in d.fields:
        found = by_number.get(d.fields["number"])
        reason = f"{d.fields['number']} is already owned on Bird"
    if found is None:
        found = interrupted_purchase(d, by_number, ctx)
        reason = "an interrupted apply bought this number; adopting it instead of buying again"
    refusals: list[Refusal] = []
    if found is None and "select" in d.fields:
        if record is None:
            found, reason, refusal = held_already(d, ctx, owned, by_id)
            if refusal is not None:
                refusals.append(refusal)
        else:  # its number was cancelled outside senderctl: one the organization still holds comes first
            found, reason = adoptable(d, ctx, owned)
    if found is None:
        bought = plan_purchase(d, ctx, record)
        return dataclasses.replace(bought, refusals=bought.refusals + tuple(refusals))

    number = number_of(found) or ""
    ctx.claimed_numbers[number] = d.address
    facts = {"birdId": found["id"], "number": number, "workspaceId": ws}
    changes: list[Change] = []
    held = ctx.world.tenant.held_numbers.get(number)
    if held is None:
        ctx.pool_additions[d.organization] += 1  # adopted into the pool by this plan
    if not managed or held is None:
        changes.append(
            Change(d.address, "adopt", reason or "recording the number in the organization's pool", None,
                   {"number": number, **d.fields}, payload=adopt_payload(d, found))
        )
    mismatch = satisfies(d.fields, found)
    if mismatch:
        refusals.append(Refusal(d.address, f"{d.address} holds {number} but {mismatch}; senderctl never releases "
                                "a number to satisfy a diff. Restore the selection, or declare a new resource "
                                "for the new number and archive this one explicitly"))
    elif managed and held is not None and record is not None and record.spec != spec_record(d):
        # Only senderctl's own bookkeeping changes (protection, deletion policy, selection).
        diff = field_diff(spec_record(d), record.spec)
        changes.append(Change(d.address, "update", "the spec's protection, deletion policy or selection changed",
                              {f.path: f.before for f in diff}, {f.path: f.after for f in diff}, fields=diff,
                              payload=adopt_payload(d, found)))
    return Outcome("Ready", changes=tuple(changes), refusals=tuple(refusals), facts=facts)


# --- what Bird already holds for a `select` resource the state does not know ---------------------
#
# A `select` spec names no number, so a new, empty or wrong state — or a pool lowered and raised again,
# a document deleted and restored — would buy again. Before buying, senderctl looks for the number this
# resource already has on Bird: the number of a renamed resource whose spec is otherwise identical, the
# number linked to the spec's campaign by an SMS channel, then any number the organization owns that
# nothing manages (forgotten by an Orphan removal, or bought by anyone) and that matches the selection.


def held_already(d: Desired, ctx: PlanContext, owned: list[dict[str, Any]],
                 by_id: dict[Any, dict[str, Any]]) -> tuple[dict[str, Any] | None, str, Refusal | None]:
    """(the owned number to adopt, why) or (None, "", a refusal to guess a rename)."""
    renamed, others = rename_candidates(d, ctx, by_id)
    if renamed is not None:
        return (by_id[renamed.bird_id],
                f"renamed from {renamed.address}: keeps its number, SMS channel and user", None)
    if others and d.address not in ctx.world.known_addresses:  # new to the specs, beside a removed one
        old = others[0]
        return None, "", Refusal(d.address, (
            f"{old.address} ({by_id[old.bird_id].get('number')}) was removed from the specs and {d.address} is new "
            "with a different spec, so senderctl does not guess a rename. To keep that number, its SMS channel and "
            f"its user, run `senderctl state mv {old.address} {d.address}` and plan again; to buy a new number "
            f"and forget {old.address} as its deletionPolicy says, apply with --force"), "--force")
    found, reason = adoptable(d, ctx, owned)
    return found, reason, None


def adoptable(d: Desired, ctx: PlanContext, owned: list[dict[str, Any]]) -> tuple[dict[str, Any] | None, str]:
    """The unmanaged owned number `d` adopts instead of buying, and why; (None, "") when there is none.

    Candidates match the selection in `d`'s workspace, are assigned to nobody but `d`'s assignee, and carry
    no SMS channel to another campaign than the spec's. Preferred, in order: the number this very address
    held before it was forgotten, one linked to the spec's campaign (by the channel named as the spec's
    first), one with no SMS channel; then Bird's order."""
    linked = linked_by_channel(d, ctx, owned)
    if linked is not None:
        return linked, unmanaged_reason(linked, ctx, "linked to this spec's campaign by an SMS channel on Bird")
    channel = ctx.desired(f"Channel/{d.name}")
    campaign = ctx.outcome(channel.context["campaign"]) if channel else None
    campaign_id = campaign.facts.get("birdId") if campaign else None
    assignment = ctx.desired(f"Assignment/{d.name}")
    assignee = assignment.fields.get("user") if assignment else None
    links = sms_links(d.context["workspaceId"], ctx)
    forgotten = ctx.world.tenant.forgotten
    best: tuple[tuple[int, int, int], dict[str, Any]] | None = None
    for order, item in enumerate(owned):
        if not is_unmanaged(item, ctx) or satisfies(d.fields, item) is not None:
            continue
        number = number_of(item) or ""
        if ctx.world.tenant.assignments.get(number, assignee) != assignee:
            continue  # a user holds it: never taken from them
        campaigns = links.get(number, set())
        if channel is not None and campaigns - {campaign_id}:
            continue  # linked to another campaign: not this spec's number
        rank = (0 if forgotten.get(number, ("",))[0] == d.address else 1,
                0 if campaigns and campaigns == {campaign_id} else 1 if not campaigns else 2, order)
        if best is None or rank < best[0]:
            best = (rank, item)
    if best is None:
        return None, ""
    return best[1], unmanaged_reason(best[1], ctx, "matches this selection")


def unmanaged_reason(item: dict[str, Any], ctx: PlanContext, why: str) -> str:
    """Why an unmanaged number is adopted: who forgot it and when, if a record did."""
    number = number_of(item) or ""
    forgotten = ctx.world.tenant.forgotten.get(number)
    if forgotten is not None:
        by, at = forgotten
        return (f"{number} (forgotten by {by} on {at:%Y-%m-%d}) is still owned on Bird and billed, {why} and no spec "
                "manages it: adopted instead of buying another")
    return f"{number} is owned on Bird, {why} and no spec manages it: adopted instead of buying another"


def sms_links(workspace_id: str, ctx: PlanContext) -> dict[str, set[Any]]:
    """number -> the campaign ids its SMS channels link it to, in one workspace."""
    key = (0, f"sms-links {workspace_id}")
    table = ctx.indexes.get(key)
    if table is None:
        table = ctx.indexes[key] = {}
        for on_bird in ctx.world.channels.get(workspace_id, ()):
            if is_sms(on_bird) and on_bird.get("identifier"):
                table.setdefault(on_bird["identifier"], set()).add(on_bird.get("useCaseId"))
    return table


def number_records(ctx: PlanContext) -> dict[str, RecordView]:
    """Bird number id -> the state's record holding it (any PhoneNumber or NumberPool member)."""
    table = ctx.indexes.get((0, "number-records"))
    if table is None:
        table = ctx.indexes[(0, "number-records")] = {
            r.bird_id: r for r in ctx.world.records.values() if r.kind in KINDS and r.bird_id}
    return table


def is_unmanaged(item: dict[str, Any], ctx: PlanContext) -> bool:
    """Owned on Bird, and no record, no resource of this plan and no platform API purchase holds it, nor was
    it archived. A number forgotten by an Orphan removal is unmanaged: still in the pool, held by no record."""
    number = number_of(item) or ""
    tenant = ctx.world.tenant
    return (item.get("id") not in number_records(ctx) and number not in ctx.claimed_numbers
            and number not in tenant.api_numbers and number not in tenant.archived_numbers)


def rename_candidates(d: Desired, ctx: PlanContext,
                      by_id: dict[Any, dict[str, Any]]) -> tuple[RecordView | None, list[RecordView]]:
    """(the removed resource `d` is a pure rename of, the other removed resources it may be a rename of).

    Removed: recorded in the state, no longer in the specs, its number still owned in the workspace."""
    removed = [r for r in number_records(ctx).values()
               if r.kind == d.kind and r.address not in ctx.desired_by_address and r.bird_id in by_id
               and r.data.get("workspaceId") == d.context["workspaceId"]
               and number_of(by_id[r.bird_id]) not in ctx.claimed_numbers]
    identical = [r for r in removed if r.spec == spec_record(d) and same_dependents(r, d, ctx)]
    if identical:
        # A pool renamed as a whole: member i keeps member i's number.
        identical.sort(key=lambda r: (member_index(r.address) != d.context["index"], r.address))
        return identical[0], []
    return None, sorted(removed, key=lambda r: r.address)


def member_index(address: str) -> int:
    name = address.split("/", 1)[1]
    return int(name[name.rindex("[") + 1:-1]) if name.endswith("]") else 0


def same_dependents(old: RecordView, d: Desired, ctx: PlanContext) -> bool:
    """The old name's channel and assignment are what the new name declares."""
    old_name = old.address.split("/", 1)[1]
    for kind in ("Channel", "Assignment"):
        was = ctx.world.records.get(f"{kind}/{old_name}")
        wanted = ctx.desired(f"{kind}/{d.name}")
        if (was is None) != (wanted is None):
            return False
        if was is not None and wanted is not None and any(
                was.spec.get(key) != value for key, value in wanted.fields.items() if key in was.spec):
            return False
    return True


def linked_by_channel(d: Desired, ctx: PlanContext, owned: list[dict[str, Any]]) -> dict[str, Any] | None:
    """An unmanaged owned number whose SMS channel (installed by a connector) links it to this spec's
    campaign: the channel of that name first, then one no other spec's channel is named after."""
    channel = ctx.desired(f"Channel/{d.name}")
    campaign = ctx.outcome(channel.context["campaign"]) if channel else None
    campaign_id = campaign.facts.get("birdId") if campaign else None
    if channel is None or not campaign_id:
        return None
    others = ctx.indexes.get((0, "channel-names"))
    if others is None:
        others = ctx.indexes[(0, "channel-names")] = {
            c.context["name"]: c.address for c in ctx.desired_of_kind("Channel")}
    linked = []
    by_number = ctx.index(owned, number_of, "number")
    for on_bird in ctx.world.channels.get(d.context["workspaceId"], ()):
        item = by_number.get(on_bird.get("identifier"))
        if on_bird.get("useCaseId") != campaign_id or item is None or not is_unmanaged(item, ctx):
            continue
        if not is_sms(on_bird) or satisfies(d.fields, item) is not None:
            continue
        name = on_bird.get("name")
        if name == channel.context["name"]:
            return item
        if others.get(name, channel.address) == channel.address:
            linked.append(item)
    return linked[0] if linked else None


def adopt_payload(d: Desired, found: dict[str, Any]) -> dict[str, Any]:
    return {
        "workspaceId": d.context["workspaceId"],
        "workspace": d.context["workspace"],
        "organization": d.organization,
        "numberId": found["id"],
        "number": number_of(found),
        "monthlyPrice": str(price_of(found)) if price_of(found) is not None else None,
        "spec": spec_record(d),
    }


def spec_record(d: Desired) -> dict[str, Any]:
    """What the state remembers of the spec: removal needs the policy the user last applied."""
    return {**d.fields, "deletionPolicy": d.context["deletionPolicy"], "protected": d.context["protected"]}


def plan_purchase(d: Desired, ctx: PlanContext, record: RecordView | None) -> Outcome:
    org = d.organization
    org_outcome = ctx.outcome(f"Organization/{org}")
    facts = org_outcome.facts if org_outcome else {}
    enabled, limit = bool(facts.get("enabled")), int(facts.get("limit", 1))
    held = ctx.held_count(org) + ctx.pool_additions[org]
    if held >= 1 and not enabled:
        return Outcome("Failed", "", refusals=(Refusal(
            d.address, f"organization {org} already holds a number and multiSmsNumbers.enabled is false: "
            "enable multi-SMS numbers for the organization or remove this number from the specs"),))
    if held + 1 > limit:
        return Outcome("Failed", "", refusals=(Refusal(d.address, limit_full(d, ctx, held, limit)),))
    if held >= 1 and not facts.get("tenDlcActive"):
        return Outcome("Waiting", f"organization {org}'s 10DLC is not active yet (approved brand and campaign); "
                       "extra numbers wait for it", recheck_after=RECHECK_CAMPAIGN)

    key = stock_key(d.organization, d.fields)
    item = ctx.take_stock(key)
    if item is None:
        what = d.fields.get("number") or " ".join(v for v in key[1:] if v)
        return Outcome("Failed", f"no number matching {what} is in Bird's stock")
    number = number_of(item) or ""
    ctx.pool_additions[org] += 1
    ctx.claimed_numbers[number] = d.address
    monthly = price_of(item) or Decimal("0")
    weekly = Decimal(str(facts.get("weeklyPrice", "2.99")))
    drift = record is not None and record.bird_id is not None
    change = Change(
        d.address, "create",
        "number no longer owned on Bird (cancelled outside senderctl)" if drift else "not owned on Bird",
        None, {"number": number, **d.fields},
        cost=Cost(monthly=monthly, weekly=weekly), drift=drift,
        payload={
            "workspaceId": d.context["workspaceId"],
            "workspace": d.context["workspace"],
            "organization": org,
            "number": number,
            "stockItemId": item.get("id"),
            "country": key[1],
            "select": d.fields.get("select"),
            "monthlyPrice": str(monthly),
            "spec": spec_record(d),
        },
    )
    return Outcome("Waiting", f"{number} is not bought yet", changes=(change,), facts={"number": number})


def limit_full(d: Desired, ctx: PlanContext, held: int, limit: int) -> str:
    """Why `d` cannot be bought at the limit, naming the forgotten numbers that fill it (held and billed,
    managed by no spec): adopting or releasing them is the way out, not removing numbers from the specs."""
    org = d.organization
    tenant = ctx.world.tenant
    forgotten = sorted(n for n, (by, _) in tenant.forgotten.items()
                       if tenant.held_numbers.get(n) == org and n not in ctx.claimed_numbers)
    text = f"organization {org} holds or is buying {held} numbers and its multiSmsNumbers.limit is {limit}"
    if not forgotten:
        return text + ": raise the limit or remove numbers from the specs"
    shown = ", ".join(f"{n} (forgotten by {tenant.forgotten[n][0]})" for n in forgotten[:5])
    return (f"{text}, {len(forgotten)} of them forgotten: still held and billed, managed by no spec ({shown}"
            f"{' …' if len(forgotten) > 5 else ''}). A spec that selects one adopts it instead of buying (give it "
            "`number:` or a matching `select`); to release one, adopt it with deletionPolicy: Archive and protected: "
            "false, then remove it and apply with --allow-archive. `senderctl state list` shows what the specs "
            "manage; or raise the limit")


def orphaned(number_address: str, ctx: PlanContext) -> bool:
    """The number was removed from the specs with deletionPolicy Orphan: leave all of it alone."""
    record = ctx.world.records.get(number_address)
    return (
        number_address not in ctx.desired_by_address
        and record is not None
        and record.spec.get("deletionPolicy", "Orphan") != "Archive"
    )


def renamed_with(kind: str, number: str, ctx: PlanContext) -> bool:
    """The number's resource was renamed and the new name declares a `kind` for the number too
    (Assignment, Channel): that one keeps the Bird object or the owner in place, so the old name's
    is forgotten rather than removed."""
    claimant = ctx.claimed_numbers.get(number)
    return claimant is not None and f"{kind}/{claimant.split('/', 1)[1]}" in ctx.desired_by_address


def removal(record: RecordView, ctx: PlanContext) -> Outcome:
    policy = record.spec.get("deletionPolicy", "Orphan")
    number = record.data.get("number", "")
    if number in ctx.claimed_numbers:  # renamed: the number lives on under its new name
        return Outcome("Ready", f"{number} stays, held now by {ctx.claimed_numbers[number]}")
    if policy != "Archive":
        return Outcome("Ready", what_stays(record, ctx))
    if record.spec.get("protected", True):
        return Outcome("Failed", "", refusals=(Refusal(
            record.address, f"{record.address} ({number}) was removed from the specs with deletionPolicy Archive "
            "but is protected: true, so it is never archived. Put it back with protected: false and apply, "
            "then remove it; or set deletionPolicy: Orphan"),))
    # The user it is assigned to now, if any: the reviewer (and a policy) sees whose number goes.
    assignee = ctx.world.tenant.assignments.get(number)
    change = Change(
        record.address, "archive", "removed from the specs (deletionPolicy: Archive); its Bird subscription is "
        "cancelled (Bird's Cancel Number Subscription, the documented cancel route: Manage Endpoint Subscriptions "
        "documents none of its own), so Bird stops billing it at the end of the month already paid",
        {"number": number, **({"assignee": assignee} if assignee else {})}, None,
        payload={"organization": record.data.get("organization"), "number": number, "numberId": record.bird_id,
                 "workspaceId": record.data.get("workspaceId")},
    )
    return Outcome("Ready", changes=(change,), refusals=(Refusal(
        record.address, f"archiving {number} cancels its Bird subscription, releases it from the organization's pool "
        "and cannot be undone",
        "--allow-archive"),))


def what_stays(record: RecordView, ctx: PlanContext) -> str:
    """What an Orphan removal leaves in place, so that the reviewer sees what stays billed."""
    number = record.data.get("number", "")
    org = record.data.get("organization", "")
    owned = find_number(ctx.world.numbers.get(record.data.get("workspaceId", ""), []), number)
    monthly = price_of(owned)
    config = ctx.world.tenant.orgs.get(org)
    held = ctx.held_count(org)
    on_bird = (f"its Bird subscription ({money(monthly)} {config.currency if config else 'USD'}/month) continues"
               if monthly is not None else "it stays owned on Bird")
    billed = (f"billed {money(config.weekly_price)} {config.currency}/week and counted against multiSmsNumbers.limit "
              f"({held} of {config.limit} held)" if config else "billed weekly and counted against the limit")
    return (f"deletionPolicy Orphan: senderctl forgets {number}; {on_bird}, it stays in organization {org}'s pool, "
            f"{billed}, and any channel on Bird stays. To release it, put the spec back with deletionPolicy: "
            "Archive and protected: false, apply, then remove it and apply with --allow-archive")


async def change(c: Change, io: ApplyIO) -> None:
    p = c.payload
    if c.action == "create":
        await change_batch([c], io)
    elif c.action == "adopt":
        await record_number(c, io, p["numberId"], p["number"])
    elif c.action == "update":
        io.save(c.address, c.kind, bird_id=p["numberId"], spec=p["spec"],
                data={"number": p["number"], "workspaceId": p["workspaceId"], "workspace": p["workspace"],
                      "organization": p["organization"]})
    elif c.action == "archive":
        from controller import tenant

        billed_until = None
        if p.get("workspaceId") and p.get("numberId"):  # Bird stops billing it at the end of the month paid
            billed_until = await io.journaled(c, request={"workspaceId": p["workspaceId"], "numberId": p["numberId"]},
                                              call=lambda: io.client.cancel_number(p["workspaceId"], p["numberId"]),
                                              key_suffix="cancel-subscription")
            io.settle(c.address)  # the cancel is done: its journal entry no longer blocks the archive
        await io.tenant_call(tenant.archive_number, p["organization"], p["number"], at=io.now(), billed_until=billed_until)
        io.forget(c.address)


# --- buying: one Bird call for up to 25 numbers ---------------------------------------------------
#
# Bird buys numbers by stock item, up to 25 per call ("Buy a Number"). Apply hands the purchases of one
# workspace and selection to change_batch 25 at a time: one journaled intent names every stock item, number
# and resource of the batch before the call, so an answer lost with the connection (or a process killed
# after Bird bought) is adopted by the next run, number by number, and never bought again.

BATCH_SIZE = 25


def batch_key(c: Change) -> tuple[str, ...] | None:
    """Purchases bought together: one workspace, one selection (exact numbers of a workspace together)."""
    if c.action != "create":
        return None
    p = c.payload
    select = p.get("select") or {}
    return (p["workspaceId"], p["country"], select.get("type", "number"), select.get("prefix", ""))


def purchase_request(workspace_id: str, changes: list[Change]) -> dict[str, Any]:
    """The journal intent of one purchase call: every stock item, number and resource it buys for."""
    members = [{"address": c.address, "number": c.payload["number"], "stockItemId": c.payload.get("stockItemId")}
               for c in changes]
    return {"workspaceId": workspace_id, "numbers": members}


def batch_address(changes: list[Change]) -> str:
    """Where a batch's intent is journaled: its one resource's address; with several, an address of its own,
    so that no single member's record closes the intent the others still need (see settle_batch)."""
    first = changes[0].address
    return first if len(changes) == 1 else f"{first} and {len(changes) - 1} more"


async def change_batch(changes: list[Change], io: ApplyIO) -> None:
    """Buy the batch's numbers in one call, then record them all with the intent closed, in one transaction."""
    ws = changes[0].payload["workspaceId"]
    wanted = {c.payload["number"]: c for c in changes}
    missing = [c.address for c in changes if not c.payload.get("stockItemId")]
    if missing:
        raise ValueError(f"{', '.join(missing)}: the plan names no stock item to buy (a plan saved by an older "
                         "senderctl); run `senderctl plan` again")

    async def owned() -> dict[str, Any]:
        found = {}
        async for number in io.client.list_numbers(ws):
            if number.number in wanted:
                found[number.number] = number
        return found

    async def probe() -> dict[str, Any] | None:
        found = await owned()
        return found if len(found) == len(wanted) else None  # anything less: the intent stays open

    intent = dataclasses.replace(changes[0], address=batch_address(changes))
    answer = await io.journaled(intent, request=purchase_request(ws, changes), probe=probe,
                                call=lambda: io.client.buy_stock_items(ws, [c.payload["stockItemId"] for c in changes]))
    bought = answer if isinstance(answer, dict) else {n.number: n for n in answer if n.number in wanted}
    if len(bought) < len(wanted):  # Bird's answer does not name them all: its list does
        bought = {**await owned(), **bought}
    unseen = sorted(set(wanted) - set(bought))
    if unseen:
        raise ValueError(f"Bird accepted the purchase but does not list {', '.join(unseen)} yet; the intent stays "
                         "open in the journal and the next run adopts them")
    io.save_batch(intent.address, [number_record(c, bought[c.payload["number"]].id) for c in changes])
    from controller import tenant

    first = changes[0].payload
    await io.tenant_call(tenant.record_numbers_acquired, first["organization"], first["workspace"],
                         [(c.payload["number"], bought[c.payload["number"]].id, monthly_price(c)) for c in changes],
                         at=io.now())


def number_record(c: Change, number_id: str) -> dict[str, Any]:
    """What the state records of a number the resource holds (ResourceRecord's fields)."""
    p = c.payload
    return {"address": c.address, "kind": c.kind, "bird_id": number_id, "spec": p["spec"],
            "data": {"number": p["number"], "workspaceId": p["workspaceId"], "workspace": p["workspace"],
                     "organization": p["organization"]}}


def monthly_price(c: Change) -> Decimal | None:
    return Decimal(c.payload["monthlyPrice"]) if c.payload.get("monthlyPrice") else None


async def record_number(c: Change, io: ApplyIO, number_id: str, number: str) -> None:
    from controller import tenant

    p = c.payload
    io.save(c.address, c.kind, bird_id=number_id, spec=p["spec"],
            data={"number": number, "workspaceId": p["workspaceId"], "workspace": p["workspace"],
                  "organization": p["organization"]})
    await io.tenant_call(tenant.record_number_acquired, p["organization"], p["workspace"], number,
                         bird_number_id=number_id, monthly_price=monthly_price(c), at=io.now())
