"""Markdown for a pull/merge request comment.

Order: summary (counts by action, total cost), then waiting, refusals, failures, then one
collapsible `<details>` block per change. The whole comment never exceeds `LIMIT` characters (a
GitHub comment's maximum); when the changes do not fit it ends with "… and N more changes".

Every user string is escaped as HTML entities, which both Markdown and the HTML blocks around
`<details>` honour, so a name or reason cannot open a link, a table cell or a tag. Code blocks use
a fence longer than any backtick run inside them.
"""

from __future__ import annotations

import re

from controller.plan import Change, Plan
from controller.render.common import (
    DRIFT_NOTE,
    PAUSED_NOTE,
    SYMBOLS,
    clean,
    cost_parts,
    diff_lines,
    money,
    summary_line,
)

LIMIT = 65_536
# Room always kept for the closing "… and N more changes" line.
TAIL_RESERVE = 80
# Lists above the changes are capped so that changes still get room in a huge plan.
MAX_LISTED = {"waiting": 100, "refused": 200, "failed": 200, "forgotten": 100, "paused": 100, "out of scope": 100}
MAX_FIELDS_PER_CHANGE = 50

# Characters that mean something to Markdown or HTML (inline, since user text never starts a line
# here), written as numeric entities instead; "@" so that a name cannot mention someone.
_ENTITIES = {ch: f"&#{ord(ch)};" for ch in "&<>\"'\\`*_{}[]()#!|~@"}


def escape(text: str) -> str:
    """User text made inert in Markdown and HTML (entities render as the original characters)."""
    return "".join(_ENTITIES.get(ch, ch) for ch in clean(text))


def fence_for(body: str) -> str:
    longest = max((len(run) for run in re.findall(r"`+", body)), default=0)
    return "`" * max(3, longest + 1)


def render_markdown(plan: Plan) -> str:
    doc = _Budget(LIMIT - TAIL_RESERVE)
    doc.add_always(_summary(plan))
    _add_listing(doc, "Waiting", [_item(w.address, w.reason) for w in plan.waiting], "waiting")
    _add_listing(doc, "Refused", [_item(r.address, r.reason, _lift(r.flag)) for r in plan.refusals], "refused")
    _add_listing(doc, "Failed", [_item(f.address, f.reason) for f in plan.failed], "failed")
    orphan = "removed from the state only; Bird is not touched"
    _add_listing(doc, "Forgotten", [_item(a, plan.keeps.get(a) or orphan) for a in plan.forget], "forgotten")
    _add_listing(doc, "Paused", [_item(a, PAUSED_NOTE) for a in plan.paused], "paused")
    _add_listing(doc, "Out of scope", [_item(o.address, o.reason) for o in plan.out_of_scope], "out of scope")

    if plan.changes:
        doc.add(f"#### Changes ({len(plan.changes)})\n\n")
    shown = 0
    for change in plan.changes:
        if not doc.add(change_details(change)):
            break
        shown += 1
    remaining = len(plan.changes) - shown
    if remaining:
        doc.add_always(f"… and {remaining} more changes\n")
    return doc.text()


def _summary(plan: Plan) -> str:
    lines = ["### senderctl plan", "", f"**{summary_line(plan)}**", ""]
    if plan.has_changes:
        lines += ["| Action | Count |", "|:--|--:|"]
        lines += [f"| `{SYMBOLS[action]}` {action} | {count} |" for action, count in plan.summary().items()]
        if plan.forget:
            lines.append(f"| `.` forget | {len(plan.forget)} |")
        lines.append("")
        total = plan.total_cost()
        lines += [f"| Total cost ({total.currency}) | Monthly | Weekly | One-time |", "|:--|--:|--:|--:|",
                  f"| all changes | {money(total.monthly)} | {money(total.weekly)} | {money(total.one_time)} |", ""]
    if plan.fingerprint:
        lines += [f"Plan fingerprint: `{escape(plan.fingerprint[:16])}`", ""]
    return "\n".join(lines) + "\n"


def _item(address: str, reason: str, hint: str = "") -> str:
    return f"- **{escape(address)}** — {escape(reason)}{hint}\n"


def _lift(flag: str | None) -> str:
    return f" (apply with `{escape(flag)}` to lift this)" if flag else " (no flag lifts this: change the specs)"


def _add_listing(doc: _Budget, title: str, items: list[str], noun: str) -> None:
    if not items or not doc.add(f"#### {title} ({len(items)})\n\n"):
        return
    listed = 0
    for item in items[: MAX_LISTED[noun]]:
        if not doc.add(item):
            break
        listed += 1
    more = len(items) - listed
    doc.add(f"- … and {more} more {noun}\n\n" if more else "\n")


def change_details(change: Change) -> str:
    summary = f"<code>{escape(SYMBOLS.get(change.action, '?') + ' ' + change.action)}</code> <b>{escape(change.address)}</b>"
    if change.reason:
        summary += f" — {escape(change.reason)}"
    if change.drift:
        summary += f" <b>({escape(DRIFT_NOTE)})</b>"
    if change.cost is not None and not change.cost.is_zero:
        summary += f" · {escape(', '.join(cost_parts(change.cost)))}"
    body = _diff_body(change)
    parts = [f"<details><summary>{summary}</summary>\n\n"]
    if body:
        fence = fence_for(body)
        parts.append(f"{fence}diff\n{body}{fence}\n\n")
    else:
        parts.append("No field-level differences.\n\n")
    parts.append("</details>\n\n")
    return "".join(parts)


def _diff_body(change: Change) -> str:
    lines = list(diff_lines(change))
    shown = [line.render() for line in lines[:MAX_FIELDS_PER_CHANGE]]
    if len(lines) > MAX_FIELDS_PER_CHANGE:
        shown.append(f"# … and {len(lines) - MAX_FIELDS_PER_CHANGE} more fields")
    return "".join(s + "\n" for s in shown)


class _Budget:
    """Appends pieces while they fit in `limit` characters; `add_always` is for what must appear."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.parts: list[str] = []
        self.size = 0

    def add(self, piece: str) -> bool:
        if self.size + len(piece) > self.limit:
            return False
        self.add_always(piece)
        return True

    def add_always(self, piece: str) -> None:
        self.parts.append(piece)
        self.size += len(piece)

    def text(self) -> str:
        return "".join(self.parts)
