"""Apply spreads the changes it starts first over the workspaces: with a rate limit per workspace, the
slots must not all wait for the first workspace's rate tokens."""

from __future__ import annotations

from controller.reconcile.apply import interleave
from controller.reconcile.plan import Change


def unit(address: str, workspace: str | None) -> list[Change]:
    return [Change(address, "create", "new", payload={"workspaceId": workspace} if workspace else {})]


def test_units_are_taken_in_turn_from_each_workspace_each_in_plan_order() -> None:
    units = [unit(f"Channel/a{i}", "A") for i in range(3)] + [unit("Channel/b0", "B")] + \
        [unit(f"Channel/c{i}", "C") for i in range(2)] + [unit("Organization/o", None)]
    order = [u[0].address for u in interleave(units)]
    assert order == ["Channel/a0", "Channel/b0", "Channel/c0", "Organization/o", "Channel/a1", "Channel/c1",
                     "Channel/a2"]
    assert interleave([]) == []
