"""Workspace: a Bird workspace that must already exist and be reachable with the access key."""

from __future__ import annotations

from typing import TYPE_CHECKING

from controller.plan import Change
from controller.resources.base import Desired, Outcome, RecordView

if TYPE_CHECKING:
    from controller.apply import ApplyIO
    from controller.planner import Context
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
                fields={"birdWorkspaceId": ws_id},
                context={
                    "workspaceId": ws_id,
                    "organizationId": str(org.spec.birdOrganizationId) if org else "",
                },
                depends_on=(f"Organization/{doc.spec.organization}",),
            )
        )
    return out


def unreachable_reason(workspace_id: str, ctx: Context) -> str | None:
    return ctx.world.unreachable.get(f"workspace {workspace_id}")


def compare(d: Desired, ctx: Context) -> Outcome:
    ws = d.context["workspaceId"]
    problem = unreachable_reason(ws, ctx)
    if problem:
        return Outcome("Failed", f"Bird workspace {ws}: {problem}")
    record = ctx.world.records.get(d.address)
    if record is None or record.bird_id != ws:
        change = Change(d.address, "adopt", "workspace exists on Bird; recording it", None, d.fields, payload=d.context)
        return Outcome("Ready", changes=(change,))
    return Outcome("Ready")


def removal(record: RecordView, ctx: Context) -> Outcome:
    return Outcome("Ready")  # forget: the workspace stays on Bird


async def change(c: Change, io: ApplyIO) -> None:
    io.save(
        c.address,
        KIND,
        bird_id=c.payload["workspaceId"],
        spec={"birdWorkspaceId": c.payload["workspaceId"]},
        data={"organizationId": c.payload["organizationId"]},
    )
