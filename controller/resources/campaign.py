"""Campaign: a 10DLC use case under an approved brand (`tcr-brands/{brandId}/campaigns`).

Only an approved brand can register a campaign; approval then takes one to two weeks. A changed spec
is applied to the campaign in place the way Bird's "Update a campaign" allows: an APPROVED campaign
takes new content fields (description, samples, messageFlow, helpMessage, opt-in/opt-out/help keywords
and messages) without review; a DECLINED or REJECTED one takes any field and is resubmitted (a fee).
Only what Bird forbids is refused, with Bird's reason; a new campaign (a new fee, weeks of review) is
never registered to carry an edit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from controller.plan import Change, Cost, Refusal
from controller.resources import fees
from controller.resources.base import Desired, Outcome, RecordView
from controller.resources.common import field_diff, find, with_cleared
from controller.resources.lifecycle import (
    BRAND_READY,
    CAMPAIGN_EDITABLE_WHEN_APPROVED,
    CAMPAIGN_FAILED,
    CAMPAIGN_READY,
    CAMPAIGN_RESUBMITTABLE,
    CAMPAIGN_UPDATABLE,
    RECHECK_BRAND,
    RECHECK_CAMPAIGN,
    RESELLER_READY,
    readiness,
    rejection_text,
    status_of,
)

if TYPE_CHECKING:
    from controller.apply import ApplyIO
    from controller.planner import Context
    from specs import SpecSet

KIND = "Campaign"


def expand(specs: SpecSet) -> list[Desired]:
    out = []
    for doc in specs.of_kind(KIND):
        brand = specs.get("Brand", doc.spec.brand)
        ws = specs.get("Workspace", brand.spec.workspace) if brand else None
        body = doc.spec.model_dump(mode="json", by_alias=True, exclude_none=True, exclude={"brand", "reseller"})
        if doc.spec.reseller:
            body["resellerId"] = str(doc.spec.reseller)
        out.append(
            Desired(
                address=doc.address,
                kind=KIND,
                organization=ws.spec.organization if ws else "",
                fields=body,
                context={"workspaceId": str(ws.spec.birdWorkspaceId) if ws else "", "brand": f"Brand/{doc.spec.brand}"},
                depends_on=(f"Brand/{doc.spec.brand}",),
            )
        )
    return out


def campaign_readiness(name: str, campaign: dict[str, Any]) -> tuple[str, str]:
    return readiness(campaign, CAMPAIGN_READY, CAMPAIGN_FAILED, what=f"campaign {name}",
                     waiting=f"campaign {name} awaiting carrier approval ({{status}})")


def compare(d: Desired, ctx: Context) -> Outcome:
    brand = ctx.outcome(d.context["brand"])
    brand_id = brand.facts.get("birdId") if brand else None
    ws = d.context["workspaceId"]
    record = ctx.world.records.get(d.address)
    campaigns = ctx.world.campaigns.get((ws, brand_id), []) if brand_id else []
    found = find(campaigns, id=record.bird_id) if record and record.bird_id else None
    managed = found is not None
    found = found or find(campaigns, name=d.fields.get("name"))

    if found is None:
        if not brand_id:
            return Outcome("Waiting", f"{d.context['brand']} is not registered yet", recheck_after=RECHECK_BRAND)
        brand_status = brand.facts.get("status", "") if brand else ""
        if brand_status not in BRAND_READY:  # Bird registers campaigns only under approved brands
            return Outcome("Waiting", f"brand {d.context['brand'].split('/')[1]} is {brand_status or 'PENDING'}",
                           recheck_after=RECHECK_BRAND)
        reseller_problem = check_reseller(d, ctx)
        if reseller_problem:
            return Outcome("Waiting", reseller_problem, recheck_after=RECHECK_CAMPAIGN)
        drift = record is not None and record.bird_id is not None
        reason = "campaign was removed on Bird outside senderctl" if drift else "not registered on Bird"
        moved_from = record.data.get("brandId") if drift and record is not None else None
        if moved_from and moved_from != brand_id:  # not drift: the spec names another brand
            drift, reason = False, (f"the spec moves the campaign to {d.context['brand']}: a Bird campaign belongs "
                                    f"to one brand, so it is registered under it; the campaign under brand "
                                    f"{moved_from} stays registered, and billed until it is deactivated")
        change = Change(
            d.address, "create", reason,
            None, d.fields, cost=Cost(one_time=fees.campaign_one_time()), drift=drift,
            payload={"workspaceId": ws, "brandId": brand_id, "body": d.fields},
        )
        return Outcome("Waiting", f"campaign {d.name} is not registered yet", changes=(change,),
                       recheck_after=RECHECK_CAMPAIGN)

    status, reason = campaign_readiness(d.name, found)
    facts = {"birdId": found["id"], "status": status_of(found), "brandId": brand_id}
    changes: list[Change] = []
    if not managed:
        changes.append(Change(d.address, "adopt", "a campaign with this name exists under the brand on Bird", None,
                              d.fields, payload={"workspaceId": ws, "brandId": brand_id, "campaignId": found["id"],
                                                 "body": d.fields}))
    edit, refusal, waiting = plan_edit(d, found, record, ws, brand_id)
    if edit is not None:
        changes.append(edit)
    if waiting:
        reason = f"{reason}; {waiting}" if reason else waiting
    return Outcome(status, reason, changes=tuple(changes), refusals=(refusal,) if refusal else (),
                   recheck_after=RECHECK_CAMPAIGN, facts=facts)


def as_spec_fields(campaign: dict[str, Any]) -> dict[str, Any]:
    """A Bird campaign in the spec's terms: Bird takes `attachmentUrls` but answers `attachments`, one
    object per URL (its `mediaUrl`), so the spec's URLs are compared with those."""
    if "attachmentUrls" in campaign or "attachments" not in campaign:
        return campaign
    return {**campaign, "attachmentUrls": [a.get("mediaUrl") for a in campaign.get("attachments") or ()]}


