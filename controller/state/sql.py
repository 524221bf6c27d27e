"""Dialect-aware statements shared by the store and the tenant repository."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

# A statement runs on an ORM session's connection or on a Core connection (the journal's hot paths).
Executor = Session | Connection


def connection_of(tx: Executor) -> Connection:
    """The Core connection a statement runs on, given a transaction's ORM session or its connection."""
    return tx.connection() if isinstance(tx, Session) else tx


def _dialect_insert(dialect: str, table: Any) -> Any:
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


@functools.lru_cache(maxsize=16)
def insert_unless_taken(dialect: str, table: Any, returning: tuple[str, ...]) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING (any unique column taken) RETURNING the given columns of the rows
    written."""
    return _dialect_insert(dialect, table).on_conflict_do_nothing().returning(*(table.c[c] for c in returning))


def upsert(session: Executor, table: Any, values: Sequence[dict[str, Any]], *, keys: Sequence[str],
           keep: Sequence[str] = ()) -> None:
    """INSERT ... ON CONFLICT (keys) DO UPDATE, leaving `keys` and `keep` columns as they were."""
    if not values:
        return
    connection = connection_of(session)
    statement = _upsert_statement(connection.dialect.name, table, tuple(values[0]), tuple(keys), tuple(keep))
    connection.execute(statement, list(values) if len(values) > 1 else dict(values[0]))


@functools.lru_cache(maxsize=64)
def _upsert_statement(dialect: str, table: Any, columns: tuple[str, ...], keys: tuple[str, ...],
                      keep: tuple[str, ...]) -> Any:
    """One statement per shape, values bound at execution: SQLAlchemy then compiles it once, where a
    statement built around its values was compiled again for every record saved."""
    statement = _dialect_insert(dialect, table)
    updates = {c: getattr(statement.excluded, c) for c in columns if c not in keys and c not in keep}
    return statement.on_conflict_do_update(index_elements=list(keys), set_=updates)


def insert_new(session: Executor, table: Any, values: Sequence[dict[str, Any]], *, keys: Sequence[str]) -> int:
    """INSERT ... ON CONFLICT (keys) DO NOTHING; returns how many rows were written."""
    if not values:
        return 0
    connection = connection_of(session)
    statement = _insert_new_statement(connection.dialect.name, table, tuple(keys))
    # RETURNING lists only the inserted rows; rowcount is not reliable for INSERT across drivers.
    rows = connection.execute(statement, list(values) if len(values) > 1 else dict(values[0]))
    return len(rows.all())


@functools.lru_cache(maxsize=64)
def _insert_new_statement(dialect: str, table: Any, keys: tuple[str, ...]) -> Any:
    statement = _dialect_insert(dialect, table)
    primary_key = list(table.__table__.primary_key.columns)
    return statement.on_conflict_do_nothing(index_elements=list(keys)).returning(*primary_key)


T = TypeVar("T")


def chunks(items: Sequence[T], size: int) -> Iterable[Sequence[T]]:
    """`items` `size` at a time: IN (...) lists and bulk inserts stay under SQLite's limit on bound parameters."""
    for i in range(0, len(items), size):
        yield items[i:i + size]
