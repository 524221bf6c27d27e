"""The status page in process: a real Daemon object over ASGI, its real state (SQLite and PostgreSQL)
after a real apply of the quick start against the emulator. Access, what a token may see, filters and
pages as links, and user text that stays text."""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from controller.api.commands import org_workspaces
from controller.api.tokens import create_token, list_tokens, revoke_token
from controller.daemon.http import create_app
from controller.daemon.service import Daemon
from controller.reconcile import engine
from controller.reconcile.engine import Settings
from controller.state import Condition, tenant_repo
from tests.daemon.conftest import SIGNING_KEY, Emulator, quickstart_copy
from tests.daemon.test_http_app import make_daemon
from tests.support import ACCESS_KEY


@pytest.fixture
def daemon(emulator: Emulator, tmp_path: Path, state_url: str) -> Iterator[Daemon]:
    """The quick start applied once (brand registered, numbers waiting on 10DLC), and a daemon on that state."""
    specs = quickstart_copy(tmp_path / "specs", 8080)
    settings = Settings(state_url=state_url, bird_url=emulator.url, access_key=ACCESS_KEY,
                        environ={**os.environ, "SENDERCTL_DEMO_SIGNING_KEY": SIGNING_KEY})
    asyncio.run(engine.apply([str(specs)], settings))
    d = make_daemon(specs, state_url)
    asyncio.run(d.reload_specs("test"))
    yield d
    d.leadership.release()
    d.store.close()


def token_for(daemon: Daemon, org: str = "acme", workspace: str | None = None) -> str:
    _, secret = create_token(daemon.store, org=org, user="ops@acme.example", role="member", scopes=("phones:read",),
                             workspace=workspace, expires_in=None, workspaces=org_workspaces(daemon.store, org))
    return secret


def call(daemon: Daemon, method: str, path: str, **kw: object) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=create_app(daemon))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8080") as client:
            return await client.request(method, path, **kw)  # type: ignore[arg-type]

    return asyncio.run(go())


def get(daemon: Daemon, path: str, token: str | None = None, **kw: object) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return call(daemon, "GET", path, headers=headers, **kw)


def addresses(html: str) -> list[str]:
    return re.findall(r'<td class="addr">(?:<a [^>]*>)?([^<]+)', html)


def test_without_a_token_there_is_a_login_form_and_no_data(daemon: Daemon) -> None:
    for path in ("/ui", "/ui/brands/acme", "/ui?condition=failed"):
        response = get(daemon, path)
        assert response.status_code == 401
        assert 'name="token"' in response.text
        assert "Brand/acme" not in response.text and "data-org" not in response.text


def test_a_wrong_revoked_or_oversized_token_is_refused_with_the_reason(daemon: Daemon) -> None:
    response = get(daemon, "/ui", "sct_nope")
    assert response.status_code == 401 and "Refused: unknown token" in response.text
    token = token_for(daemon)
    info = revoke_token(daemon.store, list_tokens(daemon.store, "acme")[0].id)
    response = get(daemon, "/ui", token)
    assert response.status_code == 401 and f"token {info.id} was revoked" in response.text
    assert token not in response.text
    assert get(daemon, "/ui", "x" * 5000).status_code == 401


def test_a_token_sees_its_estate_on_a_page_with_no_script_and_no_other_origin(daemon: Daemon) -> None:
    response = get(daemon, "/ui", token_for(daemon))
    assert response.status_code == 200
    html = response.text
    assert 'data-org="acme"' in html and 'id="held-acme">1 of 5' in html
    assert "Campaign/acme-alerts" in addresses(html) and "Brand/acme" in addresses(html)
    assert "<script" not in html and not re.search(r'(src|href)="(https?:)?//', html)
    assert "default-src 'none'" in response.headers["content-security-policy"]
    assert response.headers["cache-control"] == "no-store"


