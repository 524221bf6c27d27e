"""Organization: the tenant configuration senderctl keeps in its own records (seed 000).

Nothing is written to Bird: the Bird organization exists already. The desired fields are the
multi-number settings; `tenDlcActive` is derived from Bird (an approved brand and campaign in one
of the organization's workspaces), because seed 000 makes it the prerequisite for extra numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from controller.reconcile.plan import Change, Refusal
from controller.resources.base import ApplyIO, Desired, Outcome, PlanContext, RecordView, World
from controller.resources.common import field_diff
from controller.resources.lifecycle import BRAND_READY, CAMPAIGN_READY, status_of

if TYPE_CHECKING:
    from specs import SpecSet

KIND = "Organization"
# The kinds whose Bird objects an Organization's compare reads (its 10DLC flag, from the approved brands
# and campaigns of its workspaces): a change to one of them re-plans the organization and all it holds
# (controller.reconcile.scope.affected).
DERIVED_FROM = ("Brand", "Campaign")


def expand(specs: SpecSet) -> list[Desired]:
    out = []
    for doc in specs.of_kind(KIND):
        multi = doc.spec.multiSmsNumbers
        workspaces = [w.spec.birdWorkspaceId for w in specs.of_kind("Workspace") if w.spec.organization == doc.metadata.name]
        out.append(
            Desired(
                address=doc.address,
                kind=KIND,
                organization=doc.metadata.name,
                fields={
                    "birdOrganizationId": str(doc.spec.birdOrganizationId),
                    "enabled": bool(multi.enabled),
                    "limit": int(multi.limit),
                    "weeklyPrice": str(Decimal(str(multi.weeklyPrice))),
                    "currency": getattr(multi, "currency", "USD") or "USD",
                },
                context={"workspaceIds": sorted(str(w) for w in workspaces),
                         "maxChangeShare": change_shares(doc.spec)},
            )
        )
    return out


def change_shares(spec: Any) -> dict[str, str]:
    """spec.safety.maxChangeShare as {"default": "0.1", "PhoneNumber": "0.2"} (what the planner's rail reads)."""
    safety = getattr(spec, "safety", None)
    if safety is None:
        return {}
    shares = safety.maxChangeShare.model_dump(exclude_none=True)
    return {kind: str(share) for kind, share in shares.items()}


def ten_dlc_active(workspace_ids: list[str], world: World) -> bool:
    """An approved brand with an approved campaign in any of the organization's workspaces."""
    for ws in workspace_ids:
        for brand in world.brands.get(ws, ()):
            if status_of(brand) not in BRAND_READY:
                continue
            campaigns = world.campaigns.get((ws, str(brand.get("id"))), ())
            if any(status_of(c) in CAMPAIGN_READY for c in campaigns):
                return True
    return False


def compare(d: Desired, ctx: PlanContext) -> Outcome:
    want: dict[str, Any] = {**d.fields, "tenDlcActive": ten_dlc_active(d.context["workspaceIds"], ctx.world)}
    have = ctx.world.tenant.orgs.get(d.organization)
    facts = {key: want[key] for key in ("tenDlcActive", "enabled", "limit", "weeklyPrice")}
    if have is None:
        if ctx.adopt_unmanaged:  # senderctl import: the Bird organization exists; record its configuration
            change = Change(d.address, "adopt", "the organization exists on Bird; recording its tenant configuration",
                            None, want, payload=want)
        else:
            change = Change(d.address, "create", "tenant configuration not recorded yet", None, want, payload=want)
        return Outcome("Ready", changes=(change,), facts=facts)
    current = {
        "birdOrganizationId": have.bird_organization_id,
        "enabled": have.enabled,
        "limit": have.limit,
        "weeklyPrice": str(have.weekly_price),
        "currency": have.currency,
        "tenDlcActive": have.ten_dlc_active,
    }
    diff = field_diff(want, current)
    if not diff:
        return Outcome("Ready", facts=facts)
    reason = "tenant configuration differs from the spec"
    if [f.path for f in diff] == ["tenDlcActive"]:
        reason = "10DLC (brand and campaign approval) changed on Bird"
    change = Change(d.address, "update", reason, current, want, fields=diff, payload=want)
    return Outcome("Ready", changes=(change,), facts=facts)


def limit_refusals(changes: Sequence[Change], ctx: PlanContext) -> list[Refusal]:
    """A multiSmsNumbers.limit below the numbers the organization holds once this plan is applied
    (its purchases and adoptions counted, its archives not) is refused: the numbers would stay held,
    billed, and over the limit."""
    out = []
    for change in changes:
        if change.kind != KIND or change.action not in ("create", "update"):
            continue
        org = change.address.split("/", 1)[1]
        archived = sum(1 for c in changes if c.action == "archive" and c.payload.get("organization") == org)
        held = ctx.held_count(org) + ctx.pool_additions[org] - archived
        limit = int(change.payload["limit"])
        if held > limit:
            out.append(Refusal(change.address, (
                f"multiSmsNumbers.limit {limit} is below the {held} numbers organization {org} holds after this "
                f"plan; numbers are never released to meet a limit. Archive {held - limit} of them first "
                "(deletionPolicy: Archive, protected: false, remove them from the specs, apply --allow-archive), "
                f"or keep the limit at {held} or more")))
    return out


def removal(record: RecordView, ctx: PlanContext) -> Outcome:
    # Tenant configuration outlives its spec: usage history and billing depend on it.
    return Outcome("Ready", "the tenant configuration stays in the records (usage history and billing use it); "
                   "its numbers stay held and billed")


async def change(c: Change, io: ApplyIO) -> None:
    from controller import tenant

    org = c.address.split("/", 1)[1]
    p = c.payload
    await io.tenant_call(
        tenant.sync_org_config,
        org,
        bird_organization_id=p["birdOrganizationId"],
        enabled=p["enabled"],
        limit=p["limit"],
        weekly_price=Decimal(p["weeklyPrice"]),
        currency=p["currency"],
    )
    await io.tenant_call(tenant.set_ten_dlc_active, org, p["tenDlcActive"])
    io.save(c.address, KIND, bird_id=p["birdOrganizationId"], spec=p, data={"organization": org})
