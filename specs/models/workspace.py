"""Workspace: a Bird workspace inside an Organization."""

from pydantic import Field

from specs.models.common import OrganizationRef, SpecModel, UUIDStr


class WorkspaceSpec(SpecModel):
    """The Bird workspace and the Organization it belongs to."""

    organization: OrganizationRef
    birdWorkspaceId: UUIDStr = Field(description="The Bird workspace id (UUID).")
