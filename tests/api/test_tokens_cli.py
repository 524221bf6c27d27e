"""`senderctl tokens create|list|revoke` on a state database (no Bird needed)."""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from pathlib import Path

import pytest

from tests.api.conftest import senderctl


@pytest.fixture
def state_url(tmp_path: Path) -> str:
    from controller import tenant
    from controller.state import ResourceRecord, StateStore

    url = f"sqlite:///{tmp_path / 'state.db'}"
    with StateStore.open(url) as store:
        tenant.sync_org_config(store, "acme", bird_organization_id="11111111-1111-4111-8111-111111111111",
                               enabled=True, limit=5, weekly_price=Decimal("2.99"))
        store.save_record(ResourceRecord(address="Workspace/acme-main", kind="Workspace",
                                         bird_id="22222222-2222-4222-8222-222222222222",
                                         data={"organizationId": "11111111-1111-4111-8111-111111111111"}))
    return url


def test_create_prints_the_token_once_and_stores_only_its_hash(state_url: str) -> None:
    made = senderctl("tokens", "create", "--org", "acme", "--user", "alice@acme.example", "--role", "member",
                     state_url=state_url)
    token = made.stdout.strip()
    assert made.stdout == token + "\n" and token.startswith("sct_") and len(token) >= 40
    assert token not in made.stderr and "shown once" in made.stderr
    as_json = json.loads(senderctl("tokens", "create", "--org", "acme", "--user", "ops@acme.example", "--role",
                                   "admin", "--workspace", "acme-main", "--expires", "30d", "-o", "json",
                                   state_url=state_url).stdout)
    assert as_json["token"].startswith("sct_") and as_json["id"].startswith("tok_")
    assert as_json["scopes"] == ["phones:read", "phones:write", "phones:admin"]
    assert as_json["workspace"] == "acme-main" and as_json["expiresAt"]

    listed = senderctl("tokens", "list", "--org", "acme", "-o", "json", state_url=state_url).stdout
    assert token not in listed and as_json["token"] not in listed
    assert [t["scopes"] for t in json.loads(listed)] == [["phones:read"], ["phones:read", "phones:write",
                                                                          "phones:admin"]]
    database = Path(state_url.removeprefix("sqlite:///"))
    stored = database.read_bytes() + (database.with_name("state.db-wal").read_bytes()
                                      if database.with_name("state.db-wal").exists() else b"")
    assert token.encode() not in stored and hashlib.sha256(token.encode()).hexdigest().encode() in stored

    revoked = senderctl("tokens", "revoke", as_json["id"], state_url=state_url)
    assert revoked.returncode == 0 and as_json["id"] in revoked.stdout
    text = senderctl("tokens", "list", "--org", "acme", state_url=state_url).stdout
    assert "revoked" in text and "active" in text


@pytest.mark.parametrize(("args", "code", "says"), [
    (("--org", "nope", "--user", "a@b.example", "--role", "member"), 1, "organization 'nope' is not in the state"),
    (("--org", "acme", "--user", "a@b.example", "--role", "member", "--scopes", "phones:everything"), 1,
     "unknown scope phones:everything"),
    (("--org", "acme", "--user", "a@b.example", "--role", "member", "--workspace", "other"), 1,
     "--workspace 'other' is not a workspace of organization acme"),
    (("--org", "acme", "--user", "not-an-email", "--role", "member"), 1, "e-mail address"),
    (("--org", "acme", "--user", "a@b.example", "--role", "owner"), 2, "Invalid value for '--role'"),
    (("--org", "acme", "--user", "a@b.example", "--role", "admin", "--expires", "soon"), 2, "not a duration"),
    (("--org", "acme", "--user", "a@b.example", "--role", "admin", "--expires", "100000000d"), 2,
     "is more than 3650d (ten years)"),
    (("--org", "acme", "--user", "a@b.example", "--role", "admin", "--expires", "99999999999999999999w"), 2,
     "is more than 3650d (ten years)"),
])
def test_create_refuses_with_one_clear_line(state_url: str, args: tuple[str, ...], code: int, says: str) -> None:
    done = senderctl("tokens", "create", *args, state_url=state_url, check=False)
    assert done.returncode == code and says in done.stderr and "Traceback" not in done.stderr
    assert done.stdout == ""


def test_revoking_an_unknown_token_is_an_error(state_url: str) -> None:
    done = senderctl("tokens", "revoke", "tok_nope", state_url=state_url, check=False)
    assert done.returncode == 1 and "no token with id 'tok_nope'" in done.stderr
