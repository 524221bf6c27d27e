"""The JSON Schema of the plan JSON (`senderctl schema --plan`), the input policies are written against.

Versioned by `format_version`: a field is only ever added within a version (objects stay open to new
properties, so a policy written today keeps working when a later senderctl adds one); a field that
changes meaning or goes away makes a new version, with a new schema `$id`.
"""

from __future__ import annotations

import json
from typing import Any

from controller.reconcile.plan import ACTIONS, FORMAT_VERSION

SCHEMA_ID = f"https://senderctl.dev/schemas/plan-v{FORMAT_VERSION}.json"
MONEY = {"type": "string", "pattern": r"^-?\d+(\.\d+)?$", "description": "A decimal amount, e.g. \"2.99\"."}
ADDRESS = {"type": "string", "pattern": r"^[A-Za-z]+/.+$", "description": "Kind/name, e.g. PhoneNumber/alice-line."}


def _entry(description: str, **extra: Any) -> dict[str, Any]:
    return {"type": "object", "description": description, "required": ["address", "reason"],
            "properties": {"address": ADDRESS, "reason": {"type": "string"}, **extra}}


COST = {
    "type": "object",
    "description": "What a change costs, in `currency`; zero amounts are \"0\".",
    "required": ["currency", "monthly", "weekly", "one_time"],
    "properties": {"currency": {"type": "string", "minLength": 3, "maxLength": 3}, "monthly": MONEY,
                   "weekly": MONEY, "one_time": MONEY},
}

CHANGE = {
    "type": "object",
    "required": ["address", "action", "reason", "before", "after", "cost"],
    "properties": {
        "address": ADDRESS,
        "action": {"enum": list(ACTIONS)},
        "reason": {"type": "string", "description": "Why the change is needed, for the reviewer."},
        "before": {"type": ["object", "null"], "description": "What Bird or the state holds now (null: nothing)."},
        "after": {"type": ["object", "null"], "description": "What the change makes it (null: removed)."},
        "fields": {"type": "array", "items": {
            "type": "object", "required": ["path"],
            "properties": {"path": {"type": "string"}, "before": {}, "after": {},
                           "immutable": {"type": "boolean", "description": "Bird cannot change it in place."}}}},
        "cost": COST,
        "drift": {"type": "boolean", "description": "The difference was made on Bird outside senderctl."},
        "payload": {"type": "object", "description": "What apply needs to carry the change out (no secrets)."},
    },
}

RESOURCE = {
    "type": "object",
    "required": ["document", "labels", "depends_on"],
    "properties": {
        "document": {**ADDRESS, "description": "The spec document that declares it (a Channel's PhoneNumber, ...)."},
        "labels": {"type": "object", "additionalProperties": {"type": "string"},
                   "description": "The document's metadata.labels, e.g. an approval label policies look for."},
        "depends_on": {"type": "array", "items": ADDRESS, "description": "What it waits on."},
    },
}


def plan_schema() -> dict[str, Any]:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": f"senderctl plan, format_version {FORMAT_VERSION}",
        "description": "What `senderctl plan -o json` prints and `--out` saves; the input of `--policy` "
                       "(Rego: `input.changes`, `input.resources[address].labels`, ...). Fields are only "
                       "added within a format_version.",
        "type": "object",
        "required": ["format_version", "fingerprint", "changes", "waiting", "refusals", "failed", "summary",
                     "total_cost"],
        "properties": {
            "format_version": {"const": FORMAT_VERSION},
            "fingerprint": {"type": "string", "description": "Hash of the specs and the observed world."},
            "specs_fingerprint": {"type": "string"},
            "changes": {"type": "array", "items": CHANGE, "description": "In the order apply carries them out."},
            "waiting": {"type": "array", "items": _entry("Waiting on Bird or on another resource: not an error.")},
            "refusals": {"type": "array", "items": _entry(
                "A change apply will not carry out as is.",
                flag={"type": ["string", "null"], "description": "The apply flag that lifts it; null: none does."})},
            "failed": {"type": "array", "items": _entry("Cannot converge without a human.")},
            "forget": {"type": "array", "items": ADDRESS, "description": "Removed from the state only."},
            "keeps": {"type": "object", "additionalProperties": {"type": "string"},
                      "description": "What stays on Bird (and billed) for each forgotten address."},
            "paused": {"type": "array", "items": ADDRESS},
            "out_of_scope": {"type": "array", "items": _entry("Left alone by a --target / --org plan.")},
            "scope": {"type": "object", "properties": {
                "targets": {"type": "array", "items": {"type": "string"}},
                "orgs": {"type": "array", "items": {"type": "string"}}}},
            "summary": {"type": "object", "additionalProperties": {"type": "integer", "minimum": 0},
                        "description": "Changes per action."},
            "total_cost": COST,
            "resources": {"type": "object", "additionalProperties": RESOURCE,
                          "description": "Address -> its document, labels and dependencies, for every address "
                                         "the plan names that the specs declare."},
            "paths": {"type": "array", "items": {"type": "string"},
                      "description": "The spec paths a saved plan was computed from (--out files)."},
        },
    }


def run_plan_schema() -> int:
    print(json.dumps(plan_schema(), indent=2))
    return 0
