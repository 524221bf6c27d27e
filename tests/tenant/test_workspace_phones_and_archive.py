"""Workspace phone numbers (seed 002) and archiving with its blockers."""

from __future__ import annotations

import pytest

from controller import tenant
from controller.state import ResourceRecord
from controller.tenant import ArchiveBlocked, NumberNotHeld, WorkspacePhoneError
from tests.tenant.conftest import buy, later, make_org, number, senderctl, senderctl_json


def test_acquiring_a_number_links_a_workspace_phone_both_ways(store):
    make_org(store)
    [a] = buy(store, "acme", 1, workspace="main")
    [ws_phone] = tenant.list_workspace_phones(store, "main")
    [phone] = tenant.held_numbers(store, "acme")
    assert (ws_phone.number, ws_phone.provider_phone_id) == (a, phone.id)
    assert (phone.workspace, phone.workspace_phone_id) == ("main", ws_phone.id)


def test_unlink_clears_both_references_and_link_sets_them_again(store):
    make_org(store)
    [a] = buy(store, "acme", 1)
    [ws_phone] = tenant.list_workspace_phones(store, "main")
    unlinked = tenant.link(store, "main", ws_phone.id, None)
    [phone] = tenant.held_numbers(store, "acme")
    assert unlinked.provider_phone_id is None
    assert (phone.workspace, phone.workspace_phone_id) == (None, None)
    relinked = tenant.link(store, "main", ws_phone.id, a)
    [phone] = tenant.held_numbers(store, "acme")
    assert relinked.provider_phone_id == phone.id and phone.workspace_phone_id == ws_phone.id


def test_linkable_phones_are_unlinked_or_already_this_workspaces(store):
    make_org(store)
    make_org(store, "other")
    main_number, sales_number, free_number = buy(store, "acme", 1, 2, 3)
    tenant.link(store, "main", tenant.list_workspace_phones(store, "main")[2].id, None)  # free the third
    buy(store, "other", 4, workspace="other-main")
    # the second number belongs to workspace sales
    [main_two] = [p for p in tenant.list_workspace_phones(store, "main") if p.number == sales_number]
    tenant.link(store, "main", main_two.id, None)
    sales_phone = tenant.create_workspace_phone(store, "sales", "acme", sales_number, at=later(1))
    assert sales_phone.provider_phone_id is not None
    assert {p.number for p in tenant.linkable_phones(store, "acme", "main")} == {main_number, free_number}
    assert {p.number for p in tenant.linkable_phones(store, "acme", "sales")} == {sales_number, free_number}
    with pytest.raises(WorkspacePhoneError, match="linked to workspace sales"):
        tenant.link(store, "main", main_two.id, sales_number)


def test_linking_checks_organization_ownership(store):
    make_org(store)
    make_org(store, "other")
    buy(store, "acme", 1)
    buy(store, "other", 2, workspace="other-main")
    [ws_phone] = tenant.list_workspace_phones(store, "main")
    with pytest.raises(NumberNotHeld, match="does not hold"):
        tenant.link(store, "main", ws_phone.id, number(2))
    with pytest.raises(WorkspacePhoneError, match="no phone number with id"):
        tenant.link(store, "sales", ws_phone.id, None)


def test_list_filters_on_is_archived(state_url, store):
    make_org(store)
    a, b = buy(store, "acme", 1, 2)
    tenant.archive_number(store, "acme", b, at=later(5))
    assert [p.number for p in tenant.list_workspace_phones(store, "main", is_archived=False)] == [a]
    [archived] = tenant.list_workspace_phones(store, "main", is_archived=True)
    assert (archived.number, archived.is_archived, archived.archived_at, archived.provider_phone_id) == (
        b, True, later(5), None)
    assert len(tenant.list_workspace_phones(store, "main", is_archived=None)) == 2
    rows = senderctl_json(state_url, "numbers", "list", "--org", "acme", "--archived")
    assert [(r["number"], r["status"], r["archivedAt"]) for r in rows] == [(b, "archived", "2026-11-16T09:05:00Z")]


def channel(store, name: str, num: str, *, campaign: str = "camp-1") -> None:
    store.save_record(ResourceRecord(address=f"Channel/{name}", kind="Channel", bird_id="conn-1",
                                     data={"number": num, "channelId": "chan-1", "campaignId": campaign}))


