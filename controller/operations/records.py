"""`senderctl state list | show | rm | mv`: the records, as terraform's state commands have them.

They work on the state database only and never call Bird: `rm` forgets (Bird keeps the object and
goes on billing it), `mv` renames (nothing is bought or registered again). Both take the apply lock,
and both refuse an address whose Bird write was interrupted and is still open in the journal.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterable, Sequence
from typing import Any

import click

from controller.render.common import display_value, mask_secrets
from controller.resources.phone_number import purchase_members

EXIT_OK, EXIT_ERROR = 0, 1

# Records whose address follows another's name: a number's SMS channel and assignment, a brand's
# vetting. They move and are forgotten with it, so a renamed number keeps its channel and its user.
COMPANIONS: dict[str, tuple[str, ...]] = {
    "PhoneNumber": ("Channel", "Assignment"),
    "NumberPool": ("Channel", "Assignment"),
    "Brand": ("Vetting",),
}


class StateCommandError(Exception):
    """A state command cannot do what was asked; the message says why and what to do instead."""


def companions(address: str, known: Iterable[str]) -> list[str]:
    kind, _, name = address.partition("/")
    present = set(known)
    return [f"{k}/{name}" for k in COMPANIONS.get(kind, ()) if f"{k}/{name}" in present]


def _kind_and_name(address: str) -> tuple[str, str]:
    kind, sep, name = address.partition("/")
    if not sep or not kind or not name:
        raise StateCommandError(f"{address!r} is not an address; addresses look like PhoneNumber/alice-line "
                                "(`senderctl state list` shows them)")
    return kind, name


def _missing(address: str) -> StateCommandError:
    return StateCommandError(f"{address} is not in the state; `senderctl state list` shows the addresses it holds")


def _check_no_open_writes(store: Any, addresses: Sequence[str]) -> None:
    wanted = set(addresses)
    open_ops = [op for op in store.open_operations()
                if op.address in wanted or any(m in wanted for m, _ in purchase_members(op.address, op.request))]
    if open_ops:
        op = open_ops[0]
        raise StateCommandError(f"{op.address} has an interrupted Bird write ({op.action}) still open in the journal; "
                                "run `senderctl apply` first so it is settled, then try again")


def list_records(store: Any, output: str) -> int:
    records = store.records()
    conditions = store.conditions()
    if output == "json":
        click.echo(json.dumps([{"address": a, "kind": r.kind, "birdId": r.bird_id,
                                "status": conditions[a].status if a in conditions else None}
                               for a, r in sorted(records.items())], indent=2))
    else:
        for address in sorted(records):
            click.echo(address)
        if not records:
            click.echo("The state holds no records.", err=True)
    return EXIT_OK


def show_record(store: Any, address: str, output: str) -> int:
    record = store.record(address)
    if record is None:
        raise _missing(address)
    condition = store.conditions().get(address)
    data = {
        "address": record.address,
        "kind": record.kind,
        "birdId": record.bird_id,
        "naturalKey": record.natural_key,
        "spec": mask_secrets(record.spec or {}),
        "data": mask_secrets(record.data or {}),
        "status": condition.status if condition else None,
        "reason": condition.reason if condition else None,
        "createdAt": record.created_at.isoformat() if record.created_at else None,
        "updatedAt": record.updated_at.isoformat() if record.updated_at else None,
    }
    if output == "json":
        click.echo(json.dumps(data, indent=2, sort_keys=True, default=str))
        return EXIT_OK
    click.echo(f"# {record.address}")
    for key in ("kind", "birdId", "naturalKey", "status", "reason", "createdAt", "updatedAt"):
        if data[key] not in (None, ""):
            click.echo(f"{key:<12}= {display_value(data[key], key)}")
    for section in ("spec", "data"):
        for key, value in sorted(data[section].items()):
            click.echo(f"{section}.{key} = {display_value(value, key)}")
    return EXIT_OK


def announce_wait(holder: Any) -> None:
    from controller.operations.commands import announce_lock_wait

    announce_lock_wait(holder)


def owner(command: str) -> str:
    return f"senderctl state {command} pid={os.getpid()} host={socket.gethostname()}"


def remove_records(store: Any, addresses: Sequence[str], lock_timeout: float) -> int:
    for address in addresses:
        _kind_and_name(address)
    with store.apply_lock(owner=owner("rm"), timeout=lock_timeout, on_wait=announce_wait):
        records = store.records()
        missing = [a for a in addresses if a not in records]
        if missing:
            raise _missing(missing[0])
        doomed = list(dict.fromkeys(x for a in addresses for x in [a, *companions(a, records)]))
        _check_no_open_writes(store, doomed)
        store.remove(doomed)
    for address in doomed:
        click.echo(f"Removed {address}")
    click.echo(f"Forgot {len(doomed)} record(s). Bird was not touched: what they stand for stays on Bird (a number "
               "stays bought and billed). If the specs still declare them, the next plan adopts or creates them.")
    return EXIT_OK


def move_record(store: Any, source: str, target: str, lock_timeout: float) -> int:
    source_kind, _ = _kind_and_name(source)
    target_kind, target_name = _kind_and_name(target)
    if source_kind != target_kind:
        raise StateCommandError(f"cannot move {source} to {target}: a record keeps its kind ({source_kind}); "
                                f"use {source_kind}/{target_name}")
    if source == target:
        raise StateCommandError(f"{source} and {target} are the same address; nothing to move")
    with store.apply_lock(owner=owner("mv"), timeout=lock_timeout, on_wait=announce_wait):
        records = store.records()
        if source not in records:
            raise _missing(source)
        moves = {source: target}
        for companion in companions(source, records):
            kind, _ = _kind_and_name(companion)
            moves[companion] = f"{kind}/{target_name}"
        taken = [new for new in moves.values() if new in records]
        if taken:
            raise StateCommandError(f"cannot move {source} to {target}: {taken[0]} already exists in the state; "
                                    f"`senderctl state rm {taken[0]}` first if it is stale, or choose another name")
        _check_no_open_writes(store, list(moves))
        store.rename(moves)
    for old, new in moves.items():
        click.echo(f"Moved {old} to {new}")
    click.echo("Nothing was bought or changed on Bird; the records now answer to the new names.")
    return EXIT_OK
