"""Resolve secret references carried as plain data (plans, desired resources) at the last moment.

The rules live with the spec language (specs.SecretRef); plans, journals and the state database
keep only the reference (and, for signing keys, a keyed digest), never the value.

The signing-key digests are HMAC-SHA256 under a secret that is never in the state: SENDERCTL_DIGEST_KEY,
else the file SENDERCTL_DIGEST_KEY_FILE names, else $XDG_CONFIG_HOME/senderctl/digest.key (made once,
mode 0600, 256 random bits). Every machine that applies to one state (CI, the daemon's replicas) should
share it; with another secret a key looks changed and is written to Bird again (harmless, then stable).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from specs import SecretMissing, SecretRef

__all__ = ["SecretMissing", "digest_secret", "resolve_secret", "upgrade_signing_key_digests"]

DIGEST_KEY_ENV = "SENDERCTL_DIGEST_KEY"
DIGEST_KEY_FILE_ENV = "SENDERCTL_DIGEST_KEY_FILE"


class DigestKeyError(Exception):
    """The digest secret's file cannot be read or made; the message says which and why."""


def digest_secret(environ: Mapping[str, str] | None = None) -> bytes:
    env = os.environ if environ is None else environ
    value = env.get(DIGEST_KEY_ENV, "").strip()
    if value:
        return value.encode()
    path = Path(env.get(DIGEST_KEY_FILE_ENV) or default_key_file(env))
    try:
        return read_or_create(path)
    except OSError as exc:
        raise DigestKeyError(f"the signing-key digest secret {path} cannot be read or made ({exc.strerror}): set "
                             f"{DIGEST_KEY_ENV}, or {DIGEST_KEY_FILE_ENV} to a readable file") from None


def default_key_file(env: Mapping[str, str]) -> Path:
    config = env.get("XDG_CONFIG_HOME") or str(Path(env.get("HOME") or Path.home()) / ".config")
    return Path(config) / "senderctl" / "digest.key"


def read_or_create(path: Path) -> bytes:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process made it first: read theirs
        else:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(32) + "\n")
    value = path.read_text().strip()
    if not value:
        raise DigestKeyError(f"the signing-key digest secret {path} is empty: remove it (a new one is made) or fill it")
    return value.encode()


def upgrade_signing_key_digests(store: Any, environ: Mapping[str, str] | None = None) -> int:
    """The state migration of signing-key digests: every legacy digest (salted SHA-256) becomes the
    keyed digest of itself, in place and without any key. Idempotent; the number upgraded."""
    from controller.resources.common import KEYED_DIGEST_PREFIX, keyed_digest
    from controller.state import api_repo
    from controller.state.records import utcnow

    with store.transaction() as tx:
        rows = [r for r in api_repo.records_of_kinds(tx, ["WebhookSubscription"])
                if (r.data or {}).get("signingKeyDigest") and
                not str(r.data["signingKeyDigest"]).startswith(KEYED_DIGEST_PREFIX)]
        if not rows:
            return 0
        secret = digest_secret(environ)
        for row in rows:
            row.data = {**row.data, "signingKeyDigest": keyed_digest(secret, str(row.data["signingKeyDigest"]))}
            row.updated_at = utcnow()  # a changed record has a new version (the state's record_rows cache)
            tx.add(row)
    return len(rows)


def resolve_secret(ref: Mapping[str, str], base_dir: str = ".", environ: Mapping[str, str] | None = None) -> str:
    return SecretRef.model_validate(dict(ref)).resolve(base_dir, environ)
