"""Authentication+ (The Campaign Registry, since October 2024) on the emulator's clock.

A PUBLIC_PROFIT brand with a businessContactEmail is sent TCR's verification e-mail when it is
registered, and again when the contact changes; the link is valid 7 days. Verified (admin
``POST /_emulator/authplus/verify {"brandId"}``: the person clicked and answered), the brand carries
Bird's documented ``businessContactEmailVerifiedDate``; unanswered after 7 days, the brand's identity
falls to UNVERIFIED and Bird's ``rejection`` says why. What Bird's pages leave open (the status field
and the date the e-mail went out) is listed in controller/emulator/policy.py.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from controller.emulator import policy
from controller.emulator.collection import Item
from controller.emulator.errors import invalid_field, not_found
from controller.emulator.kernel import Kernel, WorkspaceState


def needs_auth_plus(brand: Item) -> bool:
    return brand.get("entityType") == "PUBLIC_PROFIT" and bool(brand.get("businessContactEmail"))


class AuthPlusDomain(Kernel):
    TIMERS: ClassVar[dict[str, str]] = {"authplus": "_auth_plus_expired"}

    def auth_plus_on_write(self, ws: WorkspaceState, brand: Item, changed: set[str]) -> None:
        """After a brand create or update: (re)send the e-mail when the brand needs Auth+ and its contact
        (or its entity type) is new."""
        if not needs_auth_plus(brand):
            for name in (policy.AUTH_PLUS_STATUS_FIELD, policy.AUTH_PLUS_SENT_FIELD):
                brand.pop(name, None)
            return
        if brand.get(policy.AUTH_PLUS_STATUS_FIELD) and not changed & {"businessContactEmail", "entityType"}:
            return
        brand[policy.AUTH_PLUS_STATUS_FIELD] = policy.AUTH_PLUS_PENDING
        brand[policy.AUTH_PLUS_SENT_FIELD] = self.clock.iso()
        brand.pop("businessContactEmailVerifiedDate", None)
        if (brand.get("rejection") or {}).get("code") == policy.AUTH_PLUS_EXPIRED_CODE:
            brand.pop("rejection", None)
        self._schedule(policy.AUTH_PLUS_LINK_SECONDS, "authplus", ws.id, brand["id"])

    def _auth_plus_expired(self, ws: WorkspaceState, brand_id: str) -> dict[str, Any] | None:
        brand = ws.brands.get(brand_id)
        if brand is None or brand.get(policy.AUTH_PLUS_STATUS_FIELD) != policy.AUTH_PLUS_PENDING:
            return None
        sent = _epoch(brand[policy.AUTH_PLUS_SENT_FIELD])
        if self.clock.now < sent + policy.AUTH_PLUS_LINK_SECONDS:
            return None  # an earlier e-mail's timer: the contact changed and a new link went out since
        brand.update({policy.AUTH_PLUS_STATUS_FIELD: policy.AUTH_PLUS_EXPIRED, "updatedAt": self.clock.iso(),
                      "rejection": {"code": policy.AUTH_PLUS_EXPIRED_CODE,
                                    "description": policy.AUTH_PLUS_EXPIRED_DESCRIPTION}})
        self._emit(ws, "10dlc.brand", _event(brand, ws), {"brandId": brand["id"]})
        return {"kind": "authplus", "id": brand["id"], "status": policy.AUTH_PLUS_EXPIRED}

    def verify_auth_plus(self, brand_id: Any) -> Item:
        """Admin: the business contact completed the Authentication+ e-mail (before the link expired)."""
        with self.lock:
            where = self.index.get(brand_id) if isinstance(brand_id, str) else None
            if where is None or where[0] != "brand":
                raise not_found(f"brand {brand_id}")
            ws = self.workspaces[where[1]]
            brand = ws.brands.get(brand_id)
            assert brand is not None
            status = brand.get(policy.AUTH_PLUS_STATUS_FIELD)
            if status != policy.AUTH_PLUS_PENDING:
                raise invalid_field("brandId", f"the brand has no Authentication+ e-mail waiting (it is "
                                               f"{status or 'not a PUBLIC_PROFIT brand with a business contact'}"
                                               "); an expired link must be sent again by updating the brand")
            now = self.clock.iso()
            brand.update({policy.AUTH_PLUS_STATUS_FIELD: policy.AUTH_PLUS_VERIFIED,
                          "businessContactEmailVerifiedDate": now, "updatedAt": now})
            self._emit(ws, "10dlc.brand", _event(brand, ws), {"brandId": brand["id"]})
            return brand


def _event(brand: Item, ws: WorkspaceState) -> Item:
    from controller.emulator.domains.compliance import brand_event

    return brand_event(brand, ws)


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
