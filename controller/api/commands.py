"""`senderctl tokens create|list|revoke`: the platform API's tokens, in the state database.

The token is printed once, alone on its line (or as "token" in -o json); lists show its id and
first characters only. It is never logged or stored: only its SHA-256 is kept.
"""

from __future__ import annotations

import re

import click

from controller.api import tokens
from controller.api.directory import org_workspaces
from controller.state import StateError, StateStore
from controller.tenant.commands import EXIT_ERROR, EXIT_OK, fail, table, to_json

_DURATION = re.compile(r"^(\d+)([smhdw])$")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
# A token lives at most ten years: longer is "until revoked", which is what no --expires says, and a
# bound keeps the expiry a date the state (and Python) can hold.
MAX_EXPIRES_DAYS = 3650


def parse_expires(text: str | None) -> float | None:
    """`30d`, `12h`, `90m`, `2w` (or a combination: `1d12h`) -> seconds."""
    if text is None:
        return None
    value = text.strip().lower()
    parts = re.findall(r"(\d+)([smhdw])", value)
    if not parts or "".join(n + u for n, u in parts) != value:
        raise click.BadParameter(f"{text!r} is not a duration; write e.g. 30d, 12h, 90m or 2w")
    seconds = sum(int(n) * _UNIT[u] for n, u in parts)
    if seconds <= 0:
        raise click.BadParameter(f"{text!r}: the duration must be more than zero")
    if seconds > MAX_EXPIRES_DAYS * _UNIT["d"]:
        raise click.BadParameter(f"{text!r} is more than {MAX_EXPIRES_DAYS}d (ten years); give a shorter lifetime, "
                                 "or leave --expires out for a token that lasts until revoked")
    return float(seconds)


def _open(state_url: str) -> StateStore | int:
    try:
        return StateStore.open(state_url)
    except StateError as exc:
        return fail(str(exc))


def create(state_url: str, *, org: str, user: str, role: str, scopes: str | None, workspace: str | None,
           expires: float | None, output: str) -> int:
    try:
        wanted = tokens.parse_scopes(scopes, role)
    except tokens.TokenError as exc:
        return fail(str(exc))
    store = _open(state_url)
    if isinstance(store, int):
        return store
    try:
        made, secret = tokens.create_token(store, org=org, user=user, role=role, scopes=wanted, workspace=workspace,
                                           expires_in=expires, workspaces=org_workspaces(store, org))
        now = tokens.utcnow()
    except (tokens.TokenError, StateError) as exc:
        return fail(str(exc))
    finally:
        store.close()
    if output == "json":
        click.echo(to_json({**made.to_json(now), "token": secret}))
    else:
        click.echo(secret)
        click.echo(f"token {made.id} for {made.user} ({made.role}; {', '.join(made.scopes)}"
                   f"{'; workspace ' + made.workspace if made.workspace else ''}"
                   f"{'; expires ' + made.expires_at.isoformat(timespec='seconds') if made.expires_at else ''}): "
                   "shown once, store it now", err=True)
    return EXIT_OK


def list_(state_url: str, org: str, output: str) -> int:
    store = _open(state_url)
    if isinstance(store, int):
        return store
    try:
        found = tokens.list_tokens(store, org)
        now = tokens.utcnow()
    except StateError as exc:
        return fail(str(exc))
    finally:
        store.close()
    rows = [t.to_json(now) for t in found]
    if output == "json":
        click.echo(to_json(rows))
        return EXIT_OK
    shown = [{**r, "scopes": ",".join(r["scopes"]), "prefix": f"{r['prefix']}…",
              "expiresAt": r["expiresAt"].isoformat(timespec="seconds") if r["expiresAt"] else None} for r in rows]
    click.echo(table(shown, [("id", "id"), ("user", "user"), ("role", "role"), ("scopes", "scopes"),
                             ("workspace", "workspace"), ("prefix", "token"), ("status", "status"),
                             ("expiresAt", "expires")], f"organization {org} has no API tokens"))
    return EXIT_OK


def revoke(state_url: str, token_id: str, output: str) -> int:
    store = _open(state_url)
    if isinstance(store, int):
        return store
    try:
        done = tokens.revoke_token(store, token_id)
        now = tokens.utcnow()
    except (tokens.TokenError, StateError) as exc:
        return fail(str(exc))
    finally:
        store.close()
    click.echo(to_json(done.to_json(now)) if output == "json" else f"token {done.id} ({done.user}) revoked")
    return EXIT_OK if done else EXIT_ERROR
