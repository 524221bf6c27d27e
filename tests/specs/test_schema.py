"""`senderctl schema`: a draft 2020-12 JSON Schema that accepts every example and rejects bad documents."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from specs.schema import SCHEMA_FILE, json_schema

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_FILES = sorted([*(ROOT / "examples" / "quickstart").glob("*.yaml"),
                        *(ROOT / "examples" / "multi-org").glob("*.yaml")])
COMMITTED_SCHEMA = ROOT / "specs" / SCHEMA_FILE


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


def _documents(path: Path) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]


def test_schema_command_prints_the_schema() -> None:
    run = subprocess.run([sys.executable, "-m", "cli", "schema"], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    printed = json.loads(run.stdout)
    assert printed["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert printed == json_schema()


def test_committed_schema_file_is_current() -> None:
    """Editors and the examples' `$schema=` comments read the committed copy; regenerate with
    `senderctl schema > specs/senderctl-v1.schema.json`."""
    assert json.loads(COMMITTED_SCHEMA.read_text()) == json_schema()


def test_schema_carries_descriptions_and_bird_limits() -> None:
    defs = json_schema()["$defs"]
    campaign = defs["CampaignSpec"]["properties"]
    assert campaign["description"]["minLength"] == 40 and campaign["description"]["maxLength"] == 4096
    assert campaign["messageFlow"]["minLength"] == 40 and campaign["messageFlow"]["maxLength"] == 2048
    assert campaign["helpMessage"]["minLength"] == 20 and campaign["helpMessage"]["maxLength"] == 255
    assert campaign["samples"]["minItems"] == 1 and campaign["samples"]["maxItems"] == 5
    brand = defs["BrandSpec"]["properties"]
    assert brand["displayName"]["maxLength"] == 255 and brand["ein"]["maxLength"] == 21
    assert brand["entityType"]["description"]
    assert defs["BrandSpec"]["additionalProperties"] is False


def test_every_model_and_field_is_described() -> None:
    """Editors show these descriptions on hover and completion."""
    undescribed = [f"{name}.{field}" for name, model in json_schema()["$defs"].items()
                   for field, prop in model.get("properties", {}).items() if not prop.get("description")]
    undescribed += [name for name, model in json_schema()["$defs"].items() if not model.get("description")]
    assert undescribed == []


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_schema_accepts_every_example_document(validator: jsonschema.Draft202012Validator, path: Path) -> None:
    for doc in _documents(path):
        errors = [e.message for e in validator.iter_errors(doc)]
        assert errors == [], (doc["kind"], doc["metadata"]["name"])


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_example_names_the_schema_for_editors(path: Path) -> None:
    first = path.read_text().splitlines()[0]
    assert first.startswith("# yaml-language-server: $schema=")
    target = (path.parent / first.split("$schema=", 1)[1]).resolve()
    assert target == COMMITTED_SCHEMA.resolve()


def test_check_jsonschema_accepts_the_examples(tmp_path: Path) -> None:
    """The same check CI could run with an off-the-shelf tool (which reads one document per file)."""
    instances = []
    for path in EXAMPLE_FILES:
        for index, doc in enumerate(_documents(path)):
            instance = tmp_path / f"{path.parent.name}-{path.stem}-{index}.json"
            instance.write_text(json.dumps(doc))
            instances.append(str(instance))
    run = subprocess.run([sys.executable, "-m", "check_jsonschema", "--schemafile", str(COMMITTED_SCHEMA),
                          *instances], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(BAD_DOCUMENTS[0]))
    rejected = subprocess.run([sys.executable, "-m", "check_jsonschema", "--schemafile", str(COMMITTED_SCHEMA),
                               str(bad)], capture_output=True, text=True)
    assert rejected.returncode == 1


BAD_DOCUMENTS = [
    {"apiVersion": "senderctl/v1", "kind": "Workspace", "metadata": {"name": "w"},
     "spec": {"organization": "o", "birdWorkspaceId": "22222222-2222-4222-8222-222222222222", "extra": 1}},
    {"apiVersion": "senderctl/v1", "kind": "Campaign", "metadata": {"name": "c"}, "spec": {"brand": "b"}},
    {"apiVersion": "senderctl/v2", "kind": "Workspace", "metadata": {"name": "w"},
     "spec": {"organization": "o", "birdWorkspaceId": "22222222-2222-4222-8222-222222222222"}},
    {"apiVersion": "senderctl/v1", "kind": "Gadget", "metadata": {"name": "g"}, "spec": {}},
    {"apiVersion": "senderctl/v1", "kind": "PhoneNumber", "metadata": {"name": "Bad_Name"},
     "spec": {"workspace": "w", "number": "+14155550100"}},
    {"apiVersion": "senderctl/v1", "kind": "NumberPool", "metadata": {"name": "p"},
     "spec": {"workspace": "w", "count": 0}},
    {"apiVersion": "senderctl/v1", "kind": "WebhookSubscription", "metadata": {"name": "h"},
     "spec": {"workspace": "w", "service": "channels", "event": "sms.inbound", "url": "https://x.example",
              "signingKey": "inline"}},
    {"apiVersion": "senderctl/v1", "kind": "WebhookSubscription", "metadata": {"name": "both-keys"},
     "spec": {"workspace": "w", "service": "channels", "event": "sms.inbound", "url": "https://x.example",
              "signingKey": {"fromEnv": "A", "fromFile": "b"}}},
    {"apiVersion": "senderctl/v1", "kind": "PhoneNumber", "metadata": {"name": "both"},
     "spec": {"workspace": "w", "number": "+14155550100", "select": {"country": "US"}}},
    {"apiVersion": "senderctl/v1", "kind": "PhoneNumber", "metadata": {"name": "neither"}, "spec": {"workspace": "w"}},
    {"apiVersion": "senderctl/v1", "kind": "Brand", "metadata": {"name": "public"},
     "spec": {"workspace": "w", "entityType": "PUBLIC_PROFIT", "displayName": "A", "companyName": "A",
              "ein": "123456789", "einIssuingCountry": "US", "phone": "+12025550143", "street": "1 Main St",
              "city": "NYC", "state": "NY", "postalCode": "10001", "country": "US", "email": "a@a.example",
              "website": "https://a.example"}},
]


@pytest.mark.parametrize("doc", BAD_DOCUMENTS, ids=lambda d: f"{d['kind']}-{d['metadata']['name']}")
def test_schema_rejects_bad_documents(validator: jsonschema.Draft202012Validator, doc: dict) -> None:
    assert list(validator.iter_errors(doc)) != []
