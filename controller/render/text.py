"""Terraform-like text for terminals: one block per change, then waiting, refusals, a summary line.

The text is built as lines of styled segments; without colour the styles are dropped, with colour
rich renders them (as `Text` objects, so user strings are never parsed as rich markup).
"""

from __future__ import annotations

import functools

from controller.reconcile.plan import Change, Plan
from controller.render.common import (
    DRIFT_NOTE,
    FORGET_SYMBOL,
    PAUSED_NOTE,
    SYMBOLS,
    clean,
    cost_parts,
    diff_lines,
    summary_line,
    total_cost_line,
)

Segment = tuple[str, str]  # (text, rich style; "" for none)
Line = list[Segment]

STYLES: dict[str, str] = {
    "create": "green",
    "update": "yellow",
    "replace": "bold red",
    "archive": "red",
    "delete": "bold red",
    "assign": "cyan",
    "unassign": "magenta",
    "adopt": "blue",
}
DIFF_STYLES = {"+": "green", "~": "yellow", "-": "red"}


def render_text(plan: Plan, *, color: bool = False) -> str:
    lines = plan_lines(plan)
    return _to_rich(lines) if color else "".join(_plain(line) + "\n" for line in lines)


def plan_lines(plan: Plan) -> list[Line]:
    lines: list[Line] = []
    if plan.changes or plan.forget:
        lines += [[("senderctl will perform the following actions:", "bold")], []]
        for change in plan.changes:
            lines += change_block(change) + [[]]
        for address in plan.forget:
            keeps = plan.keeps.get(address) or "removed from the state only; Bird is not touched"
            lines += [[(f"  {FORGET_SYMBOL} forget ", "dim"), (clean(address), "bold")],
                      [("      ", ""), (clean(keeps), "dim")], []]
        if any(c.cost is not None and not c.cost.is_zero for c in plan.changes):
            lines += [[("Cost: ", "bold"), (total_cost_line(plan.total_cost()), "")], []]
    lines += _listing("Waiting:", [(w.address, w.reason) for w in plan.waiting], "yellow")
    lines += _listing("Refused:", [(r.address, _refusal_text(r.reason, r.flag)) for r in plan.refusals], "red")
    lines += _listing("Failed:", [(f.address, f.reason) for f in plan.failed], "red")
    lines += _listing("Paused:", [(a, PAUSED_NOTE) for a in plan.paused], "cyan")
    lines += _listing("Out of scope (left alone):", [(o.address, o.reason) for o in plan.out_of_scope], "dim")
    lines.append([(summary_line(plan), "bold")])
    return lines


def change_block(change: Change) -> list[Line]:
    style = STYLES.get(change.action, "")
    head: Line = [(f"  {SYMBOLS.get(change.action, '?')} {change.action} ", style), (clean(change.address), "bold")]
    if change.drift:
        head.append((f"  [{DRIFT_NOTE}]", "bold magenta"))
    block = [head]
    if change.reason:
        block.append([("      reason: ", "dim"), (clean(change.reason), "")])
    for diff in diff_lines(change):
        block.append([("      ", ""), (diff.render(), DIFF_STYLES.get(diff.sign, ""))])
    if change.cost is not None and not change.cost.is_zero:
        block.append([("      cost: ", "dim"), (", ".join(cost_parts(change.cost)), "")])
    return block


def _refusal_text(reason: str, flag: str | None) -> str:
    lift = f"apply with {flag} to lift this" if flag else "no flag lifts this: change the specs"
    return f"{reason} ({lift})"


def _listing(title: str, items: list[tuple[str, str]], style: str) -> list[Line]:
    if not items:
        return []
    lines: list[Line] = [[(title, f"bold {style}")]]
    lines += [[("  ", ""), (clean(address), "bold"), (" — " + clean(reason), "")] for address, reason in items]
    return lines + [[]]


def _plain(line: Line) -> str:
    return "".join(text for text, _ in line)


def _to_rich(lines: list[Line]) -> str:
    # Styles are rendered to ANSI codes by rich, segment by segment: user text is never parsed as
    # markup, and a 5,000-change plan renders in about the time of the plain one.
    from rich.color import ColorSystem
    from rich.style import Style

    @functools.cache
    def style_of(name: str) -> Style:
        return Style.parse(name)

    def paint(text: str, style: str) -> str:
        return style_of(style).render(text, color_system=ColorSystem.STANDARD) if style and text else text

    return "".join("".join(paint(text, style) for text, style in line) + "\n" for line in lines)
