"""PhoneNumber and NumberPool members: numbers bought on Bird and held in the organization's pool.

Buying starts a monthly subscription, so this module is the most careful one:
  * a number already owned is adopted, never bought again — including one an interrupted apply
    bought (its journal intent names the number before the purchase is sent);
  * organization limits and the multi-number switch (seed 000) are checked across the whole plan;
  * a number is never released to satisfy a diff: a spec that now needs a different number is
    refused with an explanation.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from controller.plan import Change, Cost, Refusal
from controller.resources.base import Desired, Outcome, RecordView
from controller.resources.common import field_diff
from controller.resources.lifecycle import RECHECK_CAMPAIGN, RECHECK_DEPENDENCY

if TYPE_CHECKING:
    from controller.apply import ApplyIO
    from controller.planner import Context
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


def stock_key(workspace_id: str, fields: dict[str, Any]) -> tuple[str, str, str, str]:
    """How observe and compare agree on one stock search."""
    if "number" in fields:
        number = fields["number"]
        return workspace_id, country_of(number), "number", number
    sel = fields["select"]
    return workspace_id, sel["country"], sel["type"], sel.get("prefix", "")


def country_of(number: str) -> str:
    import phonenumbers

    return phonenumbers.region_code_for_number(phonenumbers.parse(number)) or "US"


def expand(specs: SpecSet) -> list[Desired]:
    out = []
    for kind in KINDS:
        for doc in specs.of_kind(kind):
            ws = specs.get("Workspace", doc.spec.workspace)
            ws_id = str(ws.spec.birdWorkspaceId) if ws else ""
            for index, name in enumerate(member_names(doc)):
                out.append(
                    Desired(
                        address=f"{kind}/{name}",
                        kind=kind,
                        organization=ws.spec.organization if ws else "",
                        fields={"workspaceId": ws_id, **selection(doc)},
                        context={
                            "workspace": doc.spec.workspace,
                            "workspaceId": ws_id,
                            "index": index,
                            "deletionPolicy": doc.spec.deletionPolicy,
                            "protected": doc.spec.protected,
                        },
                        depends_on=(f"Workspace/{doc.spec.workspace}",),
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


def interrupted_purchase(d: Desired, by_number: dict[str, Any], ctx: Context) -> dict[str, Any] | None:
    """A number an interrupted apply asked Bird for: its journal intent was committed first."""
    for op in ctx.world.open_operations:
        if op.address == d.address and op.action == "create":
            found = by_number.get(op.request.get("number"))
            if found:
                return found
    return None


def compare(d: Desired, ctx: Context) -> Outcome:
    ws = d.context["workspaceId"]
    if f"workspace {ws}" in ctx.world.unreachable:
        return Outcome("Waiting", f"workspace {ws} cannot be read on Bird", recheck_after=RECHECK_DEPENDENCY)
    owned = ctx.world.numbers.get(ws, [])
    by_id = ctx.index(owned, lambda n: n.get("id"), "id")
    by_number = ctx.index(owned, number_of, "number")
    record = ctx.world.records.get(d.address)
    found = by_id.get(record.bird_id) if record and record.bird_id else None
    managed = found is not None
    reason = ""
    if found is None and "number" in d.fields:
        found = by_number.get(d.fields["number"])
        reason = f"{d.fields['number']} is already owned on Bird"
    if found is None:
        found = interrupted_purchase(d, by_number, ctx)
        reason = "an interrupted apply bought this number; adopting it instead of buying again"
    if found is None:
        return plan_purchase(d, ctx, record)

    number = number_of(found) or ""
    ctx.claimed_numbers[number] = d.address
    facts = {"birdId": found["id"], "number": number, "workspaceId": ws}
    changes: list[Change] = []
    refusals: list[Refusal] = []
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


def plan_purchase(d: Desired, ctx: Context, record: RecordView | None) -> Outcome:
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
        return Outcome("Failed", "", refusals=(Refusal(
            d.address, f"organization {org} holds or is buying {held} numbers and its multiSmsNumbers.limit is "
            f"{limit}: raise the limit or remove numbers from the specs"),))
    if held >= 1 and not facts.get("tenDlcActive"):
        return Outcome("Waiting", f"organization {org}'s 10DLC is not active yet (approved brand and campaign); "
                       "extra numbers wait for it", recheck_after=RECHECK_CAMPAIGN)

    key = stock_key(d.context["workspaceId"], d.fields)
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
            "country": key[1],
            "select": d.fields.get("select"),
            "monthlyPrice": str(monthly),
            "spec": spec_record(d),
        },
    )
    return Outcome("Waiting", f"{number} is not bought yet", changes=(change,), facts={"number": number})


def orphaned(number_address: str, ctx: Context) -> bool:
    """The number was removed from the specs with deletionPolicy Orphan: leave all of it alone."""
    record = ctx.world.records.get(number_address)
    return (
        number_address not in ctx.desired_by_address
        and record is not None
        and record.spec.get("deletionPolicy", "Orphan") != "Archive"
    )


def renamed_with(kind: str, number: str, ctx: Context) -> bool:
    """The number's resource was renamed and the new name declares a `kind` for the number too
    (Assignment, Channel): that one keeps the Bird object or the owner in place, so the old name's
    is forgotten rather than removed."""
    claimant = ctx.claimed_numbers.get(number)
    return claimant is not None and f"{kind}/{claimant.split('/', 1)[1]}" in ctx.desired_by_address


def removal(record: RecordView, ctx: Context) -> Outcome:
    policy = record.spec.get("deletionPolicy", "Orphan")
    number = record.data.get("number", "")
    if policy != "Archive" or number in ctx.claimed_numbers:
        # Orphan: forget it, touch nothing. Claimed: renamed, the number lives on under its new name.
        return Outcome("Ready")
    if record.spec.get("protected", True):
        return Outcome("Failed", "", refusals=(Refusal(
            record.address, f"{record.address} ({number}) was removed from the specs with deletionPolicy Archive "
            "but is protected: true, so it is never archived. Put it back with protected: false and apply, "
            "then remove it; or set deletionPolicy: Orphan"),))
    change = Change(
        record.address, "archive", "removed from the specs (deletionPolicy: Archive)",
        {"number": number}, None,
        payload={"organization": record.data.get("organization"), "number": number, "numberId": record.bird_id},
    )
    return Outcome("Ready", changes=(change,), refusals=(Refusal(
        record.address, f"archiving {number} releases it to the organization's pool and cannot be undone",
        "--allow-archive"),))


async def change(c: Change, io: ApplyIO) -> None:
    p = c.payload
    if c.action == "create":
        found = await buy(c, io)
        record_number(c, io, found.id, found.number or p["number"])
    elif c.action == "adopt":
        record_number(c, io, p["numberId"], p["number"])
    elif c.action == "update":
        io.save(c.address, c.kind, bird_id=p["numberId"], spec=p["spec"],
                data={"number": p["number"], "workspaceId": p["workspaceId"], "workspace": p["workspace"],
                      "organization": p["organization"]})
    elif c.action == "archive":
        from controller import tenant

        io.tenant_call(tenant.archive_number, p["organization"], p["number"], at=io.now())
        io.forget(c.address)


async def buy(c: Change, io: ApplyIO) -> Any:
    p = c.payload
    ws = p["workspaceId"]

    async def probe() -> Any:
        async for number in io.client.list_numbers(ws):
            if number.number == p["number"]:
                return number
        return None

    bought = await io.journaled(
        c, request={"number": p["number"], "country": p["country"]},
        call=lambda: io.client.buy_numbers(ws, [(p["number"], p["country"])]),
        probe=probe,
    )
    return bought[0] if isinstance(bought, list) else bought


def record_number(c: Change, io: ApplyIO, number_id: str, number: str) -> None:
    from controller import tenant

    p = c.payload
    price = Decimal(p["monthlyPrice"]) if p.get("monthlyPrice") else None
    io.save(c.address, c.kind, bird_id=number_id, spec=p["spec"],
            data={"number": number, "workspaceId": p["workspaceId"], "workspace": p["workspace"],
                  "organization": p["organization"]})
    io.tenant_call(tenant.record_number_acquired, p["organization"], p["workspace"], number,
                   bird_number_id=number_id, monthly_price=price, at=io.now())
