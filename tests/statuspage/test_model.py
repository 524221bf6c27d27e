"""The status page's data, pure: counts, the run-rate, the 10DLC timeline with Bird's dates, filters."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from controller.resources.base import Desired, World
from controller.state.estate import EstateRows, OrgTerms
from controller.statuspage.model import Query, build_estate, select_page
from specs import load_text

WS = "22222222-2222-4222-8222-222222222222"
SPECS = load_text(f"""
apiVersion: senderctl/v1
kind: Workspace
metadata: {{name: main}}
spec: {{organization: acme, birdWorkspaceId: {WS}}}
""").specs
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def desired() -> list[Desired]:
    numbers = [Desired(f"PhoneNumber/n{i}", "PhoneNumber", "acme", {}, {"workspace": "main", "workspaceId": WS})
               for i in range(3)]
    return [
        Desired("Organization/acme", "Organization", "acme", {}),
        Desired("Brand/acme", "Brand", "acme", {}, {"workspaceId": WS}),
        Desired("Vetting/acme", "Vetting", "acme", {}, {"workspaceId": WS, "brand": "Brand/acme"}),
        Desired("Campaign/alerts", "Campaign", "acme", {}, {"workspaceId": WS, "brand": "Brand/acme"}),
        *numbers,
        *[Desired(f"Channel/n{i}", "Channel", "acme", {}, {"workspaceId": WS, "number": f"PhoneNumber/n{i}",
                                                          "campaign": "Campaign/alerts"}) for i in range(3)],
        Desired("Assignment/n0", "Assignment", "acme", {"user": "a@acme.example"}, {"number": "PhoneNumber/n0"}),
    ]


def state() -> EstateRows:
    rows = EstateRows()
    ready = ["Organization/acme", "Brand/acme", "Vetting/acme", "Campaign/alerts", "PhoneNumber/n0", "PhoneNumber/n1",
             "Channel/n0", "Assignment/n0"]
    rows.conditions = {a: ("Ready", "", NOW) for a in ready}
    rows.conditions["Channel/n1"] = ("Waiting", "carriers have not acknowledged +14155550101 yet", NOW)
    rows.conditions["PhoneNumber/n2"] = ("Failed", "Bird: no stock for +1415", NOW)
    rows.orgs = {"acme": OrgTerms("acme", True, 10, Decimal("2.99"), "USD", True)}
    rows.held = {"acme": 2}
    rows.monthly_prices = {"acme": Decimal("2.30")}
    rows.held_by_workspace = {"main": 2}
    rows.bird_ids = {"Brand/acme": "b1", "Vetting/acme": "v1", "Campaign/alerts": "c1", "Channel/n0": "conn0"}
    return rows


def world() -> World:
    return World(
        brands={WS: [{"id": "b1", "status": "APPROVED", "createdAt": "2026-03-01T09:00:00Z",
                      "updatedAt": "2026-03-01T10:00:00Z"}]},
        vettings={(WS, "b1"): [{"id": "v1", "status": "ACTIVE", "createdAt": "2026-03-01T09:00:01Z"}]},
        campaigns={(WS, "b1"): [{"id": "c1", "status": "APPROVED", "createdAt": "2026-03-01T10:01:00Z",
                                 "updatedAt": "2026-03-08T10:01:00Z"}]},
        channels={WS: [{"id": "ch0", "connectorId": "conn0", "status": "active",
                        "updatedAt": "2026-03-08T10:16:00Z"}]})


def test_counts_holdings_and_the_run_rate() -> None:
    estate = build_estate(desired(), SPECS, state(), world(), NOW)
    org = estate.orgs["acme"]
    assert (org.counts["Ready"], org.counts["Waiting"], org.counts["Failed"], org.counts["Unknown"]) == (8, 1, 1, 1)
    main = org.workspaces["main"]
    assert main.held == 2 and main.counts.total == 10  # the assignment counts where its number is
    assert (org.held, org.limit) == (2, 10)
    # 2.30 (Bird) + 2 x 2.99 x 52 / 12 (platform) + 10 (one approved campaign's carrier fee)
    assert org.run_rate == Decimal("38.21")


def test_the_timeline_has_birds_dates_and_what_each_step_waits_on() -> None:
    timeline = build_estate(desired(), SPECS, state(), world(), NOW).timelines["acme"]
    assert [(s.title, s.status) for s in timeline.steps] == [
        ("Brand registered", "Ready"), ("Vetting", "Ready"), ("Campaign alerts", "Ready"),
        ("Channels acknowledged (alerts)", "Waiting")]
    brand, _, campaign, channels = timeline.steps
    assert (brand.bird_status, brand.created, brand.updated) == ("APPROVED", "2026-03-01T09:00:00Z",
                                                                 "2026-03-01T10:00:00Z")
    assert campaign.updated == "2026-03-08T10:01:00Z"
    assert channels.bird_status == "1 of 3 acknowledged" and channels.updated == "2026-03-08T10:16:00Z"
    assert channels.addresses == ("Channel/n0", "Channel/n1", "Channel/n2")  # each one, not only the first
    assert channels.reason == "Channel/n1: carriers have not acknowledged +14155550101 yet"
    assert timeline.status == "Waiting" and timeline.waits_on.startswith("Channels acknowledged (alerts): ")


def test_a_rejection_is_shown_with_birds_code() -> None:
    w = world()
    w.campaigns[(WS, "b1")][0].update(status="REJECTED", rejection={"code": "E301", "description": "no opt-in"})
    rows = state()
    rows.conditions["Campaign/alerts"] = ("Failed", "campaign alerts was REJECTED", NOW)
    campaign = build_estate(desired(), SPECS, rows, w, NOW).timelines["acme"].steps[2]
    assert campaign.status == "Failed" and campaign.detail == "Bird rejection E301: no opt-in"


def test_without_an_observation_the_timeline_has_conditions_only() -> None:
    estate = build_estate(desired(), SPECS, state(), None, NOW)
    assert not estate.observed
    assert [s.bird_status for s in estate.timelines["acme"].steps[:3]] == [None, None, None]


def test_filters_and_pages() -> None:
    rows = build_estate(desired(), SPECS, state(), world(), NOW).rows
    query, problems = Query.parse({"condition": "not-ready"})
    page = select_page(rows, query)
    assert not problems and [r.address for r in page.rows] == ["Channel/n1", "Channel/n2", "PhoneNumber/n2"]
    assert page.counts == {"Waiting": 1, "Unknown": 1, "Failed": 1}
    query, problems = Query.parse({"per_page": "4", "page": "3", "kind": "Channel"})
    assert select_page(rows, query).number == 1  # three channels: one page
    query, problems = Query.parse({"per_page": "100000", "page": "-2"})
    assert query.per_page == 500 and query.page == 1 and problems == ["page must be 1 or more: using 1"]


def test_what_a_token_sees_leaves_the_estate_as_it_was() -> None:
    estate = build_estate(desired(), SPECS, state(), world(), NOW)
    assert estate.visible_to("globex", None).rows == []
    limited = estate.visible_to("acme", "other-workspace")
    assert limited.orgs["acme"].workspaces == {} and estate.orgs["acme"].workspaces  # a copy, not the cache