def test_blockers_list_assignment_channel_campaign_and_pending_operation(state_url, store):
    make_org(store)
    [a] = buy(store, "acme", 1)
    store.save_record(ResourceRecord(address="PhoneNumber/alice-line", kind="PhoneNumber", bird_id="n",
                                     data={"number": a}))
    assert tenant.archive_blockers(store, "acme", a) == []
    tenant.assign(store, "acme", a, "alice", at=later(1))
    channel(store, "alice-line", a)
    op = store.begin("PhoneNumber/alice-line", "update", "k-1", {"number": a})
    blockers = tenant.archive_blockers(store, "acme", a)
    assert len(blockers) == 3
    assert blockers[0].startswith("assigned to alice")
    assert "Channel/alice-line (channel chan-1, campaign camp-1) still sends from" in blockers[1]
    assert blockers[2].startswith(f"pending operation #{op} (PhoneNumber/alice-line update")
    result = senderctl_json(state_url, "numbers", "blockers", "--org", "acme", a)
    assert result == {"organization": "acme", "number": a, "archivable": False, "blockers": blockers}
    code, out, _ = senderctl(state_url, "numbers", "blockers", "--org", "acme", a)
    assert code == 0 and "cannot be archived" in out and "unassign it first" in out
    assert tenant.snapshot(store).blockers == {a: blockers}


def test_archive_is_refused_while_blocked_and_then_releases_the_number(store):
    make_org(store)
    a, b = buy(store, "acme", 1, 2)
    tenant.assign(store, "acme", a, "alice", at=later(1))
    channel(store, "alice-line", a)
    with pytest.raises(ArchiveBlocked) as info:
        tenant.archive_number(store, "acme", a, at=later(2))
    assert len(info.value.blockers) == 2 and a in str(info.value)
    assert a in tenant.snapshot(store).held_numbers  # nothing changed
    tenant.unassign(store, "acme", a, at=later(3))
    store.forget("Channel/alice-line")
    tenant.archive_number(store, "acme", a, at=later(4))
    snap = tenant.snapshot(store)
    assert a not in snap.held_numbers and a in snap.archived_numbers
    assert [p.number for p in tenant.held_numbers(store, "acme")] == [b]


def test_archive_keeps_history_and_cannot_be_undone(store):
    make_org(store)
    [a] = buy(store, "acme", 1)
    tenant.assign(store, "acme", a, "alice", at=later(1))
    tenant.route_inbound(store, to=a, from_="+14155559999", text="hello", message_id="m-1", at=later(2))
    tenant.unassign(store, "acme", a, at=later(3))
    tenant.archive_number(store, "acme", a, at=later(4))
    tenant.archive_number(store, "acme", a, at=later(5))  # again: nothing to do
    assert [(h.user, h.unassigned_at) for h in tenant.assignment_history(store, "acme", a)] == [("alice", later(3))]
    assert [m["text"] for m in tenant.inbox(store, "acme", "alice")] == ["hello"]
    [archived] = tenant.list_workspace_phones(store, "main", is_archived=True)
    with pytest.raises(WorkspacePhoneError, match="cannot be undone"):
        tenant.link(store, "main", archived.id, None)
    with pytest.raises(NumberNotHeld):
        tenant.assign(store, "acme", a, "bob", at=later(6))
    assert tenant.archive_blockers.__doc__  # the CLI and the plan show the same blockers


def test_an_archived_number_can_be_bought_again_as_a_new_holding(store):
    make_org(store)
    [a] = buy(store, "acme", 1)
    tenant.archive_number(store, "acme", a, at=later(1))
    buy(store, "acme", 1, at=later(2))
    snap = tenant.snapshot(store)
    assert snap.held_numbers == {a: "acme"} and a not in snap.archived_numbers
    assert len(tenant.list_workspace_phones(store, "main", is_archived=None)) == 2


def test_blockers_of_a_number_the_org_does_not_hold(state_url, store):
    make_org(store)
    code, _, err = senderctl(state_url, "numbers", "blockers", "--org", "acme", number(7))
    assert code == 1 and "does not hold" in err
    code, _, err = senderctl(state_url, "numbers", "blockers", "--org", "acme", "12")
    assert code == 1 and "E.164" in err
