"""Campaign: a 10DLC use case under an approved brand (`tcr-brands/{brandId}/campaigns`).

Only an approved brand can register a campaign; approval then takes one to two weeks. A changed spec
is applied to the campaign in place the way Bird's "Update a campaign" allows: an APPROVED campaign
takes new content fields (description, samples, messageFlow, helpMessage, opt-in/opt-out/help keywords
and messages) without review; a DECLINED or REJECTED one takes any field and is resubmitted (a fee).
Only what Bird forbids is refused, with Bird's reason; a new campaign (a new fee, weeks of review) is
never registered to carry an edit.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from controller.bird.errors import BirdHTTPError
from controller.reconcile.plan import Change, Cost, Refusal, money
from controller.resources import fees
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
    from specs import SpecSet

log = logging.getLogger("senderctl.apply")
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
                context={"workspaceId": str(ws.spec.birdWorkspaceId) if ws else "", "brand": f"Brand/{doc.spec.brand}",
                         "pinnedId": pinned_bird_id(doc)},
                depends_on=(f"Brand/{doc.spec.brand}",),
            )
        )
    return out


def campaign_readiness(name: str, campaign: dict[str, Any]) -> tuple[str, str]:
    return readiness(campaign, CAMPAIGN_READY, CAMPAIGN_FAILED, what=f"campaign {name}",
                     waiting=f"campaign {name} awaiting carrier approval ({{status}})")


def compare(d: Desired, ctx: PlanContext) -> Outcome:
    brand = ctx.outcome(d.context["brand"])
    brand_id = brand.facts.get("birdId") if brand else None
    ws = d.context["workspaceId"]
    record = ctx.world.records.get(d.address)
    campaigns = ctx.world.campaigns.get((ws, brand_id), []) if brand_id else []
    found = find(campaigns, id=record.bird_id) if record and record.bird_id else None
    managed = found is not None
    if found is None and d.context.get("pinnedId"):  # senderctl.io/bird-id: this campaign, not a look-alike
        found = find(campaigns, id=d.context["pinnedId"])
    replaced = replaced_ids(record)
    if found is None:
        # A campaign this spec replaced (rejected, registered anew) keeps its name on Bird: never adopted back.
        matches = [c for c in campaigns if c.get("name") == d.fields.get("name") and c.get("id") not in replaced
                   and not held_by_another(ctx, c.get("id"), d.address)]
        if len(matches) > 1:
            return Outcome("Failed", "", refusals=(Refusal(d.address, ambiguous(
                d.address, "campaign", f"name under {d.context['brand']}", matches)),))
        found = matches[0] if matches else None

    if found is None:
        reseller_problem = check_reseller(d, ctx)
        if reseller_problem:  # refused before the brand's or the campaign's fee: Bird would answer 4xx
            return Outcome("Failed", reseller_problem, refusals=(Refusal(d.address, reseller_problem),),
                           recheck_after=RECHECK_CAMPAIGN)
        if not brand_id:
            return Outcome("Waiting", f"{d.context['brand']} is not registered yet", recheck_after=RECHECK_BRAND)
        brand_status = brand.facts.get("status", "") if brand else ""
        if brand_status not in BRAND_READY:  # Bird registers campaigns only under approved brands
            return Outcome("Waiting", f"brand {d.context['brand'].split('/')[1]} is {brand_status or 'PENDING'}",
                           recheck_after=RECHECK_BRAND)
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
            payload={"workspaceId": ws, "brandId": brand_id, "body": d.fields, "replaced": sorted(replaced),
                     # Same-name campaigns on Bird before the write: a lost answer never adopts one of them.
                     "notOurs": sorted(str(c.get("id")) for c in campaigns if c.get("name") == d.fields.get("name"))},
        )
        return Outcome("Waiting", f"campaign {d.name} is not registered yet", changes=(change,),
                       recheck_after=RECHECK_CAMPAIGN)

    status, reason = campaign_readiness(d.name, found)
    facts = {"birdId": found["id"], "status": status_of(found), "brandId": brand_id}
    changes: list[Change] = []
    if not managed:
        changes.append(Change(d.address, "adopt", "a campaign with this name exists under the brand on Bird", None,
                              d.fields, payload={"workspaceId": ws, "brandId": brand_id, "campaignId": found["id"],
                                                 "body": d.fields, "replaced": sorted(replaced)}))
    edit, refusal, waiting = plan_edit(d, found, record, ws, brand_id)
    if edit is not None:
        changes.append(edit)
        if edit.payload.get("resubmit"):  # the fix is planned: waiting on the review, not failed
            status, reason = "Waiting", f"{reason}; this plan resubmits it for review"
    if waiting:
        reason = f"{reason}; {waiting}" if reason else waiting
    return Outcome(status, reason, changes=tuple(changes), refusals=(refusal,) if refusal else (),
                   recheck_after=RECHECK_CAMPAIGN, facts=facts)


def replaced_ids(record: RecordView | None) -> set[str]:
    """The Bird campaigns this spec replaced by registering anew (each stays on Bird under the same name)."""
    if record is None:
        return set()
    return {str(i) for i in [*(record.data.get("replaced") or []), record.data.get("replaces")] if i}


def record_data(p: dict[str, Any], **more: Any) -> dict[str, Any]:
    """The record's data: the brand, and every campaign the spec replaced (so none is ever adopted back)."""
    replaced = sorted(set(p.get("replaced") or []) | ({more["replaces"]} if more.get("replaces") else set()))
    return {"brandId": p["brandId"], **({"replaced": replaced} if replaced else {}), **more}


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
        why = (f"resubmit the {status} campaign for review in place ({rejection_text(found)}); "
               + FALLBACK_NOTE)
    else:
        why = ("changed on Bird outside senderctl" if drift else "spec differs from the approved campaign") + \
            "; " + APPROVED_EDIT_NOTE
    body = {f.path: f.after for f in diff}
    return Change(
        d.address, "update", why, {f.path: f.before for f in diff}, body, fields=diff, drift=drift,
        # Never shown as free: an approved campaign's edit may be charged the resubmission fee too.
        cost=Cost(one_time=fees.CAMPAIGN_RESUBMISSION),
        payload={"workspaceId": ws, "brandId": brand_id, "campaignId": found["id"], "spec": d.fields,
                 "body": body, "resubmit": resubmit, "status": status, "replaced": sorted(replaced_ids(record))},
    ), None, ""


