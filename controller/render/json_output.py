"""The CONTRACT.md "Plan JSON" format: Plan.to_json(), pretty-printed with sorted keys.

Sorted keys make the output byte-identical for an identical plan, so CI can diff two plans.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from controller.reconcile.plan import Plan


def render_json(plan: Plan) -> str:
    return json.dumps(plan.to_json(), indent=2, sort_keys=True, ensure_ascii=False, default=_decimal) + "\n"


def _decimal(value: Any) -> str:
    # Money stays exact: a Decimal that slipped into a payload is written as its string.
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable in a plan")
