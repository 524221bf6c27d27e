"""Dialect-aware statements shared by the store and the tenant repository."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session


def _insert(session: Session, table: Any) -> Any:
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


def upsert(session: Session, table: Any, values: Sequence[dict[str, Any]], *, keys: Sequence[str],
           keep: Sequence[str] = ()) -> None:
    """INSERT ... ON CONFLICT (keys) DO UPDATE, leaving `keys` and `keep` columns as they were."""
    if not values:
        return
    statement = _insert(session, table).values(list(values))
    updates = {c: getattr(statement.excluded, c) for c in values[0] if c not in keys and c not in keep}
    session.connection().execute(statement.on_conflict_do_update(index_elements=list(keys), set_=updates))


def insert_new(session: Session, table: Any, values: Sequence[dict[str, Any]], *, keys: Sequence[str]) -> int:
    """INSERT ... ON CONFLICT (keys) DO NOTHING; returns how many rows were written."""
    if not values:
        return 0
    statement = _insert(session, table).values(list(values)).on_conflict_do_nothing(index_elements=list(keys))
    # RETURNING lists only the inserted rows; rowcount is not reliable for INSERT across drivers.
    primary_key = list(table.__table__.primary_key.columns)
    return len(session.connection().execute(statement.returning(*primary_key)).all())
