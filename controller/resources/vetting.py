"""Vetting: optional external vetting of a brand (`tcr-brands/{brandId}/vettings`), a paid request."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from controller.reconcile.plan import Change, Cost, Refusal
from controller.resources import fees
from controller.resources.base import ApplyIO, Desired, Outcome, PlanContext, RecordView
from controller.resources.common import find
from controller.resources.lifecycle import RECHECK_VETTING, VETTING_FAILED, VETTING_READY, readiness

if TYPE_CHECKING:
    from specs import SpecSet

KIND = "Vetting"


def expand(specs: SpecSet) -> list[Desired]:
    out = []
    for doc in specs.of_kind("Brand"):
        vetting = doc.spec.vetting
        if vetting is None:
            continue
        ws = specs.get("Workspace", doc.spec.workspace)
        out.append(
            Desired(
                address=f"{KIND}/{doc.metadata.name}",
                kind=KIND,
                organization=ws.spec.organization if ws else "",
                fields=vetting.model_dump(mode="json", by_alias=True, exclude_none=True),
                context={"workspaceId": str(ws.spec.birdWorkspaceId) if ws else "", "brand": doc.address},
                depends_on=(doc.address,),
            )
        )
    return out


def vetting_class(v: dict[str, Any]) -> Any:
    return v.get("class") or v.get("vettingClass")


def is_requested(vetting: dict[str, Any], fields: dict[str, Any]) -> bool:
    """The vetting the spec asks for: same class and provider."""
    return (vetting_class(vetting) == fields.get("class")
            and vetting.get("vettingProviderId") == fields.get("vettingProviderId"))


def compare(d: Desired, ctx: PlanContext) -> Outcome:
    brand = ctx.outcome(d.context["brand"])
    brand_id = brand.facts.get("birdId") if brand else None
    if not brand_id:
        return Outcome("Waiting", f"{d.context['brand']} is not registered yet", recheck_after=RECHECK_VETTING)
    ws = d.context["workspaceId"]
    vettings = ctx.world.vettings.get((ws, brand_id), [])
    record = ctx.world.records.get(d.address)
    found = find(vettings, id=record.bird_id) if record and record.bird_id else None
    found = found or next((v for v in vettings if is_requested(v, d.fields)), None)
    if found is None:
        change = Change(d.address, "create", "brand not vetted yet", None, d.fields,
                        cost=Cost(one_time=fees.BRAND_VETTING),
                        payload={"workspaceId": ws, "brandId": brand_id, "body": d.fields})
        return Outcome("Waiting", "vetting not requested yet", changes=(change,), recheck_after=RECHECK_VETTING)
    changes: tuple[Change, ...] = ()
    refusals: tuple[Refusal, ...] = ()
    if not is_requested(found, d.fields):
        refusals = (Refusal(d.address, (
            f"the spec asks for a vetting of class {d.fields.get('class')} by {d.fields.get('vettingProviderId') or 'no provider'}, "
            f"but {d.context['brand']} was vetted as class {vetting_class(found)} by {found.get('vettingProviderId')}; "
            "Bird cannot change a vetting once requested. Restore the spec's vetting")),)
    if record is None or record.bird_id != found.get("id"):
        changes = (Change(d.address, "adopt", "a vetting of this class and provider exists on Bird", None, d.fields,
                          payload={"workspaceId": ws, "brandId": brand_id, "vettingId": found.get("id"),
                                   "body": d.fields}),)
    status, reason = readiness(found, VETTING_READY, VETTING_FAILED, what=f"vetting of {d.context['brand']}",
                               waiting=f"vetting of {d.context['brand']} is {{status}}")
    return Outcome(status, reason, changes=changes, refusals=refusals,  # type: ignore[arg-type]
                   recheck_after=RECHECK_VETTING,
                   facts={"birdId": found.get("id")})


def removal(record: RecordView, ctx: PlanContext) -> Outcome:
    return Outcome("Ready", "the vetting stays on Bird: a vetting cannot be undone or refunded")


async def change(c: Change, io: ApplyIO) -> None:
    from controller.bird.models import VettingCreate

    p = c.payload
    if c.action == "create":

        async def probe() -> Any:
            # Only this vetting (class and provider), never another one the brand already has.
            async for v in io.client.list_vettings(p["workspaceId"], p["brandId"]):
                if is_requested(v.model_dump(mode="json", by_alias=True), p["body"]):
                    return v
            return None

        vetting = await io.journaled(
            c, request={"brandId": p["brandId"], **p["body"]},
            call=lambda: io.client.create_vetting(p["workspaceId"], p["brandId"], VettingCreate.model_validate(p["body"])),
            probe=probe,
        )
        io.save(c.address, KIND, bird_id=vetting.id, spec=p["body"], data={"brandId": p["brandId"]})
    elif c.action == "adopt":
        io.save(c.address, KIND, bird_id=p["vettingId"], spec=p["body"], data={"brandId": p["brandId"]})
