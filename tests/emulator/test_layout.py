"""The emulator is laid out like Bird's API reference: each route is served by exactly one domain."""

from __future__ import annotations

from controller.bird import routes
from controller.emulator.core import Emulator
from controller.emulator.domains.accounts import AccountsDomain
from controller.emulator.domains.channels import ChannelsDomain
from controller.emulator.domains.compliance import ComplianceDomain
from controller.emulator.domains.notifications import NotificationsDomain
from controller.emulator.domains.numbers import NumbersDomain

DOMAINS = (AccountsDomain, NumbersDomain, ComplianceDomain, ChannelsDomain, NotificationsDomain)


def test_every_bird_route_has_one_domain_and_a_method() -> None:
    owners: dict[str, list[str]] = {}
    for domain in DOMAINS:
        for name, method in domain.ROUTES.items():
            owners.setdefault(name, []).append(domain.__name__)
            assert callable(getattr(domain, method)), f"{domain.__name__}.{method} serves {name}"
    assert {r.name for r in routes.ROUTES} == set(owners)
    assert all(len(found) == 1 for found in owners.values()), owners
    assert set(Emulator.route_table()) == set(owners)


def test_every_timer_kind_has_its_lifecycle_method() -> None:
    for domain in DOMAINS:
        for method in domain.TIMERS.values():
            assert callable(getattr(domain, method))


def test_every_route_cites_its_bird_page_and_inventions_are_listed_with_a_reason() -> None:
    from controller.emulator import policy

    assert all(r.doc.startswith("https://docs.bird.com/api/") for r in routes.ROUTES), [
        r.name for r in routes.ROUTES if not r.doc.startswith("https://docs.bird.com/api/")]
    assert policy.INVENTED and all(what and why for what, why in policy.INVENTED)
