"""The state database: the only package that speaks SQL (sqlmodel, alembic migrations).

    store = StateStore.open(url)     # creates the SQLite directory, migrates to the latest schema
    store.records() / save_record() / forget()
    store.conditions() / set_conditions()
    store.begin() / finish() / open_operations() / operations()   # the operation journal
    with store.apply_lock(owner): ...                             # one apply at a time
"""

from sqlalchemy.exc import DBAPIError as DatabaseError  # the database refused a statement (or went away)

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
from controller.state.webhook_inbox import WebhookEvent  # noqa: F401  (also registers the daemon's table)

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
]
