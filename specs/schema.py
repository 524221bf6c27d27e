"""The JSON Schema (draft 2020-12) of the spec language, generated from the models.

Editors use it through yaml-language-server: each YAML document is checked against `oneOf` the kinds,
told apart by `kind`. Rules spanning several fields or documents are checked by `senderctl validate` only.
"""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from specs.models import AnyDocument

SCHEMA_ID = "urn:senderctl:spec:v1"
SCHEMA_FILE = "senderctl-v1.schema.json"  # committed copy next to this module, for editors and examples


def json_schema() -> dict[str, Any]:
    generated = TypeAdapter(AnyDocument).json_schema(mode="validation", ref_template="#/$defs/{model}")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "senderctl spec document (apiVersion senderctl/v1)",
        "description": "One YAML document of the senderctl spec language. Cross-document rules (references, "
                       "number limits, one number per user) are checked by `senderctl validate`.",
        **generated,
    }
