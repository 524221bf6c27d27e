"""Readiness Bird can report: a number's endpoint compliance requirements, read for `senderctl status`.

Bird evaluates what a number still needs before it may send (kyc-form, use-case, tfn-verification, ten-dlc,
sms-originator; docs.bird.com "List Workspace Endpoint Compliance Requirements"). They are read only for
numbers Bird holds whose number or channel is not Ready, so the status of a converged estate reads none;
an unsatisfied one becomes the reason those lines wait.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from controller.bird import BirdClient, BirdError
from controller.resources.base import Desired, RecordView

NUMBER_KINDS = ("PhoneNumber", "NumberPool")


@dataclass(frozen=True)
class Endpoint:
    """A number Bird holds and the status lines it explains (its own, its channel's)."""

    number: str  # the number's address
    workspace_id: str
    endpoint_id: str  # a long code's endpoint id is its number id
    lines: tuple[str, ...]


def endpoints_to_read(desired: Sequence[Desired], records: Mapping[str, RecordView],
                      not_ready: set[str]) -> list[Endpoint]:
    """The numbers whose own line or whose channel's line is not Ready, and that Bird holds (pure)."""
    lines: dict[str, list[str]] = {}
    for d in desired:
        if d.kind in NUMBER_KINDS:
            lines.setdefault(d.address, []).append(d.address)
        elif d.kind == "Channel" and d.context.get("number"):
            lines.setdefault(str(d.context["number"]), []).append(d.address)
    out = []
    for number, explained in sorted(lines.items()):
        waiting = tuple(a for a in explained if a in not_ready)
        record = records.get(number)
        workspace = record.data.get("workspaceId") if record is not None else None
        if waiting and record is not None and record.bird_id and workspace:
            out.append(Endpoint(number, str(workspace), record.bird_id, waiting))
    return out


def requirement_reason(requirement: Any, reason: str) -> str:
    """`ten-dlc: <Bird's message> (<the plan's reason>)`."""
    said = requirement.message or f"{requirement.status or 'not satisfied'} on Bird"
    return f"{requirement.name}: {said}" + (f" ({reason})" if reason else "")


async def unsatisfied(client: BirdClient, endpoints: Sequence[Endpoint]) -> dict[str, Any]:
    """Number address -> its first unsatisfied requirement (numbers Bird could not answer for are left out:
    status still shows the plan's reason)."""
    async def one(endpoint: Endpoint) -> tuple[str, Any]:
        try:
            found = await client.compliance_requirements(endpoint.workspace_id, endpoint.endpoint_id)
        except BirdError:
            return endpoint.number, None
        return endpoint.number, next((r for r in found if not r.satisfied), None)

    answers = await asyncio.gather(*(one(e) for e in endpoints))
    return {number: requirement for number, requirement in answers if requirement is not None}


def explain(lines: Sequence[Any], endpoints: Sequence[Endpoint], requirements: Mapping[str, Any]) -> list[Any]:
    """The status lines with a waiting number's (or channel's) reason replaced by Bird's requirement."""
    reasons = {line: requirements[e.number] for e in endpoints if e.number in requirements for line in e.lines}
    out = []
    for line in lines:
        requirement = reasons.get(line.address)
        if requirement is not None and line.status == "Waiting":
            line = dataclasses.replace(line, reason=requirement_reason(requirement, line.reason))
        out.append(line)
    return out
