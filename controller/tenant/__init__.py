"""Tenant features: organization configuration, numbers held, workspace phone numbers, assignments,
archiving, the sender choice, inbound routing and weekly billing (seeds 000 and 002).

The rules live here (pure ones in rules.py); the SQL in controller.state.tenant_repo.
"""

from controller.tenant.billing import run_billing, usage_logs
from controller.tenant.inbound import handle_inbound_webhook, inbox, route_inbound, unrouted
from controller.tenant.models import (
    ArchiveBlocked,
    Assignment,
    AssignmentConflict,
    BillingResult,
    InvalidNumber,
    InvalidWebhook,
    InvalidWeek,
    MalformedWebhook,
    NumberNotHeld,
    OrgConfig,
    ProviderPhone,
    RouteResult,
    Sender,
    TenantError,
    TenantSnapshot,
    UnknownOrganization,
    WorkspacePhone,
    WorkspacePhoneError,
)
from controller.tenant.numbers import (
    active_assignments,
    archive_blockers,
    archive_number,
    archive_workspace_phone,
    archived_still_billed,
    archived_workspace_phones,
    assign,
    assignment_history,
    create_workspace_phone,
    held_numbers,
    link,
    linkable_phones,
    list_workspace_phones,
    move,
    org_config,
    plan_snapshot,
    record_number_acquired,
    record_numbers_acquired,
    sender_for,
    set_ten_dlc_active,
    snapshot,
    sync_org_config,
    unassign,
)
from controller.tenant.rules import iso_week, previous_week, week_bounds

__all__ = [
    "ArchiveBlocked", "Assignment", "AssignmentConflict", "BillingResult", "InvalidNumber", "InvalidWebhook",
    "InvalidWeek", "MalformedWebhook", "NumberNotHeld", "OrgConfig", "ProviderPhone", "RouteResult", "Sender",
    "TenantError", "TenantSnapshot", "UnknownOrganization", "WorkspacePhone", "WorkspacePhoneError",
    "active_assignments", "archive_blockers", "archive_number", "archive_workspace_phone", "archived_workspace_phones", "assign", "assignment_history",
    "create_workspace_phone", "handle_inbound_webhook", "archived_still_billed", "held_numbers", "inbox", "iso_week", "link",
    "linkable_phones", "list_workspace_phones", "move", "org_config", "previous_week", "record_number_acquired", "record_numbers_acquired",
    "route_inbound", "run_billing", "sender_for", "set_ten_dlc_active", "plan_snapshot", "snapshot", "sync_org_config", "unassign",
    "unrouted", "usage_logs", "week_bounds",
]
