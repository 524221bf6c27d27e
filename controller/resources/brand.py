"""Brand: a 10DLC brand registered with the campaign registry through Bird (`tcr-brands`).

Registering costs a fee, so an existing brand with the same EIN and company name is adopted
rather than registered again. Once approved, Bird will not change a brand's entityType. A rejected
brand fixed in the specs is updated in place, which resubmits it ($4 per resubmission).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from controller.reconcile.plan import Change, Cost, Refusal
from controller.resources import authplus, fees
from controller.resources.base import ApplyIO, Desired, Outcome, PlanContext, RecordView
from controller.resources.common import (
    ambiguous,
    field_diff,
    find,
    held_by_another,
    pinned_bird_id,
    with_cleared,
)
from controller.resources.lifecycle import (
    BRAND_FAILED,
    BRAND_NOT_UPDATABLE,
    BRAND_READY,
    BRAND_RESUBMITTABLE,
    RECHECK_BRAND,
    readiness,
    rejection_text,
    status_of,
)

if TYPE_CHECKING:
    from specs import SpecSet

KIND = "Brand"
# Bird "Update a brand": once approved (or with an approved vetting) these cannot be updated.
IMMUTABLE_WHEN_APPROVED = ("companyName", "entityType", "ein", "einIssuingCountry")


def expand(specs: SpecSet) -> list[Desired]:
    out = []
    for doc in specs.of_kind(KIND):
        ws = specs.get("Workspace", doc.spec.workspace)
        body = doc.spec.model_dump(mode="json", by_alias=True, exclude_none=True, exclude={"workspace", "vetting"})
        out.append(
            Desired(
                address=doc.address,
                kind=KIND,
                organization=ws.spec.organization if ws else "",
                fields=body,
                context={"workspaceId": str(ws.spec.birdWorkspaceId) if ws else "", "pinnedId": pinned_bird_id(doc)},
                depends_on=(f"Workspace/{doc.spec.workspace}",),
            )
        )
    return out


def observed_brand(d: Desired, ctx: PlanContext) -> tuple[dict[str, Any] | None, bool, str | None]:
    """(the Bird brand, whether it is already managed by senderctl, why adoption is ambiguous): by the record's
    id, then the id the spec pins (senderctl.io/bird-id), then EIN and company name — matched by one brand only."""
    brands = ctx.world.brands.get(d.context["workspaceId"], [])
    record = ctx.world.records.get(d.address)
    if record and record.bird_id:
        found = find(brands, id=record.bird_id)
        if found:
            return found, True, None
    pinned = find(brands, id=d.context.get("pinnedId")) if d.context.get("pinnedId") else None
    if pinned is not None:
        return pinned, False, None
    key = (d.fields.get("ein"), d.fields.get("companyName"))
    matches = [b for b in brands if (b.get("ein"), b.get("companyName")) == key
               and not held_by_another(ctx, b.get("id"), d.address)]
    if len(matches) > 1:
        return None, False, ambiguous(d.address, "brand", "EIN and company name", matches)
    return (matches[0] if matches else None), False, None


def brand_readiness(name: str, brand: dict[str, Any]) -> tuple[str, str]:
    return readiness(brand, BRAND_READY, BRAND_FAILED, what=f"brand {name}", waiting=f"brand {name} is {{status}}")


def compare(d: Desired, ctx: PlanContext) -> Outcome:
    ws = d.context["workspaceId"]
    if f"workspace {ws}" in ctx.world.unreachable:
        return Outcome("Waiting", f"workspace {ws} cannot be read on Bird")
    brand, managed, ambiguity = observed_brand(d, ctx)
    if ambiguity:
        return Outcome("Failed", "", refusals=(Refusal(d.address, ambiguity),))
    record = ctx.world.records.get(d.address)
    if brand is None:
        drift = record is not None and record.bird_id is not None
        reason = "brand was removed on Bird outside senderctl" if drift else "not registered on Bird"
        moved_from = record.data.get("workspaceId") if drift and record is not None else None
        if moved_from and moved_from != ws:  # not drift: the spec names another workspace
            drift, reason = False, (f"the spec moves the brand from workspace {moved_from} to {ws}: a Bird brand "
                                    f"belongs to one workspace, so it is registered in {ws}; the brand in "
                                    f"{moved_from} stays registered")
        change = Change(
            d.address, "create", reason, None, d.fields,
            cost=Cost(one_time=fees.BRAND_REGISTRATION), drift=drift,
            payload={"workspaceId": ws, "body": d.fields},
        )
        return Outcome("Waiting", f"brand {d.name} is not registered yet", changes=(change,), recheck_after=RECHECK_BRAND)

    status, reason = authplus.overlay(*brand_readiness(d.name, brand), brand)
    facts = {"birdId": brand["id"], "status": status_of(brand), "workspaceId": ws,
             # The campaign registry's view of the brand, as Bird reports it.
             "tcrBrandId": brand.get("tcrBrandId"), "authPlusStatus": brand.get("authPlusStatus")}
    changes: list[Change] = []
    refusals: list[Refusal] = []
    if not managed:
        changes.append(
            Change(d.address, "adopt", "a brand with the same EIN and company name exists on Bird", None,
                   d.fields, payload={"workspaceId": ws, "brandId": brand["id"], "body": d.fields})
        )
    approved = status_of(brand) in BRAND_READY
    want = with_cleared(d.fields, record.spec if managed and record is not None else None)
    diff = field_diff(want, brand, IMMUTABLE_WHEN_APPROVED if approved else ())
    frozen = [f for f in diff if f.immutable]
    if frozen:
        refusals.append(Refusal(d.address, f"{', '.join(f.path for f in frozen)} cannot change once the brand is "
                                "approved on Bird (Bird freezes companyName, entityType, ein and einIssuingCountry "
                                "of an approved brand); register a new Brand under another name instead"))
    editable = tuple(f for f in diff if not f.immutable)
    if editable and managed and status_of(brand) in BRAND_NOT_UPDATABLE:
        refusals.append(Refusal(d.address, f"{', '.join(f.path for f in editable)} differ from brand {d.name}, which "
                                f"is {status_of(brand)} on Bird: Bird updates no failed brand (it must be registered "
                                "as new); register a new Brand under another name, or restore the spec"))
        editable = ()
    if editable and managed:
        drift = record is not None and record.spec == d.fields
        resubmit = status_of(brand) in BRAND_RESUBMITTABLE
        if resubmit:
            why = f"resubmit the {status_of(brand)} brand for review in place ({rejection_text(brand)})"
        else:
            why = "changed on Bird outside senderctl" if drift else "spec differs from Bird"
        changes.append(
            Change(
                d.address, "update", why,
                {f.path: f.before for f in editable}, {f.path: f.after for f in editable},
                fields=diff, drift=drift, cost=Cost(one_time=fees.BRAND_RESUBMISSION) if resubmit else None,
                payload={"workspaceId": ws, "brandId": brand["id"], "spec": d.fields,
                         "body": {f.path: f.after for f in editable}},
            )
        )
        if resubmit and not refusals:  # the fix is planned: waiting on the review, not failed
            status, reason = "Waiting", f"{reason}; this plan resubmits it for review"
    return Outcome(status, reason, changes=tuple(changes), refusals=tuple(refusals),
                   recheck_after=RECHECK_BRAND, facts=facts)


def removal(record: RecordView, ctx: PlanContext) -> Outcome:
    # A registered brand is never deleted to satisfy a diff: it cost a fee and campaigns hang off it.
    return Outcome("Ready", "the brand stays registered on Bird, with its campaigns and vettings")


async def change(c: Change, io: ApplyIO) -> None:
    from controller.bird.models import BrandCreate

    p = c.payload
    ws = p["workspaceId"]
    if c.action == "create":

        async def probe() -> Any:
            async for brand in io.client.list_brands(ws):
                if brand.ein == p["body"].get("ein") and brand.companyName == p["body"].get("companyName"):
                    return brand
            return None

        brand = await io.journaled(
            c, request=p["body"],
            call=lambda: io.client.create_brand(ws, BrandCreate.model_validate(p["body"])),
            probe=probe,
        )
        io.save(c.address, KIND, bird_id=brand.id, spec=p["body"],
                data={"workspaceId": ws, **({"tcrBrandId": brand.tcrBrandId} if brand.tcrBrandId else {})})
    elif c.action == "update":
        await io.journaled(c, request=p["body"], call=lambda: io.client.update_brand(ws, p["brandId"], p["body"]))
        io.save(c.address, KIND, bird_id=p["brandId"], spec=p["spec"], data={"workspaceId": ws})
    elif c.action == "adopt":
        io.save(c.address, KIND, bird_id=p["brandId"], spec=p["body"], data={"workspaceId": ws})


def verticals_named(changes: Sequence[Change]) -> dict[str, str]:
    """Brand address -> the vertical a planned registration or update sends to Bird."""
    out = {}
    for c in changes:
        vertical = (c.payload.get("body") or {}).get("vertical") if c.kind == KIND else None
        if c.action in ("create", "update") and vertical:
            out[c.address] = str(vertical)
    return out


def vertical_refusals(named: Mapping[str, str], listed: frozenset[str]) -> list[Refusal]:
    """A vertical Bird does not list would be refused at apply, after other writes: refuse the plan now."""
    return [Refusal(address, f"vertical {vertical!r} is not one of the verticals Bird lists "
                             f"(GET /numbers-tcr/verticals): use one of {', '.join(sorted(listed))}")
            for address, vertical in sorted(named.items()) if vertical not in listed]
