"""Pure helpers shared by the plan renderers: symbols, money, safe value display, diff lines.

Everything a renderer shows of user data goes through `display_value` / `clean`: values are
shortened, control and bidirectional-override characters are made visible, and fields whose name
says they hold a secret are masked (the Plan should never carry one; this is the second fence).
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from controller.reconcile.plan import Action, Change, Cost, Plan

SYMBOLS: dict[str, str] = {
    "create": "+",
    "update": "~",
    "replace": "-/+",
    "archive": "-",
    "delete": "x",
    "assign": ">",
    "unassign": "<",
    "adopt": "=",
}
FORGET_SYMBOL = "."

MASK = "(sensitive value)"
MAX_VALUE_CHARS = 200
IMMUTABLE_NOTE = "cannot change on Bird"
DRIFT_NOTE = "drift: changed on Bird outside senderctl"
PAUSED_NOTE = "paused (senderctl.io/paused): no Bird write until the annotation is removed"
NO_CHANGES = "No changes. Bird and the records match the specs."

_SECRET_KEY = re.compile(r"(?i)(secret|password|passwd|token|signing_?key|access_?key|api_?key|private_?key)")
_CENT = Decimal("0.01")


def money(value: Decimal) -> str:
    """A USD amount as a Decimal string with cents: Decimal("1.5") -> "1.50"."""
    return str(value.quantize(_CENT))


def cost_parts(cost: Cost) -> list[str]:
    """Non-zero components of a cost, e.g. ["1.15 USD monthly", "2.99 USD weekly"]."""
    parts = []
    for label, amount in (("monthly", cost.monthly), ("weekly", cost.weekly), ("one-time", cost.one_time)):
        if amount != 0:
            parts.append(f"{money(amount)} {cost.currency} {label}")
    return parts


def total_cost_line(cost: Cost) -> str:
    """All three components, always: a reviewer should see "0.00" rather than guess."""
    return (
        f"{money(cost.monthly)} {cost.currency} monthly, {money(cost.weekly)} {cost.currency} weekly, "
        f"{money(cost.one_time)} {cost.currency} one-time"
    )


def summary_line(plan: Plan) -> str:
    """`Plan: 3 to create, 1 to update, ... 0 to delete.` or the no-changes sentence."""
    if not plan.has_changes:
        if plan.refusals or plan.failed:  # never "match the specs" beside a refusal or a failure
            return (f"No changes can be applied: {len(plan.refusals)} refused, {len(plan.failed)} failed "
                    "(listed above).")
        if plan.waiting:  # never "match the specs" while something the specs declare waits
            return f"No changes can be applied now: {len(plan.waiting)} waiting on Bird (listed above)."
        return NO_CHANGES
    parts = [f"{count} to {action}" for action, count in plan.summary().items()]
    if plan.forget:
        parts.append(f"{len(plan.forget)} to forget")
    return "Plan: " + ", ".join(parts) + "."


def clean(text: str) -> str:
    """Make control, format (bidi override, zero-width) and line-separator characters visible."""
    text = str(text)
    if text.isprintable():  # fast path: no control, format or separator characters (but space)
        return text
    return "".join(_visible(ch) for ch in text)


def _visible(ch: str) -> str:
    if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp"):
        code = ord(ch)
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
    return ch


def mask_secrets(value: Any, key: str = "") -> Any:
    """Replace plain values under secret-looking keys. References ({fromEnv: NAME}) stay readable."""
    if isinstance(value, Mapping):
        return {k: mask_secrets(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask_secrets(v, key) for v in value]
    if key and _SECRET_KEY.search(key) and value not in (None, "", MASK):
        return MASK
    return value


def display_value(value: Any, key: str = "") -> str:
    """One short, single-line, safe rendering of a field value."""
    value = mask_secrets(value, key)
    if value is None:
        return "(unset)"
    if value == MASK:
        return MASK
    if isinstance(value, bool | int | float | Decimal):
        text = str(value).lower() if isinstance(value, bool) else str(value)
    else:
        text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str, separators=(", ", ": "))
    text = clean(text)
    if len(text) > MAX_VALUE_CHARS:
        text = text[: MAX_VALUE_CHARS - 1] + "…"
    return text


@dataclass(frozen=True)
class DiffLine:
    """One line under a change: `+ key = value`, `~ key: a -> b`, `- key = value`."""

    sign: str
    path: str
    text: str
    immutable: bool = False

    def render(self) -> str:
        note = f"   ({IMMUTABLE_NOTE})" if self.immutable else ""
        return f"{self.sign} {self.path}{self.text}{note}"


def diff_lines(change: Change) -> Iterator[DiffLine]:
    """The field-level lines of a change, never its payload (that is for apply only)."""
    if change.fields:
        for f in change.fields:
            path = clean(f.path)
            arrow = f": {display_value(f.before, f.path)} -> {display_value(f.after, f.path)}"
            yield DiffLine("~", path, arrow, f.immutable)
        return
    before, after = change.before or {}, change.after or {}
    if change.action in ("update", "replace") and before and after:
        for key in sorted(set(before) | set(after), key=str):
            if before.get(key) != after.get(key):
                arrow = f": {display_value(before.get(key), key)} -> {display_value(after.get(key), key)}"
                yield DiffLine("~", clean(key), arrow)
        return
    shown, sign = (after, "+") if after else (before, "-")
    for key in sorted(shown, key=str):
        if shown[key] is not None:
            yield DiffLine(sign, clean(key), f" = {display_value(shown[key], key)}")


def action_label(action: Action | str) -> str:
    return f"{SYMBOLS.get(action, '?')} {action}"