def test_login_sets_an_httponly_strict_cookie_and_goes_back_where_asked(daemon: Daemon) -> None:
    token = token_for(daemon)
    response = call(daemon, "POST", "/ui/login", content=f"token={token}&next=/ui/brands/acme",
                    headers={"content-type": "application/x-www-form-urlencoded"})
    assert response.status_code == 303 and response.headers["location"] == "/ui/brands/acme"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"senderctl_token={token};")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/ui" in cookie
    page = call(daemon, "GET", "/ui/brands/acme", headers={"cookie": f"senderctl_token={token}"})
    assert page.status_code == 200 and 'id="timeline"' in page.text
    # Never sent to another site after login.
    elsewhere = call(daemon, "POST", "/ui/login", content=f"token={token}&next=//evil.example/ui",
                     headers={"content-type": "application/x-www-form-urlencoded"})
    assert elsewhere.headers["location"] == "/ui"
    wrong = call(daemon, "POST", "/ui/login", content="token=sct_nope",
                 headers={"content-type": "application/x-www-form-urlencoded"})
    assert wrong.status_code == 401 and "senderctl_token=sct" not in wrong.headers.get("set-cookie", "")


def test_filters_are_query_parameters_and_pages_are_links(daemon: Daemon) -> None:
    token = token_for(daemon)
    everything = addresses(get(daemon, "/ui?per_page=500", token).text)
    html = get(daemon, "/ui?condition=not-ready", token).text
    not_ready = addresses(html)
    assert not_ready and "PhoneNumber/alice-line" not in not_ready and "PhoneNumber/bob-line" in not_ready
    assert set(not_ready) < set(everything)
    assert addresses(get(daemon, "/ui?kind=PhoneNumber", token).text) == ["PhoneNumber/alice-line",
                                                                           "PhoneNumber/bob-line"]
    assert addresses(get(daemon, "/ui?q=bob", token).text) == [a for a in everything if "bob" in a]

    first = get(daemon, "/ui?per_page=5", token).text
    assert len(addresses(first)) == 5 and "page 1 of" in first
    assert 'href="/ui?page=2&amp;per_page=5"' in first
    second = get(daemon, "/ui?per_page=5&page=2", token).text
    assert addresses(second) == everything[5:10]
    last = get(daemon, "/ui?per_page=5&page=999", token).text  # past the end: the last page
    assert addresses(last) == everything[(len(everything) - 1) // 5 * 5:]

    # The filter form's empty fields: answered with the short link of the same view.
    response = get(daemon, "/ui?condition=waiting&kind=&workspace=&q=", token)
    assert response.status_code == 303 and response.headers["location"] == "/ui?condition=waiting"
    # A bad parameter is said on the page, and ignored.
    bad = get(daemon, "/ui?condition=broken&page=x", token).text
    assert "condition &#39;broken&#39; is not one of" in bad and "page &#39;x&#39; is not a number" in bad
    assert addresses(bad) == everything[:100]


def test_a_reason_from_bird_stays_text(daemon: Daemon) -> None:
    hostile = '<script>alert(1)</script><img src=x onerror=alert(2)> "quoted" & more'
    daemon.store.set_conditions([Condition("Campaign/acme-alerts", "Failed", hostile, datetime.now(UTC))])
    daemon._estate_generation += 1  # a reconcile would move it on
    html = get(daemon, "/ui?condition=failed", token_for(daemon)).text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;" in html
    assert "<script>" not in html and "<img" not in html


def test_a_token_sees_only_its_organization_and_workspace(daemon: Daemon) -> None:
    with daemon.store.transaction() as tx:
        tenant_repo.save_org_config(tx, {"name": "globex", "bird_organization_id": "33333333-3333-4333-8333-333333333333",
                                         "enabled": True, "number_limit": 3, "weekly_price": "2.99", "currency": "USD",
                                         "updated_at": datetime.now(UTC)})
    other = get(daemon, "/ui", token_for(daemon, "globex")).text
    assert addresses(other) == [] and "acme" not in other.split("<main>")[1].replace("acme.example", "")
    assert get(daemon, "/ui/brands/acme", token_for(daemon, "globex")).status_code == 404

    limited = get(daemon, "/ui?per_page=500", token_for(daemon, "acme", workspace="acme-main")).text
    assert "Organization/acme" not in addresses(limited) and "Brand/acme" in addresses(limited)


def test_a_standby_daemon_without_specs_shows_an_empty_estate(daemon: Daemon) -> None:
    daemon.view = None
    html = get(daemon, "/ui", token_for(daemon)).text
    assert "No resources of your organization" in html and addresses(html) == []
