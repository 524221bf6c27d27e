"""Typed models of the spec language, one module per kind."""

from specs.models.brand import BrandSpec, Vetting
from specs.models.campaign import CampaignSpec
from specs.models.common import SpecModel, Violation, collect_violations
from specs.models.documents import (
    API_VERSION,
    DOCUMENT_CLASSES,
    KINDS,
    AnyDocument,
    BrandDoc,
    CampaignDoc,
    Metadata,
    NumberPoolDoc,
    OrganizationDoc,
    PhoneNumberDoc,
    SpecDocument,
    WebhookSubscriptionDoc,
    WorkspaceDoc,
)
from specs.models.organization import MultiSmsNumbers, OrganizationSpec
from specs.models.phone_number import NumberPoolSpec, NumberSelector, PhoneNumberSpec
from specs.models.secrets import SecretMissing, SecretRef
from specs.models.webhook import EventFilter, WebhookSubscriptionSpec
from specs.models.workspace import WorkspaceSpec

__all__ = [
    "API_VERSION", "DOCUMENT_CLASSES", "KINDS", "AnyDocument", "BrandDoc", "BrandSpec", "CampaignDoc",
    "CampaignSpec", "EventFilter", "Metadata", "MultiSmsNumbers", "NumberPoolDoc", "NumberPoolSpec",
    "NumberSelector", "OrganizationDoc", "OrganizationSpec", "PhoneNumberDoc", "PhoneNumberSpec", "SecretMissing",
    "SecretRef", "SpecDocument", "SpecModel", "Vetting", "Violation", "WebhookSubscriptionDoc",
    "WebhookSubscriptionSpec", "WorkspaceDoc", "WorkspaceSpec", "collect_violations",
]
