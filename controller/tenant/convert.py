"""State rows -> tenant values (the rows never leave controller.tenant)."""

from __future__ import annotations

from typing import Any

from controller.tenant.models import Assignment, OrgConfig, ProviderPhone, WorkspacePhone


def org_config(row: Any) -> OrgConfig:
    return OrgConfig(name=row.name, bird_organization_id=row.bird_organization_id, enabled=row.enabled,
                     limit=row.number_limit, weekly_price=row.weekly_price, currency=row.currency,
                     ten_dlc_active=row.ten_dlc_active)


def provider_phone(row: Any) -> ProviderPhone:
    return ProviderPhone(id=row.id, organization=row.organization, number=row.number,
                         bird_number_id=row.bird_number_id, monthly_price=row.monthly_price,
                         workspace=row.workspace, workspace_phone_id=row.workspace_phone_id,
                         acquired_at=row.acquired_at, released_at=row.released_at, owner=row.owner,
                         forgotten_by=row.forgotten_by, forgotten_at=row.forgotten_at,
                         billed_until=row.billed_until)


def workspace_phone(row: Any) -> WorkspacePhone:
    return WorkspacePhone(id=row.id, workspace=row.workspace, organization=row.organization, number=row.number,
                          provider_phone_id=row.provider_phone_id, is_archived=row.is_archived,
                          created_at=row.created_at, archived_at=row.archived_at, label=row.label,
                          owner=row.owner)


def assignment(row: Any) -> Assignment:
    return Assignment(organization=row.organization, number=row.number, user=row.user,
                      assigned_at=row.assigned_at, unassigned_at=row.unassigned_at, owner=row.owner)


def operation_facts(row: Any) -> dict[str, Any]:
    return {"id": row.id, "address": row.address, "action": row.action, "request": row.request,
            "started_at": row.started_at}


def record_facts(row: Any) -> dict[str, Any]:
    return {"address": row.address, "data": dict(row.data or {})}
