"""Accounts API (docs.bird.com/api/accounts-api): an organization's workspaces, as `List workspaces`
answers them (https://docs.bird.com/api/accounts-api/api-reference/organizations/workspaces).
"""

from __future__ import annotations

from typing import Any, ClassVar

from controller.emulator import policy
from controller.emulator.collection import Collection
from controller.emulator.kernel import Answer, Kernel, OrgState, Query


class AccountsDomain(Kernel):
    ROUTES: ClassVar[dict[str, str]] = {"workspaces-list": "workspaces_list"}

    def workspaces_list(self, org: OrgState, params: dict[str, str], query: Query, body: Any) -> Answer:
        # Workspaces never change after the world is built, so a collection made in world order pages
        # with stable cursors.
        listed = Collection()
        for ws in self.workspaces.values():
            if ws.organization_id == org.spec.id:
                listed.add(ws.id, {"id": ws.id, "organizationId": ws.organization_id,
                                   "name": ws.spec.name or policy.WORKSPACE_DEFAULT_NAME.format(short_id=ws.id[:8]),
                                   "status": "active"})
        return self.paginate(listed, query)
