"""Engines and migrations: one place that knows SQLite from PostgreSQL."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from filelock import FileLock
from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

if TYPE_CHECKING:
    from alembic.config import Config

from controller.state.errors import StateError

MIGRATIONS = Path(__file__).parent / "migrations"
# The newest migration. Opening an up-to-date state compares against this and never imports alembic
# (a third of a command's start-up); tests/state checks it against the migrations directory, so a new
# migration fails that test until this names it.
HEAD_REVISION = "api_0003_platform_api"
# Any constant works; it only has to be the same for every senderctl process on the database.
MIGRATION_LOCK_KEY = 0x5E4D_0001
BUSY_TIMEOUT_SECONDS = 60


def json_default(value: Any) -> Any:
    """JSON columns store Decimals as exact strings and datetimes as ISO 8601, never floats."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} cannot be stored in a JSON column")


def dumps(value: Any) -> str:
    return json.dumps(value, default=json_default)


def sqlite_path(url: str) -> Path | None:
    """The database file of a SQLite URL (None for PostgreSQL or an in-memory SQLite)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    if not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def create_state_engine(url: str) -> Engine:
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StateError(
            f"--state {url!r} is not a database URL; use e.g. sqlite:///.senderctl/state.db or "
            "postgresql+psycopg://postgres@127.0.0.1:5432/senderctl"
        ) from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        path = sqlite_path(url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_SECONDS}, json_serializer=dumps)
        _serialise_sqlite_writers(engine)
        return engine
    if backend == "postgresql":
        if parsed.drivername == "postgresql":  # plain postgresql:// means psycopg 3 here, the driver we ship
            url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
        try:
            return create_engine(url, pool_pre_ping=True, json_serializer=dumps)
        except NoSuchModuleError as exc:
            raise StateError(f"--state: unsupported driver in {parsed.drivername!r}: {exc}") from None
    raise StateError(f"--state: {backend!r} databases are not supported; use sqlite:/// or postgresql+psycopg://")


def _serialise_sqlite_writers(engine: Engine) -> None:
    """Every transaction starts with BEGIN IMMEDIATE: concurrent processes then queue on the busy
    timeout instead of failing when a reader tries to become a writer."""

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def alembic_config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str | None:
    """The newest revision in the migrations directory (imports alembic)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(connection: Connection) -> str | None:
    if not inspect(connection).has_table("alembic_version"):
        return None
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def upgrade(engine: Engine, url: str) -> None:
    """`alembic upgrade head`, once, however many processes open the state at the same time."""
    with engine.connect() as conn:
        if current_revision(conn) == HEAD_REVISION:
            return
    from alembic import command

    with _migration_lock(engine, url), engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK_KEY})
        if current_revision(conn) != HEAD_REVISION:
            command.upgrade(alembic_config(conn), "head")


@contextlib.contextmanager
def _migration_lock(engine: Engine, url: str) -> Iterator[None]:
    path = sqlite_path(url)
    if path is None:
        yield  # PostgreSQL: the transaction-scoped advisory lock above serialises migrations
        return
    with FileLock(f"{path}.migrate.lock", timeout=BUSY_TIMEOUT_SECONDS):
        yield


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
