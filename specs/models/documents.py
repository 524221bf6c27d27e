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
LabelKey = Annotated[str, Field(pattern=r"^([a-z0-9.-]{1,253}/)?[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?$")]


class Metadata(SpecModel):
    name: Name
    labels: dict[LabelKey, Annotated[str, Field(max_length=63)]] | None = Field(
        None, description="Free-form labels (Kubernetes-style).")
    annotations: dict[str, str] | None = Field(None, description="Free-form notes for people and tools.")


class SpecDocument(SpecModel):
    """One spec document. `source` says where it was written; `spec` is the kind's typed model."""

    KIND: ClassVar[str] = ""
    apiVersion: Literal["senderctl/v1"] = Field(description="Always senderctl/v1.")
    kind: str
    metadata: Metadata
    spec: Any

    _source: SourceLocation = PrivateAttr(default_factory=lambda: SourceLocation("<memory>", 1, 1))
    _value_marks: dict[tuple[str | int, ...], tuple[int, int]] = PrivateAttr(default_factory=dict)
    _key_marks: dict[tuple[str | int, ...], tuple[int, int]] = PrivateAttr(default_factory=dict)

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
    KIND: ClassVar[str] = "Organization"
    kind: Literal["Organization"]
    spec: OrganizationSpec


class WorkspaceDoc(SpecDocument):
    KIND: ClassVar[str] = "Workspace"
    kind: Literal["Workspace"]
    spec: WorkspaceSpec


class BrandDoc(SpecDocument):
    KIND: ClassVar[str] = "Brand"
    kind: Literal["Brand"]
    spec: BrandSpec


class CampaignDoc(SpecDocument):
    KIND: ClassVar[str] = "Campaign"
    kind: Literal["Campaign"]
    spec: CampaignSpec


class PhoneNumberDoc(SpecDocument):
    KIND: ClassVar[str] = "PhoneNumber"
    kind: Literal["PhoneNumber"]
    spec: PhoneNumberSpec


class NumberPoolDoc(SpecDocument):
    KIND: ClassVar[str] = "NumberPool"
    kind: Literal["NumberPool"]
    spec: NumberPoolSpec


class WebhookSubscriptionDoc(SpecDocument):
    KIND: ClassVar[str] = "WebhookSubscription"
    kind: Literal["WebhookSubscription"]
    spec: WebhookSubscriptionSpec


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
