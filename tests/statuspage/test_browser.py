"""The status page in a real browser: Debian's headless Chromium, driven by Playwright, against a real
`senderctl daemon` on the quick start and the emulator over real HTTP. The daemon converges the quick start
as Bird approves it (the emulator's webhooks); the test logs in with a token, filters to what is not
ready, opens the brand's 10DLC timeline, and asserts on the DOM. Screenshots are saved under build/ for a
person to look at.

No browser is downloaded: Chromium is Debian's package (tests/browser.py). Without it the test is skipped
with the reason, except in CI (SENDERCTL_REQUIRE_BROWSER=1), where that is a failure.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from tests.daemon.conftest import ROOT, SIGNING_KEY, Daemon, Emulator, free_port, quickstart_copy, wait_until

SCREENSHOTS = ROOT / "build" / "statuspage"
BRAND_REVIEW, CAMPAIGN_REVIEW, CARRIERS = 3600 + 60, 7 * 24 * 3600, 15 * 60 + 60
DEADLINE = 120  # seconds for the daemon to react to Bird's webhooks (a loaded CI machine is slow)


def make_token(state_url: str) -> str:
    run = subprocess.run([sys.executable, "-m", "cli", "tokens", "create", "--org", "acme", "--user",
                          "ops@acme.example", "--role", "member", "--state", state_url],
                         capture_output=True, text=True, cwd=str(ROOT), timeout=60)
    assert run.returncode == 0, run.stderr
    return run.stdout.strip()


def page_text(daemon: Daemon, token: str, path: str) -> str:
    try:
        response = daemon.http.get(path, headers={"Authorization": f"Bearer {token}"})
    except httpx.HTTPError:
        return ""
    return response.text if response.status_code == 200 else ""


def wait_for_page(daemon: Daemon, token: str, path: str, check: Callable[[str], bool], what: str) -> None:
    try:
        wait_until(lambda: check(page_text(daemon, token, path)), DEADLINE, what, interval=0.5)
    except AssertionError as exc:
        rows = re.findall(r'<td class="addr">(.*?)</td>.*?<td class="reason">(.*?)</td>',
                          page_text(daemon, token, "/ui?condition=not-ready"), re.S)
        raise AssertionError(f"{exc}; not ready: {rows}; daemon log:\n{daemon.text()[-4000:]}") from None


def shot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def test_status_page_in_a_real_browser(browser: Any, emulator: Emulator, daemons: Callable[..., Daemon],
                                      tmp_path: Path, sqlite_url: str) -> None:
    port = free_port()
    specs = quickstart_copy(tmp_path / "specs", port)
    # A short resync: a targeted reconcile (after a webhook) leaves the Organization's 10DLC flag to the next
    # full one.
    daemon = daemons(specs, sqlite_url, emulator.url, port=port, resync="15s")
    daemon.wait_healthy()
    daemon.wait_event("reconcile.done", timeout=DEADLINE)  # the Organization is in the state: tokens can name it
    token = make_token(sqlite_url)

    # Bird approves the brand: its webhook makes the daemon register the campaign, which then waits on review.
    emulator.advance(BRAND_REVIEW)
    wait_for_page(daemon, token, "/ui/brands/acme", lambda html: "PENDING" in html and "Vetting" in html,
                  "the campaign registered and waiting on Bird's review")

    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.goto(f"{daemon.url}/ui")
    # No token: the login form and no data at all.
    assert page.locator("h1").inner_text() == "Log in"
    assert page.locator("#organizations").count() == 0 and "acme" not in page.content()
    shot(page, "1-login")

    page.fill("#token", "sct_not-a-token")
    page.click("#login")
    assert "Refused: unknown token" in page.locator("#login-error").inner_text()

    page.fill("#token", token)
    page.click("#login")
    page.wait_for_selector("#organizations")
    card = page.locator(".org[data-org=acme]")
    assert "Organization acme" in card.inner_text()
    assert page.locator("#held-acme").inner_text() == "1 of 5"
    assert page.locator("#run-rate-acme").inner_text().endswith(" USD")
    assert page.locator("#counts-acme .pill.Waiting").inner_text().startswith("Waiting ")
    shot(page, "2-estate")

    # Filter to what is not ready: a link of its own, every row not Ready, the campaign among them.
    page.select_option("#condition", "not-ready")
    page.click("#apply-filters")
    page.wait_for_url("**/ui?condition=not-ready")
    statuses = page.locator("#resources tbody tr").evaluate_all("rows => rows.map(r => r.dataset.status)")
    assert statuses and "Ready" not in statuses
    addresses = page.locator("#resources tbody td.addr").all_inner_texts()
    assert "Campaign/acme-alerts" in addresses and "Brand/acme" not in addresses
    shot(page, "3-not-ready")

    # The brand's 10DLC timeline: brand and vetting done with Bird's dates, the campaign waiting on review.
    page.click("a.brand-link")
    page.wait_for_url("**/ui/brands/acme")
    steps = page.locator("#timeline > li")
    assert steps.evaluate_all("items => items.map(i => [i.dataset.address, i.className])") == [
        ["Brand/acme", "Ready"], ["Vetting/acme", "Ready"], ["Campaign/acme-alerts", "Waiting"],
        ["Channel/alice-line", "Waiting"]]
    brand_step = steps.nth(0).inner_text()
    assert "APPROVED" in brand_step and "Submitted" in brand_step and " UTC" in brand_step
    assert "awaiting carrier approval (PENDING)" in page.locator("#timeline-waits").inner_text()
    shot(page, "4-brand-timeline-waiting")

    # Bird approves the campaign, carriers acknowledge the numbers: the daemon converges, the page shows it.
    emulator.advance(CAMPAIGN_REVIEW)
    wait_for_page(daemon, token, "/ui/brands/acme",
                  lambda html: '<li class="Ready" data-address="Campaign/acme-alerts">' in html, "the campaign approved")
    emulator.advance(CARRIERS)
    wait_for_page(daemon, token, "/ui?condition=not-ready", lambda html: "No resource matches." in html,
                  "every resource Ready")
    page.reload()
    assert page.locator("#timeline-status").inner_text() == "Ready"
    assert "2 of 2 acknowledged" in page.locator("#timeline").inner_text()
    shot(page, "5-brand-timeline-ready")
    page.goto(f"{daemon.url}/ui")
    assert page.locator("#counts-acme .pill.Waiting").inner_text() == "Waiting 0"
    assert page.locator("#held-acme").inner_text() == "2 of 5"
    shot(page, "6-estate-converged")

    # Logging out ends the cookie: the page asks for a token again.
    page.click("header button")
    page.wait_for_url("**/ui/login")
    page.goto(f"{daemon.url}/ui")
    assert page.locator("h1").inner_text() == "Log in"
    assert SIGNING_KEY not in page.content()
