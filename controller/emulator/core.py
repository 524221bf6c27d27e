"""The emulated Bird, composed: every domain of ``controller.emulator.domains`` over one shared kernel.

``Emulator`` is what the HTTP layer (``controller.emulator.app``) and tests hold: the store, the clock
(``advance``), the admin calls (``decide``, ``inbound``, ``reset``, ``dump``) and one method per Bird
route (``handler(route_name)``). The names below are re-exported for callers of the old single module.
"""

from __future__ import annotations

from typing import Any

from controller.emulator import policy
from controller.emulator.collection import Item
from controller.emulator.domains.accounts import AccountsDomain
from controller.emulator.domains.authplus import AuthPlusDomain
from controller.emulator.domains.channels import ChannelsDomain, use_case_status
from controller.emulator.domains.compliance import (
    BRAND_FIELDS,
    BRAND_FROZEN_WHEN_APPROVED,
    CAMPAIGN_FIELDS,
    ComplianceDomain,
)
from controller.emulator.domains.notifications import (
    WEBHOOK_FIELDS,
    WEBHOOK_UPDATE_FIELDS,
    NotificationsDomain,
)
from controller.emulator.domains.numbers import NumbersDomain
from controller.emulator.errors import ApiError, invalid, invalid_field, not_found
from controller.emulator.kernel import (
    SMS_CAPABILITIES,
    Answer,
    Clock,
    OrgState,
    Outgoing,
    Query,
    Timer,
    WorkspaceState,
    money,
    rfc3339,
)
from controller.emulator.numbers import generate_us_numbers
from controller.emulator.world import OrganizationSpec

__all__ = [
    "BRAND_FIELDS", "BRAND_FROZEN_WHEN_APPROVED", "CAMPAIGN_FIELDS", "SMS_CAPABILITIES", "WEBHOOK_FIELDS",
    "WEBHOOK_UPDATE_FIELDS", "Answer", "ApiError", "Clock", "Emulator", "OrgState", "Outgoing", "Query", "Timer",
    "WorkspaceState", "invalid", "invalid_field", "money", "not_found", "rfc3339", "use_case_status",
]


class Emulator(AccountsDomain, NumbersDomain, AuthPlusDomain, ComplianceDomain, ChannelsDomain,
               NotificationsDomain):
    """All of Bird the emulator holds."""

    def _build_organization(self, spec: OrganizationSpec, taken: set[str]) -> None:
        org = self.orgs[spec.id] = OrgState(spec)
        for reseller in spec.resellers:
            org.resellers.add(reseller.id, {
                "id": reseller.id, "organizationId": spec.id, "status": reseller.status,
                "companyName": reseller.companyName, "phone": reseller.phone, "email": reseller.email,
                "createdAt": self.clock.iso(), "updatedAt": self.clock.iso()})
        for stock in spec.stock:
            for number in generate_us_numbers(self.rng, stock.count, prefix=stock.prefix, taken=taken):
                self._add_stock(org, number, stock.type)
        for ws_spec in spec.workspaces:
            ws = self.workspaces[ws_spec.id] = WorkspaceState(ws_spec, ws_spec.wallet)
            for number in generate_us_numbers(self.rng, ws_spec.owned_numbers, taken=taken):
                self._own_number(ws, number, "US", "local", policy.NUMBER_MONTHLY_PRICE)

    # ----------------------------------------------------------------------------------- state dump

    def dump(self) -> dict[str, Any]:
        """Every object the emulator holds (admin ``GET /_emulator/state``); signing keys masked."""
        with self.lock:
            def each(attr: str) -> list[Item]:
                return [{**item, "workspaceId": ws.id} for ws in self.workspaces.values()
                        for item in getattr(ws, attr)]

            def nested(attr: str) -> list[Item]:
                return [{**item, "workspaceId": ws.id} for ws in self.workspaces.values()
                        for collection in getattr(ws, attr).values() for item in collection]

            return {
                "clock": {"now": self.clock.iso(), "epoch": self.clock.now},
                "numbers": each("numbers"), "brands": each("brands"), "vettings": nested("vettings"),
                "campaigns": nested("campaigns"), "connectors": each("connectors"), "channels": each("channels"),
                "webhookSubscriptions": [{**s, "signingKey": "***"} for s in each("webhooks")],
                "charges": list(self.charges),
                "wallets": [{"workspaceId": ws.id, "organizationId": ws.organization_id,
                             "currencyCode": policy.CURRENCY, "balance": f"{ws.balance:.2f}"}
                            for ws in self.workspaces.values()],
                "stock": [{"organizationId": org.spec.id, "count": len(org.stock)} for org in self.orgs.values()],
                "resellers": [r for org in self.orgs.values() for r in org.resellers],
                "deliveries": list(self.deliveries),
                "undelivered": [d for d in self.deliveries if not d["delivered"]],
            }
