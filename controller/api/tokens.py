"""Platform API tokens: random, shown once, stored only as SHA-256 hashes.

A token is `sct_` + 43 URL-safe characters (256 random bits): high entropy, so an unsalted SHA-256
is enough to store it (nobody can brute-force the preimage), and the lookup is one indexed equality.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from controller.state import StateStore, tenant_repo
from controller.state import api_repo as repo
from controller.state.records import utcnow
from controller.state.tables import ApiTokenRow

TOKEN_PREFIX = "sct_"
ROLES = ("admin", "member")
SCOPES = ("phones:read", "phones:write", "phones:admin")
DEFAULT_SCOPES = {"member": ("phones:read",), "admin": SCOPES}


class TokenError(Exception):
    """The token cannot be made, found or revoked; the message says why."""


@dataclass(frozen=True)
class Principal:
    """Who calls: what a valid token stands for."""

    token_id: str
    organization: str
    user: str
    role: str
    scopes: frozenset[str]
    workspace: str | None


@dataclass(frozen=True)
class TokenInfo:
    id: str
    organization: str
    user: str
    role: str
    scopes: tuple[str, ...]
    workspace: str | None
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None

    def status(self, now: datetime) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"

    def to_json(self, now: datetime) -> dict[str, object]:
        return {"id": self.id, "organization": self.organization, "user": self.user, "role": self.role,
                "scopes": list(self.scopes), "workspace": self.workspace, "prefix": self.prefix,
                "createdAt": self.created_at, "expiresAt": self.expires_at, "revokedAt": self.revoked_at,
                "status": self.status(now)}


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def parse_scopes(text: str | None, role: str) -> tuple[str, ...]:
    if role not in ROLES:
        raise TokenError(f"role {role!r}: use admin or member")
    if text is None or not text.strip():
        return DEFAULT_SCOPES[role]
    wanted = [s.strip() for s in text.split(",") if s.strip()]
    unknown = [s for s in wanted if s not in SCOPES]
    if unknown:
        raise TokenError(f"unknown scope {', '.join(unknown)}: use any of {', '.join(SCOPES)} (comma-separated)")
    return tuple(s for s in SCOPES if s in wanted)


def create_token(store: StateStore, *, org: str, user: str, role: str, scopes: tuple[str, ...],
                 workspace: str | None, expires_in: float | None, workspaces: dict[str, str]) -> tuple[TokenInfo, str]:
    """(what was stored, the token itself). `workspaces`: the organization's workspace names -> ids."""
    user = user.strip().lower()  # one user, one identity: e-mail addresses are compared without case
    if "@" not in user or len(user) > 320 or any(c.isspace() for c in user):
        raise TokenError(f"--user {user!r}: give the user's e-mail address, e.g. alice@acme.example")
    if workspace is not None and workspace not in workspaces:
        known = ", ".join(sorted(workspaces)) or "none recorded yet: apply the specs first"
        raise TokenError(f"--workspace {workspace!r} is not a workspace of organization {org} (known: {known})")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    row = ApiTokenRow(id="tok_" + secrets.token_hex(8), organization=org, user=user, role=role,
                      scopes=",".join(scopes), workspace=workspace, token_hash=hash_token(secret),
                      prefix=secret[:10], created_at=now,
                      expires_at=now + timedelta(seconds=expires_in) if expires_in else None)
    with store.transaction() as tx:
        if tenant_repo.org_config(tx, org) is None:
            known = ", ".join(c.name for c in tenant_repo.org_configs(tx)) or "none yet"
            raise TokenError(f"organization {org!r} is not in the state (known: {known}): apply the specs with its "
                             "Organization document first, or check --state")
        repo.add_token(tx, row)
    return info(row), secret


def list_tokens(store: StateStore, org: str) -> list[TokenInfo]:
    with store.transaction() as tx:
        return [info(r) for r in repo.tokens(tx, org)]


def revoke_token(store: StateStore, token_id: str) -> TokenInfo:
    """Revoke (idempotent: revoking twice keeps the first time)."""
    with store.transaction() as tx:
        row = repo.token(tx, token_id)
        if row is None:
            raise TokenError(f"no token with id {token_id!r}; `senderctl tokens list --org NAME` shows the ids")
        if row.revoked_at is None:
            row.revoked_at = utcnow()
            tx.add(row)
        return info(row)


def authenticate(store: StateStore, token: str, now: datetime) -> Principal | str:
    """The principal, or why the token is refused (the token itself is never part of the reason)."""
    with store.transaction() as tx:
        row = repo.token_by_hash(tx, hash_token(token))
    if row is None:
        return "unknown token"
    if row.revoked_at is not None:
        return f"token {row.id} was revoked"
    if row.expires_at is not None and row.expires_at <= now:
        return f"token {row.id} expired at {row.expires_at.isoformat(timespec='seconds')}"
    return Principal(token_id=row.id, organization=row.organization, user=row.user, role=row.role,
                     scopes=frozenset(s for s in row.scopes.split(",") if s), workspace=row.workspace)


def info(row: ApiTokenRow) -> TokenInfo:
    return TokenInfo(id=row.id, organization=row.organization, user=row.user, role=row.role,
                     scopes=tuple(s for s in row.scopes.split(",") if s), workspace=row.workspace, prefix=row.prefix,
                     created_at=row.created_at, expires_at=row.expires_at, revoked_at=row.revoked_at)
