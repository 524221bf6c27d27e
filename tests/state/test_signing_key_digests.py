"""Secrets at rest resist guessing: a signing key's stored digest is an HMAC under a secret kept outside
the state (SENDERCTL_DIGEST_KEY, or a file), and states holding the old salted SHA-256 digests are
upgraded in place, on a real SQLite file and a real PostgreSQL database."""

from __future__ import annotations

import stat
from pathlib import Path

from controller.reconcile.secrets import digest_secret, upgrade_signing_key_digests
from controller.resources.common import legacy_signing_key_digest, signing_key_digest
from controller.state import ResourceRecord, StateStore

ADDRESS, KEY = "WebhookSubscription/acme-inbound", "whsec-correct-horse"


def test_legacy_digests_become_keyed_in_place_and_only_the_secret_tells_a_guess(state_url: str) -> None:
    legacy = legacy_signing_key_digest(ADDRESS, KEY)
    store = StateStore.open(state_url)
    try:
        store.save_record(ResourceRecord(ADDRESS, "WebhookSubscription", bird_id="sub-1",
                                         data={"organizationId": "o", "workspaceId": "w", "signingKeyDigest": legacy}))
        store.save_record(ResourceRecord("Brand/acme", "Brand", bird_id="b-1", data={"signingKeyDigest": legacy}))
        env = {"SENDERCTL_DIGEST_KEY": "a-secret-outside-the-state"}
        assert upgrade_signing_key_digests(store, env) == 1
        assert upgrade_signing_key_digests(store, env) == 0  # idempotent
        stored = store.record(ADDRESS).data["signingKeyDigest"]
        assert stored == signing_key_digest(ADDRESS, KEY, b"a-secret-outside-the-state")
        assert stored.startswith("hmac-sha256:") and legacy not in stored
        # A state dump alone no longer lets anyone test guesses: the public salt's digest of the right key
        # does not match, and neither does the keyed digest under any other secret.
        assert stored not in (legacy, signing_key_digest(ADDRESS, KEY, b"guessed-secret"))
        assert store.record("Brand/acme").data["signingKeyDigest"] == legacy  # other kinds untouched
    finally:
        store.close()


def test_the_secret_comes_from_the_environment_else_a_file_made_once_and_private(tmp_path: Path) -> None:
    assert digest_secret({"SENDERCTL_DIGEST_KEY": "from-env"}) == b"from-env"
    named = tmp_path / "keys" / "digest.key"
    first = digest_secret({"SENDERCTL_DIGEST_KEY_FILE": str(named)})
    assert len(first) == 64 and digest_secret({"SENDERCTL_DIGEST_KEY_FILE": str(named)}) == first
    assert stat.S_IMODE(named.stat().st_mode) == 0o600
    default = digest_secret({"XDG_CONFIG_HOME": str(tmp_path / "config")})
    assert (tmp_path / "config" / "senderctl" / "digest.key").read_text().strip().encode() == default != first
