"""A saved plan is bound to its content: what `apply --plan FILE` compares before it executes anything.

apply never executes what the file says. It recomputes the plan from the specs, Bird and the state,
and carries that out only when it is exactly the saved one: every change (its before, after, fields,
payload and cost), every refusal, waiting and failed entry, and the fingerprint. Anything else is
refused with the list of what differs, so a plan artifact edited after review (a webhook URL, an
emptied `refusals`) never reaches Bird. Pure: plain JSON values in, sentences out.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

# Keys of the saved file that are not part of the plan itself: `paths` says where the specs are.
NOT_PLAN_KEYS = ("paths",)
# Payload keys that legitimately differ between the machine that planned and the one that applies
# (the spec directory a `fromFile` secret is read relative to); the recomputed value is the one used.
MACHINE_LOCAL_PAYLOAD_KEYS = ("specDir",)
MAX_LINES = 40


def normalized(document: Mapping[str, Any]) -> dict[str, Any]:
    """The plan as JSON values (Decimals as strings), without the file's non-plan keys."""
    data = json.loads(json.dumps({k: v for k, v in document.items() if k not in NOT_PLAN_KEYS},
                                 sort_keys=True, default=str))
    for change in data.get("changes") or []:
        if isinstance(change, dict) and isinstance(change.get("payload"), dict):
            change["payload"] = _without_local_keys(change["payload"])
    return data


def _without_local_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_local_keys(v) for k, v in value.items() if k not in MACHINE_LOCAL_PAYLOAD_KEYS}
    if isinstance(value, list):
        return [_without_local_keys(v) for v in value]
    return value


def differences(saved: Mapping[str, Any], fresh: Mapping[str, Any]) -> list[str]:
    """One line per difference between a saved plan and the recomputed one; empty when identical.

    e.g. "WebhookSubscription/inbound: after.url differs from the saved plan",
    "refusal PhoneNumber/old is missing from the saved plan"."""
    a, b = normalized(saved), normalized(fresh)
    lines = list(_change_lines(a.get("changes"), b.get("changes")))
    for key, label in (("refusals", "refusal"), ("waiting", "waiting"), ("failed", "failed")):
        lines += _entry_lines(a.get(key), b.get(key), label)
    if _as_set(a.get("forget")) != _as_set(b.get("forget")):
        lines += [f"forget {x} is missing from the saved plan" for x in sorted(_as_set(b.get("forget")) - _as_set(a.get("forget")))]
        lines += [f"forget {x} in the saved plan is not planned" for x in sorted(_as_set(a.get("forget")) - _as_set(b.get("forget")))]
    for key in sorted((set(a) | set(b)) - {"changes", "refusals", "waiting", "failed", "forget"}):
        if a.get(key) != b.get(key):
            lines.append(f"{key} differs from the saved plan")
    if len(lines) > MAX_LINES:
        lines = lines[:MAX_LINES] + [f"... and {len(lines) - MAX_LINES} more differences"]
    return lines


def _as_set(value: Any) -> set[str]:
    return {str(v) for v in value} if isinstance(value, list) else set()


def _keyed(items: Any, key: Any) -> dict[Any, Any]:
    out: dict[Any, Any] = {}
    for item in items if isinstance(items, list) else []:
        k = key(item) if isinstance(item, dict) else ("?", json.dumps(item, sort_keys=True))
        out[k] = item
    return out


def _change_key(c: dict[str, Any]) -> tuple[str, str]:
    return str(c.get("address")), str(c.get("action"))


def _change_lines(saved: Any, fresh: Any) -> Iterator[str]:
    a, b = _keyed(saved, _change_key), _keyed(fresh, _change_key)
    for address, action in sorted(a.keys() - b.keys()):
        yield f"{address}: {action} is in the saved plan but is not planned now"
    for address, action in sorted(b.keys() - a.keys()):
        yield f"{address}: {action} is planned now but is not in the saved plan"
    for address, action in sorted(a.keys() & b.keys()):
        paths = sorted(set(_differing_paths(a[address, action], b[address, action])))
        for path in paths:
            yield f"{address}: {path} differs from the saved plan"
    if [_change_key(c) for c in saved or [] if isinstance(c, dict)] != [
            _change_key(c) for c in fresh or [] if isinstance(c, dict)] and a.keys() == b.keys():
        yield "the order of the changes differs from the saved plan"


def _entry_lines(saved: Any, fresh: Any, label: str) -> list[str]:
    def key(item: dict[str, Any]) -> str:
        return str(item.get("address"))

    a, b = _keyed(saved, key), _keyed(fresh, key)
    lines = [f"{label} {x} is missing from the saved plan" for x in sorted(b.keys() - a.keys(), key=str)]
    lines += [f"{label} {x} in the saved plan is not planned" for x in sorted(a.keys() - b.keys(), key=str)]
    lines += [f"{label} {x}: {p} differs from the saved plan" for x in sorted(a.keys() & b.keys(), key=str)
              for p in sorted(set(_differing_paths(a[x], b[x])))]
    return lines


def _differing_paths(a: Any, b: Any, prefix: str = "") -> Iterator[str]:
    """Dotted paths where two JSON values differ (list items by index: fields[0].after)."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b), key=str):
            path = f"{prefix}.{k}" if prefix else str(k)
            if k not in a or k not in b:
                yield path
            else:
                yield from _differing_paths(a[k], b[k], path)
        return
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            yield from _differing_paths(x, y, f"{prefix}[{i}]")
        return
    if a != b:
        yield prefix or "(the whole entry)"
