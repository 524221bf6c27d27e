"""Authentication+ as a new user meets it: a PUBLIC_PROFIT brand with a gmail address is refused before
any fee; with a company address, `status` says the brand waits on the e-mail (masked address, the day it
was sent and the link's end), then Failed with Bird's reason once the link expired, or Ready once verified."""

from __future__ import annotations

import re
from pathlib import Path

from tests.cli.conftest import Senderctl
from tests.gitops.conftest import Bird

PRIVATE = "  entityType: PRIVATE_PROFIT\n"
PUBLIC = ("  entityType: PUBLIC_PROFIT\n  stockSymbol: ACME\n  stockExchange: NASDAQ\n"
          "  businessContactEmail: {contact}\n")
WEEK = 7 * 24 * 3600


def make_public(specs: Path, contact: str) -> None:
    brand = specs / "brand.yaml"
    text = brand.read_text()
    assert PRIVATE in text
    brand.write_text(text.replace(PRIVATE, PUBLIC.format(contact=contact)))


def brand_line(cli: Senderctl, specs: Path) -> tuple[int, str]:
    run = cli("status", str(specs))
    [line] = [text for text in run.out.splitlines() if text.startswith("Brand/acme")]
    return run.code, line


def test_a_gmail_business_contact_is_refused_before_any_fee(cli: Senderctl, bird: Bird, specs: Path) -> None:
    make_public(specs, "jane.doe@gmail.com")
    validated = cli("validate", str(specs))
    assert validated.code == 1 and "AUTHPLUS_FREE_MAIL" in validated.err, validated
    applied = cli("apply", str(specs), "--auto-approve")
    assert applied.code == 3 and "AUTHPLUS_FREE_MAIL" in applied.err, applied
    assert bird.state()["charges"] == [] and bird.writes() == {}


def test_status_tells_the_brand_waits_on_auth_plus_then_fails_when_the_link_expires(
        cli: Senderctl, bird: Bird, specs: Path) -> None:
    make_public(specs, "jane.doe@acme.example")
    assert cli("apply", str(specs), "--auto-approve").code == 0
    sent = bird.state()["clock"]["now"][:10]
    code, line = brand_line(cli, specs)
    assert code == 0
    match = re.fullmatch(r"Brand/acme: Waiting: Auth\+ e-mail sent to j\*\*\*@acme\.example on (\S+), link valid "
                         r"until (\S+) \S+ UTC; brand acme is PENDING", line)
    assert match, line
    assert match[1] == sent
    bird.advance(WEEK)
    code, line = brand_line(cli, specs)
    assert code == 1
    assert line.startswith("Brand/acme: Failed: Auth+ e-mail to j***@acme.example expired unanswered (AUTH_PLUS_EXPIRED: "
                           "Authentication+ verification was not completed"), line


def test_verified_the_brand_is_ready(cli: Senderctl, bird: Bird, specs: Path) -> None:
    make_public(specs, "jane.doe@acme.example")
    assert cli("apply", str(specs), "--auto-approve").code == 0
    bird.advance(3600 + 60)
    [brand] = bird.state()["brands"]
    assert bird.http.post("/_emulator/authplus/verify", json={"brandId": brand["id"]}).status_code == 200
    assert brand_line(cli, specs)[1] == "Brand/acme: Ready"
