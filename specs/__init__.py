"""The senderctl spec language: YAML documents (apiVersion senderctl/v1) -> typed, validated models.

    result = load_specs(["specs/"])
    if result.errors: print each str(error)    # PATH:LINE:COLUMN: Kind/name: field.path: message
    else: use result.specs (a SpecSet)

Never imports anything from `controller`.
"""

from specs.errors import SourceLocation, SpecError
from specs.loader import LoadResult, load_specs, load_text
from specs.models import (
    DOCUMENT_CLASSES,
    KINDS,
    BrandDoc,
    CampaignDoc,
    NumberPoolDoc,
    OrganizationDoc,
    PhoneNumberDoc,
    SecretMissing,
    SecretRef,
    SpecDocument,
    WebhookSubscriptionDoc,
    WorkspaceDoc,
)
from specs.specset import SpecSet

__all__ = [
    "DOCUMENT_CLASSES", "KINDS", "BrandDoc", "CampaignDoc", "LoadResult", "NumberPoolDoc", "OrganizationDoc",
    "PhoneNumberDoc", "SecretMissing", "SecretRef", "SourceLocation", "SpecDocument", "SpecError", "SpecSet",
    "WebhookSubscriptionDoc", "WorkspaceDoc", "load_specs", "load_text",
]
