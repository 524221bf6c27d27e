"""Who may call which platform API route, and how large its body may be: one table, read by the
ASGI guard (controller/api/guard.py) before anything else runs, by the handlers' own checks, and by
/openapi.json (each operation's description and its `x-senderctl-access`).

The rule: reads need `phones:read`; anything that writes (and a purchase, which is paid) needs
`phones:write`; an assignment also needs the admin role; archiving needs `phones:admin`.
Bodies: a route that takes a JSON body takes at most JSON_BODY_CAP bytes; a route without one, none.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

READ, WRITE, ADMIN_SCOPE = "phones:read", "phones:write", "phones:admin"
# The largest request body of the API is a few hundred bytes (an e-mail address, a label of 200
# characters): 4 KiB leaves room for any client's formatting, and a flood of them stays small.
JSON_BODY_CAP = 4096
NO_BODY = 0
SEED_000 = "/v1/sms/phone-numbers"
SEED_002 = "/api/v2/w/{workspace_uuid}/phone-numbers"
# Paths the API answers under: a path here that no route matches is the API's 404 (no body read).
API_PREFIXES = ("/v1/", "/api/")


@dataclass(frozen=True)
class Access:
    scopes: tuple[str, ...]
    role: str | None = None
    body_cap: int = NO_BODY

    def text(self) -> str:
        who = f"role {self.role} and " if self.role else "any role with "
        body = f"a JSON body of at most {self.body_cap} bytes" if self.body_cap else "no body"
        return f"Needs {who}scope {' and '.join(self.scopes)}; takes {body}."


RULES: dict[tuple[str, str], Access] = {
    ("GET", SEED_000): Access((READ,)),
    ("GET", SEED_000 + "/available"): Access((READ,)),
    ("GET", SEED_000 + "/my-number"): Access((READ,)),
    ("GET", SEED_000 + "/config"): Access((READ,)),
    ("POST", SEED_000 + "/purchase"): Access((WRITE,), body_cap=JSON_BODY_CAP),
    ("POST", SEED_000 + "/{phone}/assign"): Access((WRITE,), role="admin", body_cap=JSON_BODY_CAP),
    ("DELETE", SEED_000 + "/{phone}/assign"): Access((WRITE,), role="admin"),
    ("GET", SEED_002): Access((READ,)),
    ("POST", SEED_002): Access((WRITE,), body_cap=JSON_BODY_CAP),
    ("GET", SEED_002 + "/linkable-phones"): Access((WRITE,)),
    ("GET", SEED_002 + "/{phone_number_id}"): Access((READ,)),
    ("PUT", SEED_002 + "/{phone_number_id}"): Access((WRITE,), body_cap=JSON_BODY_CAP),
    ("POST", SEED_002 + "/{phone_number_id}/archive"): Access((ADMIN_SCOPE,)),
    ("GET", SEED_002 + "/{phone_number_id}/archive-blockers"): Access((ADMIN_SCOPE,)),
    ("POST", SEED_002 + "/{phone_number_id}/link"): Access((WRITE,), body_cap=JSON_BODY_CAP),
}
# Public: no token needed.
PUBLIC: dict[tuple[str, str], int] = {("GET", "/openapi.json"): NO_BODY}


@dataclass(frozen=True)
class Match:
    template: str
    allowed: tuple[str, ...]  # the methods the path takes (the Allow header of a 405)
    access: Access | None  # None: a public route
    body_cap: int


def _pattern(template: str) -> re.Pattern[str]:
    # A parameter is one path segment, as Starlette matches it.
    return re.compile("^" + re.sub(r"\\\{[a-z_]+\\\}", "[^/]+", re.escape(template)) + "$")


# Literal segments first: /linkable-phones is not a phone id.
_TEMPLATES = sorted({t for _, t in (*RULES, *PUBLIC)}, key=lambda t: (t.count("{"), -len(t)))
_COMPILED = [(t, _pattern(t)) for t in _TEMPLATES]


def match(method: str, path: str) -> Match | None:
    """The route a request goes to; None when no API route has that path. `allowed` always lists the
    path's methods; `access`/`body_cap` are the method's, or (None, 0) when the method is not allowed."""
    for template, pattern in _COMPILED:
        if not pattern.match(path):
            continue
        allowed = tuple(sorted({m for m, t in (*RULES, *PUBLIC) if t == template}))
        if (method, template) in PUBLIC:
            return Match(template, allowed, None, PUBLIC[(method, template)])
        access = RULES.get((method, template))
        return Match(template, allowed, access, access.body_cap if access else NO_BODY)
    return None
