"""Assignment: which user a number belongs to (seed 000: admin assigns numbers to users).

Kept in senderctl's own records. A user's campaigns send from their number and replies to it
route to them, so a number never has two owners: moving it is one unassign+assign transaction.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from controller.reconcile.plan import Change
from controller.resources.base import ApplyIO, Desired, Outcome, PlanContext, RecordView
from controller.resources.lifecycle import RECHECK_DEPENDENCY
from controller.resources.phone_number import KINDS as NUMBER_KINDS
from controller.resources.phone_number import member_names, orphaned, renamed_with

if TYPE_CHECKING:
    from specs import SpecSet

KIND = "Assignment"


def assignees(doc: Any) -> list[str | None]:
    if doc.kind == "PhoneNumber":
        return [doc.spec.assignee]
    return list(doc.spec.assignees or [])


def expand(specs: SpecSet) -> list[Desired]:
    out = []
    for kind in NUMBER_KINDS:
        for doc in specs.of_kind(kind):
            ws = specs.get("Workspace", doc.spec.workspace)
            for name, user in zip(member_names(doc), assignees(doc), strict=False):
                if not user:
                    continue
                out.append(
                    Desired(
                        address=f"{KIND}/{name}",
                        kind=KIND,
                        organization=ws.spec.organization if ws else "",
                        fields={"user": str(user)},
                        context={"number": f"{kind}/{name}"},
                        depends_on=(f"{kind}/{name}",),
                    )
                )
    return out


def compare(d: Desired, ctx: PlanContext) -> Outcome:
    number_outcome = ctx.outcome(d.context["number"])
    number = number_outcome.facts.get("number") if number_outcome else None
    if not number or not number_outcome or not number_outcome.facts.get("birdId"):
        return Outcome("Waiting", f"{d.context['number']} is not bought yet", recheck_after=RECHECK_DEPENDENCY)
    user = d.fields["user"]
    current = ctx.world.tenant.assignments.get(number)
    payload = {"organization": d.organization, "number": number, "user": user, "numberAddress": d.context["number"]}
    record = ctx.world.records.get(d.address)
    if current is not None and current.lower() == user.lower():  # one user whatever the case
        if record is None:
            return Outcome("Ready", changes=(Change(d.address, "adopt", f"{number} is already assigned to {user}",
                                                   None, {"user": user, "number": number}, payload=payload),))
        return Outcome("Ready")
    held = held_by_user(user, ctx)
    channel = ctx.outcome(f"Channel/{d.context['number'].split('/', 1)[1]}")
    if held not in (None, number) and channel is not None and not channel.facts.get("birdId"):
        # Make-before-break: the user keeps the number they have until the new one can take their messages.
        return Outcome("Waiting", f"{user} keeps {held} until the SMS channel of {number} is installed "
                       "(make-before-break)", recheck_after=RECHECK_DEPENDENCY)
    reason = f"assign {number} to {user}" if current is None else f"move {number} from {current} to {user}"
    if held not in (None, number):
        reason += f" (and take back {held}, in the same transaction)"
    change = Change(d.address, "assign", reason, None if current is None else {"user": current, "number": number},
                    {"user": user, "number": number},
                    payload={**payload, "previous": current, "release": released_number(user, number, ctx)})
    return Outcome("Ready", changes=(change,))


def held_by_user(user: str, ctx: PlanContext) -> str | None:
    """The number the user holds now, if any."""
    by_user = ctx.indexes.get((0, "assigned-by-user"))
    if by_user is None:
        by_user = ctx.indexes[(0, "assigned-by-user")] = {u.lower(): n for n, u in ctx.world.tenant.assignments.items()}
    return by_user.get(user.lower())


def released_number(user: str, number: str, ctx: PlanContext) -> str | None:
    """The number the user holds now, which they give back when the specs give them `number` (a user holds
    one number): taken back in the same transaction as the new one is given (two users swapping numbers, or
    a user moved to a new number: make-before-break, never a moment without one). An assignment the
    platform API made is not taken back here (the assign is refused instead)."""
    other = held_by_user(user, ctx)
    if other is None or other == number or other in ctx.world.tenant.api_assignments:
        return None
    return other


def moving_to(user: str, address: str, ctx: PlanContext) -> Desired | None:
    """The other Assignment of the specs that gives `user` a number (the user moves to it), if any."""
    by_user = ctx.indexes.get((0, "desired-assignment-by-user"))
    if by_user is None:
        by_user = ctx.indexes[(0, "desired-assignment-by-user")] = {
            a.fields["user"].lower(): a for a in ctx.desired_of_kind(KIND)}  # type: ignore[misc]
    target = by_user.get(user.lower())
    return target if target is not None and target.address != address else None  # type: ignore[return-value]


def removal(record: RecordView, ctx: PlanContext) -> Outcome:
    """The assignment a spec made ends with that spec (also when its number is orphaned: the number
    stays held, but unassigned). Only a spec's own record is ended here: an assignment made through
    the platform API has no Assignment record and is never touched for being absent from the specs."""
    number = record.data.get("number", "")
    current = ctx.world.tenant.assignments.get(number)
    if number in ctx.world.tenant.api_assignments:
        return Outcome("Ready")  # the platform API made the current assignment: the API owns it
    if renamed_with(KIND, number, ctx):
        return Outcome("Ready", f"{number} stays assigned to {current}, kept by {ctx.claimed_numbers[number]}")
    if current is None or current != record.spec.get("user"):
        return Outcome("Ready", f"{number} is no longer assigned to {record.spec.get('user')}")
    target = moving_to(current, record.address, ctx)
    if target is not None:  # make-before-break: the new assignment takes this number back, in its transaction
        outcome = ctx.outcome(target.address)
        if outcome is not None and any(c.action == "assign" for c in outcome.changes):
            return Outcome("Ready", f"{current} keeps {number} until {target.address} gives them their new number, "
                           "which takes this one back in the same transaction (make-before-break)")
        why = outcome.reason if outcome is not None and outcome.reason else f"{target.address} is not ready"
        return Outcome("Waiting", f"{current} keeps {number} until {target.address} can take over: {why} "
                       "(make-before-break: never a moment without a number)", recheck_after=RECHECK_DEPENDENCY)
    reason = f"the spec no longer assigns {number} to {current}"
    if orphaned(record.data.get("numberAddress", ""), ctx):
        reason = (f"{record.data.get('numberAddress')} was removed from the specs: the assignment it declared ends "
                  f"with it ({number} stays held by the organization, unassigned)")
    change = Change(record.address, "unassign", reason, {"user": current, "number": number}, None,
                    payload={"organization": record.data.get("organization"), "number": number, "user": current})
    return Outcome("Ready", changes=(change,))


async def change(c: Change, io: ApplyIO) -> None:
    from controller import tenant

    p = c.payload
    at = io.now()
    if c.action == "unassign":
        await io.tenant_call(tenant.unassign, p["organization"], p["number"], at=at)
        io.forget(c.address)
        return
    if c.action == "assign":
        if p.get("previous"):
            await io.tenant_call(tenant.move, p["organization"], p["number"], p["user"], at=at, release=p.get("release"))
        else:
            await io.tenant_call(tenant.assign, p["organization"], p["number"], p["user"], at=at, release=p.get("release"))
    io.save(c.address, KIND, bird_id=None, spec={"user": p["user"]},
            data={"organization": p["organization"], "number": p["number"], "numberAddress": p["numberAddress"]})
