"""Which workspaces and 10DLC campaigns an organization has, from the reconciler's records in the
state database (the only state every replica shares)."""

from __future__ import annotations

from dataclasses import dataclass

from controller.state import StateStore, tenant_repo
from controller.state import api_repo as repo


@dataclass(frozen=True)
class Workspace:
    name: str
    uuid: str  # birdWorkspaceId
    organization: str


@dataclass(frozen=True)
class Campaign:
    address: str
    campaign_id: str
    workspace_uuid: str


@dataclass(frozen=True)
class Directory:
    workspaces: tuple[Workspace, ...]
    campaigns: tuple[Campaign, ...]

    def of_org(self, org: str) -> dict[str, Workspace]:
        return {w.name: w for w in self.workspaces if w.organization == org}

    def by_uuid(self, uuid: str) -> Workspace | None:
        return next((w for w in self.workspaces if w.uuid.lower() == uuid.lower()), None)

    def by_name(self, name: str | None) -> Workspace | None:
        return next((w for w in self.workspaces if w.name == name), None) if name else None

    def campaign_in(self, workspace_uuid: str) -> Campaign | None:
        return next((c for c in self.campaigns if c.workspace_uuid == workspace_uuid), None)


def read_directory(store: StateStore) -> Directory:
    with store.transaction() as tx:
        org_of_bird_id = {c.bird_organization_id: c.name for c in tenant_repo.org_configs(tx)}
        records = repo.records_of_kinds(tx, ["Workspace", "Brand", "Campaign"])
    workspaces = tuple(sorted(
        (Workspace(name=r.address.split("/", 1)[1], uuid=r.bird_id or "",
                   organization=org_of_bird_id.get((r.data or {}).get("organizationId", ""), ""))
         for r in records if r.kind == "Workspace" and r.bird_id),
        key=lambda w: w.name))
    brand_workspace = {r.bird_id: (r.data or {}).get("workspaceId") for r in records if r.kind == "Brand"}
    campaigns = tuple(sorted(
        (Campaign(address=r.address, campaign_id=r.bird_id or "",
                  workspace_uuid=brand_workspace.get((r.data or {}).get("brandId")) or "")
         for r in records if r.kind == "Campaign" and r.bird_id),
        key=lambda c: c.address))
    return Directory(workspaces=workspaces, campaigns=campaigns)


def org_workspaces(store: StateStore, org: str) -> dict[str, str]:
    """workspace name -> birdWorkspaceId, for the organization."""
    return {name: w.uuid for name, w in read_directory(store).of_org(org).items()}