# Bird's pages conflict: "Update a campaign" lets a DECLINED or REJECTED campaign be edited and resubmitted
# ("you may be charged a campaign resubmission fee"); the 10DLC registration guide says rejected campaigns
# need a new registration. senderctl resubmits in place, and registers anew when Bird refuses that.
FALLBACK_NOTE = (f"if Bird refuses the resubmission (a 4xx answer), a new campaign is registered instead, for "
                 f"the registration fee ({money(fees.campaign_one_time())} USD: review and the three-month "
                 "minimum), as Bird's registration guide says rejected campaigns need")
APPROVED_EDIT_NOTE = (f"Bird may charge a resubmission fee for editing an approved campaign (up to "
                      f"{money(fees.CAMPAIGN_RESUBMISSION)} USD, counted here) and may send it back to review, "
                      "during which it may not be APPROVED")


def check_reseller(d: Desired, ctx: PlanContext) -> str | None:
    """Why Bird would refuse the campaign's resellerId, or None. TCR requires a reseller on campaigns
    registered for third parties, and Bird takes only an ACTIVE one of the workspace's list
    (`GET /workspaces/{workspaceId}/tcr-resellers`). Unread list (Bird unreachable): no verdict."""
    reseller_id = d.fields.get("resellerId")
    listed = ctx.world.resellers.get(d.context["workspaceId"])
    if not reseller_id or listed is None:
        return None
    reseller = find(listed, id=reseller_id)
    known = ", ".join(f"{r.get('id')} ({status_of(r) or '?'})" for r in listed[:5]) or "none"
    if reseller is None:
        return (f"reseller {reseller_id} is not among the workspace's TCR resellers on Bird (listed: {known}); "
                "fix spec.reseller, or register the reseller with Bird first")
    if status_of(reseller) not in RESELLER_READY:
        return (f"reseller {reseller_id} is {status_of(reseller) or 'not active'} on Bird; Bird registers campaigns "
                "only with an ACTIVE reseller: wait for Bird to activate it, or name another")
    return None


