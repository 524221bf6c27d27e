"""Bird's status names, in one place, as the reconciler reads them.

Bird documents brand, vetting and campaign creation as asynchronous ("A Get call may be required
to retrieve the final result") without listing every status; these sets are the readings
senderctl relies on, matched case-insensitively.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

BRAND_READY = frozenset({"APPROVED", "VERIFIED", "VETTED_VERIFIED", "ACTIVE"})
BRAND_FAILED = frozenset({"REJECTED", "FAILED", "UNVERIFIED", "SUSPENDED"})
VETTING_READY = frozenset({"ACTIVE", "APPROVED", "COMPLETED", "VETTED"})
VETTING_FAILED = frozenset({"REJECTED", "FAILED", "EXPIRED"})
CAMPAIGN_READY = frozenset({"APPROVED", "ACTIVE"})
CAMPAIGN_FAILED = frozenset({"REJECTED", "DECLINED", "FAILED", "SUSPENDED", "EXPIRED", "DEACTIVATED"})
# Bird "Update a campaign": only APPROVED, DECLINED or REJECTED campaigns can be updated; APPROVED ones
# only in these fields, DECLINED/REJECTED ones in every field (resubmitted for review, for a fee).
CAMPAIGN_UPDATABLE = frozenset({"APPROVED", "DECLINED", "REJECTED"})
CAMPAIGN_RESUBMITTABLE = frozenset({"DECLINED", "REJECTED"})
CAMPAIGN_EDITABLE_WHEN_APPROVED = ("description", "samples", "messageFlow", "helpMessage", "optinKeywords",
                                   "optoutKeywords", "helpKeywords", "optinMessage", "optoutMessage")
# Bird "Update a brand": "When a brand is rejected all fields can be updated" (a resubmission, $4);
# "A brand cannot be updated if the status is failed. The brand must be resubmitted as new."
BRAND_RESUBMITTABLE = frozenset({"REJECTED"})
BRAND_NOT_UPDATABLE = frozenset({"FAILED"})
RESELLER_READY = frozenset({"ACTIVE"})
CHANNEL_ACTIVE = "active"
USE_CASE_OK = "ok"

# How soon a waiting resource is worth re-checking (seconds): brand approval takes minutes to
# hours, campaign approval one to two weeks, carrier acknowledgement 15 minutes to hours.
RECHECK_BRAND = 5 * 60
RECHECK_VETTING = 5 * 60
RECHECK_CAMPAIGN = 60 * 60
RECHECK_CARRIERS = 5 * 60
RECHECK_DEPENDENCY = 60


def status_of(obj: dict | None) -> str:
    if not obj:
        return ""
    return str(obj.get("status") or "").upper()


def is_in(status: str, names: frozenset[str]) -> bool:
    return status.upper() in names


def rejection_text(obj: dict) -> str:
    """Bird's `rejection {code, description}`, as a reviewer should read it."""
    rejection = obj.get("rejection") or {}
    if isinstance(rejection, dict) and (rejection.get("code") or rejection.get("description")):
        return f"{rejection.get('code') or ''}: {rejection.get('description') or ''}".strip(": ")
    reasons = obj.get("reasons")  # a FAILED vetting says why in `reasons`
    if isinstance(reasons, list) and reasons:
        return "; ".join(str(r) for r in reasons)
    return str(obj.get("rejectionReason") or "no reason given")


def readiness(obj: dict, ready: frozenset[str], failed: frozenset[str], *, what: str,
              waiting: str) -> tuple[str, str]:
    """("Ready" | "Failed" | "Waiting", reason) for a registry object reviewed by Bird."""
    status = status_of(obj)
    if status in ready:
        return "Ready", ""
    if status in failed:
        return "Failed", f"{what} was {status} by the campaign registry ({rejection_text(obj)})"
    return "Waiting", waiting.format(status=status or "PENDING")


def parse_time(value: Any) -> datetime | None:
    """A Bird timestamp (ISO 8601, `Z` for UTC) as a datetime; None when absent or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
