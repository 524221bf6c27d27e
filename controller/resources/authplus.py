"""Authentication+ in a brand's condition (The Campaign Registry, since October 2024).

A PUBLIC_PROFIT brand's business contact is sent TCR's verification e-mail; its link is valid 7 days and
an unanswered brand is UNVERIFIED. Bird reports the verification as the brand's
businessContactEmailVerifiedDate (and the e-mail's state as authPlusStatus): while it is pending the brand
is Waiting on a person, named by a masked address and the link's dates; expired, it is Failed with Bird's
reason. Pure: reads the brand as Bird returns it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from controller.resources.lifecycle import parse_time, rejection_text

LINK_VALID = timedelta(days=7)  # TCR: the Authentication+ e-mail's link is valid 7 days
PENDING, VERIFIED, EXPIRED = "PENDING", "VERIFIED", "EXPIRED"
WAITING_PREFIX = "Auth+ e-mail sent to"


def masked(address: str) -> str:
    """jane.doe@acme.example -> j***@acme.example: enough for the person to know it is theirs."""
    local, _, domain = address.partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"


def condition(brand: dict[str, Any]) -> tuple[str, str] | None:
    """("Waiting" | "Failed", reason) while Auth+ holds the brand back; None when it does not."""
    if brand.get("entityType") != "PUBLIC_PROFIT" or brand.get("businessContactEmailVerifiedDate"):
        return None
    status = str(brand.get("authPlusStatus") or "").upper()
    contact = str(brand.get("businessContactEmail") or "")
    if status == EXPIRED:
        return "Failed", f"Auth+ e-mail to {masked(contact)} expired unanswered ({rejection_text(brand)})"
    if status != PENDING or not contact:
        return None
    sent = parse_time(brand.get("authPlusEmailSentDate")) or parse_time(brand.get("createdAt"))
    if sent is None:
        return "Waiting", f"{WAITING_PREFIX} {masked(contact)}; the contact must open its link within 7 days"
    return "Waiting", (f"{WAITING_PREFIX} {masked(contact)} on {sent:%Y-%m-%d}, link valid until "
                       f"{sent + LINK_VALID:%Y-%m-%d %H:%M} UTC")


def overlay(status: str, reason: str, brand: dict[str, Any]) -> tuple[str, str]:
    """The brand's condition with Auth+ laid over its review: a rejected brand stays Failed for its own
    reason; otherwise a pending or expired Auth+ e-mail is what the brand waits or fails on."""
    auth = condition(brand)
    if auth is None or status == "Failed":
        return status, reason
    auth_status, auth_reason = auth
    return auth_status, f"{auth_reason}; {reason}" if reason else auth_reason


def started_waiting(before_reason: str, now_reason: str) -> bool:
    """A brand now waiting on its Auth+ e-mail that was not before (the daemon notifies it, although the
    brand was already Waiting on its review)."""
    return now_reason.startswith(WAITING_PREFIX) and not before_reason.startswith(WAITING_PREFIX)