def removal(record: RecordView, ctx: PlanContext) -> Outcome:
    # Deleting a campaign would strand the numbers linked to it.
    return Outcome("Ready", "the campaign stays registered on Bird, and its recurring campaign fee stays billed "
                   "by Bird until it is deactivated there; numbers linked to it keep their SMS channels")


def resubmission_refused(status: int) -> bool:
    """A 4xx that is Bird's answer to the resubmission itself (not auth, a timeout or the rate limit)."""
    return 400 <= status < 500 and status not in (401, 403, 408, 429)


async def register_anew(c: Change, io: ApplyIO, refused: BirdHTTPError) -> None:
    """Bird refused to resubmit the campaign in place: register the spec as a new campaign under the same
    brand (its registration fee, as the plan said), and remember which campaign it replaces and why."""
    from controller.bird.models import CampaignCreate

    p = c.payload
    why = (f"Bird refused to resubmit the {p.get('status') or 'rejected'} campaign {p['campaignId']} in place "
           f"(HTTP {refused.status}); registered a new campaign instead, for the registration fee")
    log.warning("%s: %s", c.address, why)

    async def probe() -> Any:  # a lost answer: the new campaign is the one of this name that is not the old one
        async for campaign in io.client.list_campaigns(p["workspaceId"], p["brandId"]):
            if campaign.name == p["spec"].get("name") and campaign.id != p["campaignId"]:
                return campaign
        return None

    campaign = await io.journaled(
        c, request={"brandId": p["brandId"], "replaces": p["campaignId"], **p["spec"]}, key_suffix="register-anew",
        call=lambda: io.client.create_campaign(p["workspaceId"], p["brandId"], CampaignCreate.model_validate(p["spec"])),
        probe=probe)
    io.save(c.address, KIND, bird_id=campaign.id, spec=p["spec"],
            data=record_data(p, replaces=p["campaignId"], registeredAnew=why))


async def change(c: Change, io: ApplyIO) -> None:
    from controller.bird.models import CampaignCreate

    p = c.payload
    if c.action == "create":

        async def probe() -> Any:  # a lost answer: the campaign of this name that was not on Bird at plan time
            async for campaign in io.client.list_campaigns(p["workspaceId"], p["brandId"]):
                if campaign.name == p["body"].get("name") and campaign.id not in not_ours:
                    return campaign
            return None

        not_ours = set(p.get("notOurs") or []) | set(p.get("replaced") or [])

        campaign = await io.journaled(
            c, request={"brandId": p["brandId"], **p["body"]},
            call=lambda: io.client.create_campaign(p["workspaceId"], p["brandId"], CampaignCreate.model_validate(p["body"])),
            probe=probe,
        )
        io.save(c.address, KIND, bird_id=campaign.id, spec=p["body"], data=record_data(p))
    elif c.action == "update":
        refused: list[BirdHTTPError] = []

        async def update() -> Any:
            try:
                return await io.client.update_campaign(p["workspaceId"], p["brandId"], p["campaignId"], p["body"])
            except BirdHTTPError as exc:
                refused.append(exc)
                raise

        try:
            await io.journaled(c, request={"campaignId": p["campaignId"], **p["body"]}, call=update)
        except Exception:  # journaled turned Bird's answer into the apply's error; `refused` holds the answer
            if not (p.get("resubmit") and refused and resubmission_refused(refused[0].status)):
                raise
            await register_anew(c, io, refused[0])
            return
        io.save(c.address, KIND, bird_id=p["campaignId"], spec=p["spec"], data=record_data(p))
    elif c.action == "adopt":
        io.save(c.address, KIND, bird_id=p["campaignId"], spec=p["body"], data=record_data(p))
