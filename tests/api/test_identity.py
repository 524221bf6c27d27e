"""One user, one identity: e-mail addresses in API assignments are compared without case (as the specs
compare them), and an Idempotency-Key belongs to the user whose token sent it. Real daemon, real
emulator, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from tests.api.conftest import World, make_token


def purchase(client: httpx.Client, key: str | None = None) -> httpx.Response:
    return client.post("/v1/sms/phone-numbers/purchase", json={"country": "US"},
                       headers={"Idempotency-Key": key} if key else {})


def quoted(number: str) -> str:
    return number.replace("+", "%2B")


def test_one_person_gets_one_number_whatever_the_case_of_their_address(world_factory: Callable[..., World],
                                                                       state_url: str) -> None:
    world = world_factory(state_url=state_url)
    admin = world.client(make_token(world.state_url, "admin@acme.example", "admin"))
    first, second = (purchase(admin).json()["number"] for _ in range(2))
    given = admin.post(f"/v1/sms/phone-numbers/{quoted(first)}/assign", json={"user": "zoe@acme.example"})
    assert given.status_code == 200, given.text
    again = admin.post(f"/v1/sms/phone-numbers/{quoted(second)}/assign", json={"user": "ZOE@acme.example"})
    assert again.status_code == 409 and again.json()["error"]["code"] == "assignment_conflict", again.text
    assert "zoe@acme.example already has" in again.json()["error"]["message"].lower()
    same = admin.post(f"/v1/sms/phone-numbers/{quoted(first)}/assign", json={"user": "Zoe@Acme.Example"})
    assert same.status_code == 200, same.text  # the same person: nothing changes
    zoe = world.client(make_token(world.state_url, "ZOE@acme.example", "member"))
    mine = zoe.get("/v1/sms/phone-numbers/my-number")
    assert mine.status_code == 200 and mine.json()["number"] == first, mine.text
    with world.store() as store, store.transaction() as tx:
        from sqlmodel import select

        from controller.state.tables import AssignmentRow

        live = [r for r in tx.exec(select(AssignmentRow)) if r.unassigned_at is None and r.user.lower() == "zoe@acme.example"]
    assert [r.number for r in live] == [first]


def test_an_idempotency_key_is_the_senders_own(world_factory: Callable[..., World], state_url: str) -> None:
    world = world_factory(state_url=state_url)
    carol = world.client(make_token(world.state_url, "carol@acme.example", "member", "--scopes", "phones:read,phones:write"))
    dave = world.client(make_token(world.state_url, "dave@acme.example", "member", "--scopes", "phones:read,phones:write"))
    hers = purchase(carol, "order-1")
    assert hers.status_code == 201, hers.text
    his = purchase(dave, "order-1")  # the same key and body, another user: another purchase
    assert his.status_code == 201, his.text
    assert his.json()["number"] != hers.json()["number"]
    assert his.json()["purchaseId"] != hers.json()["purchaseId"]
    retried = purchase(carol, "order-1")
    assert retried.status_code == 201 and retried.json()["number"] == hers.json()["number"]
