"""Workspace: a Bird workspace that must already exist and be reachable with the access key."""

from __future__ import annotations

from typing import TYPE_CHECKING

from controller.reconcile.plan import Change, Refusal
from controller.resources.base import ApplyIO, Desired, Outcome, PlanContext, RecordView

if TYPE_CHECKING:
    from specs import SpecSet

KIND = "Workspace"


def expand(specs: SpecSet) -> list[Desired]:
    out = []
    for doc in specs.of_kind(KIND):
        org = specs.get("Organization", doc.spec.organization)
        ws_id = str(doc.spec.birdWorkspaceId)
        out.append(
            Desired(
                address=doc.address,
                kind=KIND,
                organization=doc.spec.organization,
                fields={"birdWorkspaceId": ws_id, "organization": doc.spec.organization},
                context={
                    "workspaceId": ws_id,
                    "organizationId": str(org.spec.birdOrganizationId) if org else "",
                },
                depends_on=(f"Organization/{doc.spec.organization}",),
            )
        )
    return out


def unreachable_reason(workspace_id: str, ctx: PlanContext) -> str | None:
    return ctx.world.unreachable.get(f"workspace {workspace_id}")


def compare(d: Desired, ctx: PlanContext) -> Outcome:
    ws = d.context["workspaceId"]
    problem = unreachable_reason(ws, ctx)
    if problem:
        return Outcome("Failed", f"Bird workspace {ws}: {problem}")
    record = ctx.world.records.get(d.address)
    moved_from = record.spec.get("organization") if record is not None else None
    if moved_from and moved_from != d.organization and record is not None and record.bird_id == ws:
        return Outcome("Failed", "", refusals=(Refusal(d.address, (
            f"the spec moves workspace {ws} from organization {moved_from} to {d.organization}; its numbers, "
            "assignments and billing belong to the organization, so senderctl does not move a workspace. "
            f"Restore organization: {moved_from}")),))
    if record is None or record.bird_id != ws:
        reason = "workspace exists on Bird; recording it"
        if record is not None and record.bird_id:
            reason = (f"the spec now names Bird workspace {ws} (was {record.bird_id}); recording it. What "
                      f"{record.bird_id} holds stays there: numbers are not moved, brands and campaigns are "
                      "registered again")
        change = Change(d.address, "adopt", reason, None, d.fields,
                        payload={**d.context, "organization": d.organization})
        return Outcome("Ready", changes=(change,))
    return Outcome("Ready")


def removal(record: RecordView, ctx: PlanContext) -> Outcome:
    return Outcome("Ready", "the workspace stays on Bird; senderctl stops recording it")


async def change(c: Change, io: ApplyIO) -> None:
    io.save(
        c.address,
        KIND,
        bird_id=c.payload["workspaceId"],
        spec={"birdWorkspaceId": c.payload["workspaceId"], "organization": c.payload.get("organization")},
        data={"organizationId": c.payload["organizationId"]},
    )