def plan_edit(d: Desired, found: dict[str, Any], record: RecordView | None, ws: str, brand_id: str
              ) -> tuple[Change | None, Refusal | None, str]:
    """(the in-place update, or Bird's refusal, or why the edit waits) for a spec that differs from the
    campaign on Bird, by the campaign's status as Bird's "Update a campaign" rules it."""
    status = status_of(found)
    managed = record is not None and record.bird_id == found.get("id")
    want = with_cleared(d.fields, record.spec if managed and record is not None else None)
    frozen = () if status in CAMPAIGN_RESUBMITTABLE else tuple(
        k for k in want if k not in CAMPAIGN_EDITABLE_WHEN_APPROVED)
    diff = field_diff(want, as_spec_fields(found), immutable=frozen)
    if not diff:
        return None, None, ""
    names = ", ".join(f.path for f in diff)
    if status not in CAMPAIGN_UPDATABLE:
        if status in CAMPAIGN_FAILED:  # SUSPENDED, EXPIRED, FAILED, ...: Bird takes no update, ever
            return None, Refusal(d.address, f"{names} differ from campaign {d.name} on Bird, which is {status}: Bird "
                                 "updates a campaign only when it is APPROVED, DECLINED or REJECTED; register a "
                                 "new Campaign under another name, or restore the spec"), ""
        return None, None, (f"the change of {names} waits: Bird updates a campaign only when it is APPROVED, "
                            f"DECLINED or REJECTED (it is {status or 'PENDING'})")
    locked = [f.path for f in diff if f.immutable]
    if locked:
        return None, Refusal(d.address, f"{', '.join(locked)} cannot change while campaign {d.name} is APPROVED: "
                             "Bird updates only " + ", ".join(CAMPAIGN_EDITABLE_WHEN_APPROVED) + " of an approved "
                             "campaign; register a new Campaign under another name, or restore the spec"), ""
    resubmit = status in CAMPAIGN_RESUBMITTABLE
    drift = record is not None and record.spec == d.fields
    if resubmit:
        why = f"resubmit the {status} campaign for review in place ({rejection_text(found)})"
    else:
        why = "changed on Bird outside senderctl" if drift else "spec differs from the approved campaign"
    body = {f.path: f.after for f in diff}
    return Change(
        d.address, "update", why, {f.path: f.before for f in diff}, body, fields=diff, drift=drift,
        cost=Cost(one_time=fees.CAMPAIGN_RESUBMISSION) if resubmit else None,
        payload={"workspaceId": ws, "brandId": brand_id, "campaignId": found["id"], "spec": d.fields,
                 "body": body, "resubmit": resubmit},
    ), None, ""


def check_reseller(d: Desired, ctx: Context) -> str | None:
    reseller_id = d.fields.get("resellerId")
    if not reseller_id:
        return None
    reseller = find(ctx.world.resellers.get(d.context["workspaceId"], []), id=reseller_id)
    if reseller is None:
        return f"reseller {reseller_id} is not listed in the workspace"
    if status_of(reseller) not in RESELLER_READY:
        return f"reseller {reseller_id} is {status_of(reseller) or 'not active'}; Bird needs it ACTIVE"
    return None


def removal(record: RecordView, ctx: Context) -> Outcome:
    # Deleting a campaign would strand the numbers linked to it.
    return Outcome("Ready", "the campaign stays registered on Bird, and its recurring campaign fee stays billed "
                   "by Bird until it is deactivated there; numbers linked to it keep their SMS channels")


async def change(c: Change, io: ApplyIO) -> None:
    from controller.bird.models import CampaignCreate

    p = c.payload
    if c.action == "create":

        async def probe() -> Any:
            async for campaign in io.client.list_campaigns(p["workspaceId"], p["brandId"]):
                if campaign.name == p["body"].get("name"):
                    return campaign
            return None

        campaign = await io.journaled(
            c, request={"brandId": p["brandId"], **p["body"]},
            call=lambda: io.client.create_campaign(p["workspaceId"], p["brandId"], CampaignCreate.model_validate(p["body"])),
            probe=probe,
        )
        io.save(c.address, KIND, bird_id=campaign.id, spec=p["body"], data={"brandId": p["brandId"]})
    elif c.action == "update":
        await io.journaled(c, request={"campaignId": p["campaignId"], **p["body"]},
                           call=lambda: io.client.update_campaign(p["workspaceId"], p["brandId"], p["campaignId"],
                                                                  p["body"]))
        io.save(c.address, KIND, bird_id=p["campaignId"], spec=p["spec"], data={"brandId": p["brandId"]})
    elif c.action == "adopt":
        io.save(c.address, KIND, bird_id=p["campaignId"], spec=p["body"], data={"brandId": p["brandId"]})
