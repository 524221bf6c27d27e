"""The status page's routes, on the daemon's listener: server-rendered HTML (Jinja2, autoescaped), no
script at all, no resource from another origin — it works offline and behind any proxy.

Access takes a platform API token (`senderctl tokens create`, any role): `Authorization: Bearer`, or
the page's own login form, which sets the `senderctl_token` cookie (HttpOnly, SameSite=Strict, Secure
over HTTPS). Without a valid token the page shows the login form and no data; a token sees its own
organization only (and one workspace, for a token limited to one). Filters are query parameters, so a
filtered view is a link someone can be sent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import parse_qs, urlencode

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from controller.api.tokens import Principal, authenticate
from controller.statuspage.model import CONDITIONS, STATUSES, Estate, Query, select_page

COOKIE = "senderctl_token"
MAX_TOKEN_CHARS = 200
MAX_FORM_BYTES = 4096
HEADERS = {
    # Nothing but this page's own inline styles: no script, no frame, no other origin.
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; "
                               "frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


class Source(Protocol):
    """What the daemon gives the page."""

    store: Any
    role: str

    def estate(self) -> Estate: ...  # may read the state: called in a worker thread
    def reconciles(self) -> list[dict[str, Any]]: ...
    def notifications(self) -> list[dict[str, Any]]: ...


@dataclass(frozen=True)
class Viewer:
    principal: Principal
    via_cookie: bool


def environment() -> Environment:
    env = Environment(loader=PackageLoader("controller.statuspage", "templates"),
                      autoescape=select_autoescape(default=True, default_for_string=True), trim_blocks=True,
                      lstrip_blocks=True)
    env.globals.update(STATUSES=STATUSES, CONDITIONS=tuple(CONDITIONS))
    env.filters["when"] = when
    return env


def when(value: Any) -> str:
    """A date as the page shows it: UTC, to the second."""
    if value is None or value == "":
        return "—"
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return str(value).replace("T", " ")[:19] + (" UTC" if str(value).endswith(("Z", "+00:00")) else "")


def routes(source: Source, now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> list[Route]:
    env = environment()

    def page(template: str, status: int = 200, **context: Any) -> HTMLResponse:
        html = env.get_template(template).render(role=source.role, **context)
        return HTMLResponse(html, status_code=status, headers=HEADERS)

    async def viewer(request: Request) -> Viewer | str | None:
        """The token's principal; a reason it was refused; None when no token was given."""
        header = request.headers.get("authorization", "")
        token, via_cookie = "", False
        if header.lower().startswith("bearer "):
            token = header[7:].strip()
        elif request.cookies.get(COOKIE):
            token, via_cookie = request.cookies[COOKIE], True
        if not token:
            return None
        if len(token) > MAX_TOKEN_CHARS:
            return "that is not a senderctl token"
        found = await asyncio.to_thread(authenticate, source.store, token, now())
        return Viewer(found, via_cookie) if isinstance(found, Principal) else found

    def login_page(reason: str = "", status: int = 401, next_url: str = "/ui") -> HTMLResponse:
        response = page("login.html", status, reason=reason, next_url=safe_next(next_url))
        if reason:
            response.delete_cookie(COOKIE, path="/ui")
        return response

    async def overview(request: Request) -> Response:
        who = await viewer(request)
        if not isinstance(who, Viewer):
            return login_page(who or "", next_url=request.url.path + ("?" + request.url.query if request.url.query else ""))
        estate = (await asyncio.to_thread(source.estate)).visible_to(who.principal.organization, who.principal.workspace)
        query, problems = Query.parse(dict(request.query_params))
        if not problems and any(not value for value in request.query_params.values()):
            # The filter form sends its empty fields too: answer with the view's short, shareable link.
            return RedirectResponse("/ui?" + urlencode(query.params()) if query.params() else "/ui", 303,
                                    headers=HEADERS)
        selected = select_page(estate.rows, query)
        return page("overview.html", estate=estate, query=query, problems=problems, selected=selected,
                    viewer=who, kinds=sorted({r.kind for r in estate.rows}),
                    workspaces=sorted({r.workspace for r in estate.rows if r.workspace}),
                    link=lambda **change: "/ui?" + urlencode(query.params(**change)),
                    reconciles=source.reconciles(), notifications=visible_notes(source.notifications(), estate))

    async def brand(request: Request) -> Response:
        who = await viewer(request)
        if not isinstance(who, Viewer):
            return login_page(who or "", next_url=request.url.path)
        estate = (await asyncio.to_thread(source.estate)).visible_to(who.principal.organization, who.principal.workspace)
        timeline = estate.timelines.get(request.path_params["name"])
        if timeline is None:
            return page("missing.html", 404, viewer=who, what=f"Brand/{request.path_params['name']}",
                        brands=sorted(estate.timelines))
        return page("brand.html", timeline=timeline, estate=estate, viewer=who)

    async def login_form(request: Request) -> Response:
        return login_page(status=200, next_url=request.query_params.get("next", "/ui"))

    async def login(request: Request) -> Response:
        body = await request.body()
        if len(body) > MAX_FORM_BYTES:
            return login_page("the form is too large", 413)
        # A urlencoded form of two fields, read here (Starlette's form parser needs one more dependency).
        form = parse_qs(body.decode("utf-8", errors="replace"), max_num_fields=10)
        token = (form.get("token") or [""])[0].strip()
        next_url = safe_next((form.get("next") or ["/ui"])[0])
        if not token:
            return login_page("give a token (senderctl tokens create --org NAME --user EMAIL --role member)", 400)
        if len(token) > MAX_TOKEN_CHARS:
            return login_page("that is not a senderctl token")
        found = await asyncio.to_thread(authenticate, source.store, token, now())
        if not isinstance(found, Principal):
            return login_page(found)
        response = RedirectResponse(next_url, status_code=303, headers=HEADERS)
        response.set_cookie(COOKIE, token, httponly=True, samesite="strict", path="/ui",
                            secure=request.url.scheme == "https")
        return response

    async def logout(_: Request) -> Response:
        response = RedirectResponse("/ui/login", status_code=303, headers=HEADERS)
        response.delete_cookie(COOKIE, path="/ui")
        return response

    return [
        Route("/ui", overview, methods=["GET"]),
        Route("/ui/", overview, methods=["GET"]),
        Route("/ui/brands/{name}", brand, methods=["GET"]),
        Route("/ui/login", login_form, methods=["GET"]),
        Route("/ui/login", login, methods=["POST"]),
        Route("/ui/logout", logout, methods=["POST"]),
    ]


def safe_next(target: str) -> str:
    """Where a login returns to: a page of /ui on this daemon, never another site."""
    return target if target.startswith("/ui") and "//" not in target and "\\" not in target else "/ui"


def visible_notes(notes: list[dict[str, Any]], estate: Estate) -> list[dict[str, Any]]:
    """Notifications about this viewer's resources (and those about no resource, e.g. a refused plan)."""
    mine = {r.address for r in estate.rows}
    return [n for n in notes if not n.get("address") or n["address"] in mine]
