"""The document envelope (apiVersion, kind, metadata, spec) and one document class per kind."""

from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, PrivateAttr

from specs.errors import SourceLocation
from specs.models.brand import BrandSpec
from specs.models.campaign import CampaignSpec
from specs.models.common import Name, SpecModel
from specs.models.organization import OrganizationSpec
from specs.models.phone_number import NumberPoolSpec, PhoneNumberSpec
from specs.models.webhook import WebhookSubscriptionSpec
from specs.models.workspace import WorkspaceSpec

API_VERSION = "senderctl/v1"
LABEL_KEY_PATTERN = r"^([a-z0-9.-]{1,253}/)?[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?$"
LabelKey = Annotated[str, Field(pattern=LABEL_KEY_PATTERN)]


def no_marks() -> dict[tuple[str | int, ...], tuple[int, int]]:
    return {}  # not `dict` itself, see specs.models.common.no_items


class Metadata(SpecModel):
    """Identity of the document: its kind and name are its address (Kind/name)."""

    name: Name
    labels: dict[LabelKey, Annotated[str, Field(max_length=63)]] | None = Field(
        None, description="Free-form labels (Kubernetes-style).")
    annotations: dict[str, str] | None = Field(None, description="Free-form notes for people and tools.")


class SpecDocument(SpecModel):
    """One spec document. `source` says where it was written; `spec` is the kind's typed model."""

    KIND: ClassVar[str] = ""
    apiVersion: Literal["senderctl/v1"] = Field(description="Always senderctl/v1.")
    kind: str
    metadata: Metadata = Field(description="Name (and optional labels / annotations) of the document.")
    spec: Any

    _source: SourceLocation = PrivateAttr(default_factory=lambda: SourceLocation("<memory>", 1, 1))
    _value_marks: dict[tuple[str | int, ...], tuple[int, int]] = PrivateAttr(default_factory=no_marks)
    _key_marks: dict[tuple[str | int, ...], tuple[int, int]] = PrivateAttr(default_factory=no_marks)

    @property
    def name(self) -> str:
        return self.metadata.name

    @property
    def address(self) -> str:
        return f"{self.kind}/{self.metadata.name}"

    @property
    def source(self) -> SourceLocation:
        return self._source

    def locate(self, *path: str | int, key: bool = False) -> SourceLocation:
        """Where the value (or key) at `path` was written, else its closest written ancestor."""
        if key and path in self._key_marks:
            line, column = self._key_marks[path]
            return SourceLocation(self._source.path, line, column)
        for end in range(len(path), -1, -1):
            mark = self._value_marks.get(path[:end])
            if mark is not None:
                return SourceLocation(self._source.path, *mark)
        return self._source

    def to_document(self) -> dict[str, Any]:
        """The document as plain YAML/JSON data, defaults included, unset optionals left out."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class OrganizationDoc(SpecDocument):
    """A Bird organization and its multi-SMS-number terms."""

    KIND: ClassVar[str] = "Organization"
    kind: Literal["Organization"] = Field(description="Organization")
    spec: OrganizationSpec = Field(description="What the Organization should be.")


class WorkspaceDoc(SpecDocument):
    """A Bird workspace of an Organization."""

    KIND: ClassVar[str] = "Workspace"
    kind: Literal["Workspace"] = Field(description="Workspace")
    spec: WorkspaceSpec = Field(description="What the Workspace should be.")


class BrandDoc(SpecDocument):
    """A 10DLC brand registered with the campaign registry through Bird, with optional vetting."""

    KIND: ClassVar[str] = "Brand"
    kind: Literal["Brand"] = Field(description="Brand")
    spec: BrandSpec = Field(description="What the Brand should be.")


class CampaignDoc(SpecDocument):
    """A 10DLC campaign (use case) of a Brand."""

    KIND: ClassVar[str] = "Campaign"
    kind: Literal["Campaign"] = Field(description="Campaign")
    spec: CampaignSpec = Field(description="What the Campaign should be.")


class PhoneNumberDoc(SpecDocument):
    """One number bought on Bird, optionally linked to a Campaign (an SMS channel) and assigned to a user."""

    KIND: ClassVar[str] = "PhoneNumber"
    kind: Literal["PhoneNumber"] = Field(description="PhoneNumber")
    spec: PhoneNumberSpec = Field(description="What the PhoneNumber should be.")


class NumberPoolDoc(SpecDocument):
    """Several numbers alike, optionally linked to a Campaign and assigned to users."""

    KIND: ClassVar[str] = "NumberPool"
    kind: Literal["NumberPool"] = Field(description="NumberPool")
    spec: NumberPoolSpec = Field(description="What the NumberPool should be.")


class WebhookSubscriptionDoc(SpecDocument):
    """A Bird webhook subscription, signed with a key the spec references."""

    KIND: ClassVar[str] = "WebhookSubscription"
    kind: Literal["WebhookSubscription"] = Field(description="WebhookSubscription")
    spec: WebhookSubscriptionSpec = Field(description="What the WebhookSubscription should be.")


DOCUMENT_CLASSES: dict[str, type[SpecDocument]] = {
    cls.KIND: cls
    for cls in (OrganizationDoc, WorkspaceDoc, BrandDoc, CampaignDoc, PhoneNumberDoc, NumberPoolDoc,
                WebhookSubscriptionDoc)
}
KINDS: tuple[str, ...] = tuple(DOCUMENT_CLASSES)

AnyDocument = Annotated[
    OrganizationDoc | WorkspaceDoc | BrandDoc | CampaignDoc | PhoneNumberDoc | NumberPoolDoc | WebhookSubscriptionDoc,
    Field(discriminator="kind"),
]
