"""The state database: the only package that speaks SQL (sqlmodel, alembic migrations).

    store = StateStore.open(url)     # creates the SQLite directory, migrates to the latest schema
    store.records() / save_record() / forget()
    store.conditions() / set_conditions()
    store.begin() / finish() / open_operations() / operations()   # the operation journal
    with store.apply_lock(owner): ...                             # one apply at a time

Its names load on first use (PEP 562): a command that reads a few columns (`senderctl costs`, through
controller.state.db and controller.state.narrow) does not pay for the ORM tables, the store and the
webhook inbox it never touches.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.exc import DBAPIError as DatabaseError

    from controller.state.db import check_state_location, database_failure, is_outage
    from controller.state.errors import (
        Conflict,
        DuplicateOperation,
        LockHolder,
        LockHolderAlive,
        LockLost,
        StateError,
        StateLocked,
    )
    from controller.state.records import Condition, Operation, ResourceRecord
    from controller.state.store import StateStore
    from controller.state.webhook_inbox import WebhookEvent

# name -> (module, its name there)
_EXPORTS: dict[str, tuple[str, str]] = {
    "DatabaseError": ("sqlalchemy.exc", "DBAPIError"),  # the database refused a statement (or went away)
    "check_state_location": ("controller.state.db", "check_state_location"),
    "database_failure": ("controller.state.db", "database_failure"),
    "is_outage": ("controller.state.db", "is_outage"),
    **{name: ("controller.state.errors", name) for name in (
        "Conflict", "DuplicateOperation", "LockHolder", "LockHolderAlive", "LockLost", "StateError", "StateLocked")},
    **{name: ("controller.state.records", name) for name in ("Condition", "Operation", "ResourceRecord")},
    "StateStore": ("controller.state.store", "StateStore"),
    # Also registers the daemon's table with the ORM metadata the migrations compare against.
    "WebhookEvent": ("controller.state.webhook_inbox", "WebhookEvent"),
}


def __getattr__(name: str) -> Any:
    try:
        module, attribute = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'controller.state' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value  # later lookups skip this function
    return value


__all__ = [
    "check_state_location",
    "DatabaseError",
    "database_failure",
    "is_outage",
    "Condition",
    "Conflict",
    "DuplicateOperation",
    "LockHolder",
    "LockHolderAlive",
    "LockLost",
    "Operation",
    "ResourceRecord",
    "StateError",
    "StateLocked",
    "StateStore",
    "WebhookEvent",
]
