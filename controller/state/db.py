"""Engines and migrations: one place that knows SQLite from PostgreSQL."""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from filelock import FileLock
from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError
from sqlalchemy.pool import StaticPool

if TYPE_CHECKING:
    from alembic.config import Config

from controller.state.errors import StateError

MIGRATIONS = Path(__file__).parent / "migrations"
# The newest migration. Opening an up-to-date state compares against this and never imports alembic
# (a third of a command's start-up); tests/state checks it against the migrations directory, so a new
# migration fails that test until this names it.
HEAD_REVISION = "trust_0007_user_case"
# Any constant works; it only has to be the same for every senderctl process on the database.
MIGRATION_LOCK_KEY = 0x5E4D_0001
BUSY_TIMEOUT_SECONDS = 60
# How long a SQLite statement waits for another process's write lock before the state counts as
# unavailable (the API answers 503 then). An operator who would rather fail fast shortens it.
BUSY_TIMEOUT_VARIABLE = "SENDERCTL_SQLITE_BUSY_TIMEOUT"
POOLER_PARAMETER = "pooler"
POOLER_PGBOUNCER = "pgbouncer"
# The execution option that marks a connection as reading only (see reading()).
READS_ONLY = "senderctl_reads_only"
# The default state's directory (CONTRACT.md: sqlite:///.senderctl/state.db, created on first use).
DEFAULT_STATE_DIR = ".senderctl"


def json_default(value: Any) -> Any:
    """JSON columns store Decimals as exact strings and datetimes as ISO 8601, never floats."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} cannot be stored in a JSON column")


def dumps(value: Any) -> str:
    return json.dumps(value, default=json_default)


def loads(text: str | bytes) -> Any:
    """The JSON columns, decoded by pydantic-core's parser: the same values as json.loads in about 2/3 of
    the time (a plan decodes every record's spec and data)."""
    import pydantic_core

    return pydantic_core.from_json(text)


def sqlite_path(url: str) -> Path | None:
    """The database file of a SQLite URL (None for PostgreSQL or an in-memory SQLite)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return None  # not a URL at all: create_state_engine says so
    if parsed.get_backend_name() != "sqlite":
        return None
    if not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def check_state_location(url: str) -> None:
    """Raise StateError when a SQLite state URL names a file in a directory that does not exist (other
    than the default .senderctl, made on first use)."""
    path = sqlite_path(url)
    if path is not None and not path.exists() and not path.parent.is_dir() and path.parent.name != DEFAULT_STATE_DIR:
        check_sqlite_file(path)


def check_sqlite_file(path: Path, *, create: bool = True) -> None:
    """A SQLite state file must be one, and a new one goes in a directory that exists.

    Only the default directory (.senderctl) is made on first use: any other missing directory is a
    mistyped --state, and a new, empty database there would plan every number to be bought again."""
    if not path.exists():
        if not path.parent.is_dir():
            if path.parent.name != DEFAULT_STATE_DIR:
                raise StateError(f"--state: the directory {path.parent} does not exist, so {path} cannot be the "
                                 f"state; fix the path, or create the directory (mkdir -p {path.parent}) for a new "
                                 "state")
            if not create:
                return
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StateError(f"--state: cannot create {path.parent}: {exc.strerror or exc}") from None
        if create:
            _create_sqlite_file(path)
        return
    if path.is_dir():
        raise StateError(f"--state: {path} is a directory; give the database file, e.g. sqlite:///{path}/state.db")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise StateError(f"--state: cannot read {path}: {exc.strerror or exc}") from None
    if size == 0:
        raise StateError(f"the state file {path} is empty (0 bytes): it holds no records, and treating it as a new "
                         "state would plan everything again. Restore it from a backup, or delete it to start a new "
                         "state (then `senderctl import` adopts what Bird already holds)")
    if not _is_sqlite_database(path):
        raise StateError(f"the state file {path} is not a SQLite database (corrupted or another file): restore it "
                         "from a backup, or point --state at the right file")


def _is_sqlite_database(path: Path) -> bool:
    """Whether the file is a SQLite database, asked of SQLite itself.

    Never open() and close() the file directly: closing any descriptor of a file drops every POSIX lock
    this process holds on it, including those of the state connections already open in a daemon, and
    two writers could then corrupt the database. SQLite's own connections share their locks per file."""
    import sqlite3
    from urllib.parse import quote

    try:
        conn = sqlite3.connect(f"file:{quote(str(path.resolve()))}?mode=ro", uri=True, timeout=busy_timeout())
    except sqlite3.Error:
        return True  # not openable (permissions): let the engine report it in its own words
    try:
        conn.execute("PRAGMA schema_version").fetchone()
        return True
    except sqlite3.DatabaseError as exc:
        return "not a database" not in str(exc) and "malformed" not in str(exc)
    finally:
        conn.close()


def _create_sqlite_file(path: Path) -> None:
    """Make a new state file appear whole: a SQLite file is 0 bytes until its first write, so a second
    process opening it in that window would see an empty file (refused above as a lost state). The
    database is made under a temporary name and linked into place; whoever loses the race uses the winner's."""
    import sqlite3

    temporary = path.with_name(f".{path.name}.{os.getpid()}.new")
    try:
        conn = sqlite3.connect(temporary)
        try:
            conn.execute("PRAGMA journal_mode=WAL")  # writes the header: the file is a database from now on
        finally:
            conn.close()
        os.link(temporary, path)
    except FileExistsError:
        pass
    except OSError:
        pass  # a directory we cannot write: SQLite itself reports it, with its own words, when it opens
    finally:
        for leftover in (temporary, temporary.with_name(temporary.name + "-wal"),
                         temporary.with_name(temporary.name + "-shm")):
            leftover.unlink(missing_ok=True)


def create_state_engine(url: str, *, read_only: bool = False) -> Engine:
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
            check_sqlite_file(path)
            if read_only and path.exists():
                return _read_only_sqlite_engine(path)
        connect_args: dict[str, Any] = {"timeout": busy_timeout()}
        pool: dict[str, Any] = {}
        if path is None:
            # An in-memory database is one per connection: one connection for every thread (a state opened
            # in one thread and read in another must be the same database).
            connect_args["check_same_thread"] = False
            pool["poolclass"] = StaticPool
        engine = create_engine(url, connect_args=connect_args, json_serializer=dumps, json_deserializer=loads,
                               **pool)
        _serialise_sqlite_writers(engine)
        return engine
    if backend == "postgresql":
        url, pooled = postgres_url(url)
        # Behind PgBouncer in transaction pooling mode each transaction may run on another server session,
        # where a statement prepared by an earlier one does not exist: psycopg must not prepare any.
        connect_args = {"prepare_threshold": None} if pooled else {}
        try:
            return create_engine(url, pool_pre_ping=True, json_serializer=dumps, json_deserializer=loads,
                                 connect_args=connect_args)
        except NoSuchModuleError as exc:
            raise StateError(f"--state: unsupported driver in {parsed.drivername!r}: {exc}") from None
    raise StateError(f"--state: {backend!r} databases are not supported; use sqlite:/// or postgresql+psycopg://")


def busy_timeout() -> float:
    """SQLite's busy timeout in seconds: $SENDERCTL_SQLITE_BUSY_TIMEOUT, else BUSY_TIMEOUT_SECONDS."""
    text = os.environ.get(BUSY_TIMEOUT_VARIABLE, "").strip()
    if not text:
        return BUSY_TIMEOUT_SECONDS
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds <= 3600:
        raise StateError(f"{BUSY_TIMEOUT_VARIABLE}={text!r} is not a number of seconds between 0 and 3600 "
                         f"(default {BUSY_TIMEOUT_SECONDS})")
    return seconds


def postgres_url(url: str) -> tuple[str, bool]:
    """(the URL psycopg connects with, whether it points at a transaction-pooling proxy).

    `?pooler=pgbouncer` on a PostgreSQL state URL says that the state is reached through PgBouncer in
    transaction pooling mode: senderctl then keeps no session state there (no advisory locks, no prepared
    statements). The parameter is senderctl's, so it is taken off the URL psycopg sees."""
    parsed = make_url(url)
    if parsed.drivername == "postgresql":  # plain postgresql:// means psycopg 3 here, the driver we ship
        parsed = parsed.set(drivername="postgresql+psycopg")
    pooler = parsed.query.get(POOLER_PARAMETER)
    if pooler is not None and pooler != POOLER_PGBOUNCER:
        raise StateError(f"--state: {POOLER_PARAMETER}={pooler!r} is not known; the only pooler is "
                         f"{POOLER_PARAMETER}={POOLER_PGBOUNCER} (PgBouncer in transaction pooling mode)")
    parsed = parsed.difference_update_query([POOLER_PARAMETER])
    return parsed.render_as_string(hide_password=False), pooler is not None


def is_pooled(url: str) -> bool:
    """Whether the state URL names a transaction-pooling proxy (see postgres_url)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return False
    return parsed.get_backend_name() == "postgresql" and POOLER_PARAMETER in parsed.query


def _read_only_sqlite_engine(path: Path) -> Engine:
    """Reads only (plan, status, state list/show, numbers, config): opens a read-only file or a file in a
    read-only directory, takes no write lock and changes no journal mode."""
    import sqlite3
    from urllib.parse import quote

    uri = f"file:{quote(str(path.resolve()))}?mode=ro"

    def connect() -> sqlite3.Connection:
        conn = sqlite3.connect(uri, uri=True, timeout=busy_timeout(), check_same_thread=False)
        try:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            return conn
        except sqlite3.OperationalError:
            # A WAL database in a directory we cannot write to (no -shm can be made): read it as it is on disk.
            conn.close()
            return sqlite3.connect(uri + "&immutable=1", uri=True, check_same_thread=False)

    return create_engine("sqlite://", creator=connect, json_serializer=dumps, json_deserializer=loads)


def reading(engine: Engine) -> Connection:
    """A connection for reads only. On SQLite its transaction is a plain (deferred) BEGIN: in WAL mode a
    reader sees a snapshot and neither waits for a writer nor holds one up. Every other transaction
    starts with BEGIN IMMEDIATE and takes SQLite's single write lock, so a read opened that way waited
    for every writer of every process, and a read made by a thread inside its own write transaction
    (through a second connection) waited for itself until the busy timeout: a 60 s stall."""
    return engine.connect().execution_options(**{READS_ONLY: True})


class NestedWrite(StateError):
    """A thread began a second write transaction while it holds one (SQLite has a single writer)."""


def _serialise_sqlite_writers(engine: Engine) -> None:
    """Every transaction but reading()'s starts with BEGIN IMMEDIATE: concurrent processes then queue on
    the busy timeout instead of failing when a reader tries to become a writer."""
    # dbapi connection -> the thread whose write transaction it holds. A second BEGIN IMMEDIATE by that
    # thread on another connection would wait for the thread itself until the busy timeout and then fail:
    # it fails at once instead.
    writers: dict[int, int] = {}

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(conn: Connection) -> None:
        if conn.get_execution_options().get(READS_ONLY):
            conn.exec_driver_sql("BEGIN")
            return
        mine, thread = id(conn.connection.dbapi_connection), threading.get_ident()
        if any(holder == thread and dbapi != mine for dbapi, holder in list(writers.items())):
            raise NestedWrite("a write transaction was begun on the state inside another one of the same thread; "
                              "SQLite has one writer, so it would wait for itself (a bug in senderctl: please "
                              "report it)")
        conn.exec_driver_sql("BEGIN IMMEDIATE")
        writers[mine] = thread

    def ended(conn: Connection) -> None:
        writers.pop(id(conn.connection.dbapi_connection), None)

    def checked_in(dbapi_connection: Any, _record: Any) -> None:
        writers.pop(id(dbapi_connection), None)

    event.listen(engine, "commit", ended)
    event.listen(engine, "rollback", ended)
    event.listen(engine.pool, "checkin", checked_in)


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
    with reading(engine) as conn:
        if current_revision(conn) == HEAD_REVISION:
            return
    from alembic import command

    with _migration_lock(engine, url), engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK_KEY})
        if current_revision(conn) != HEAD_REVISION:
            command.upgrade(alembic_config(conn), "head")


def check_current(engine: Engine, url: str) -> None:
    """A state opened read-only must already have the latest schema (it cannot be migrated)."""
    with reading(engine) as conn:
        revision = current_revision(conn)
    if revision != HEAD_REVISION:
        where = sqlite_path(url) or url
        raise StateError(f"the state {where} was written by {'another' if revision else 'no'} senderctl version "
                         f"(schema {revision or 'none'}, this one needs {HEAD_REVISION}) and is opened read-only "
                         "here, so it cannot be migrated: run a command that writes (e.g. `senderctl apply`) once "
                         "with write access")


def open_current(url: str) -> Engine | None:
    """A read-only engine on an existing state whose schema is current, without the ORM or the store (the
    read-only reports' short way in); None when the state is missing or not current, for the caller to
    open it through StateStore.open, which creates, migrates or says why it cannot."""
    path = sqlite_path(url)
    if path is not None and not path.exists():
        return None
    engine = create_state_engine(url, read_only=True)
    try:
        check_current(engine, url)
    except StateError:
        engine.dispose()
        return None
    except DBAPIError as exc:
        engine.dispose()
        raise StateError(database_problem(url, exc)) from None
    return engine


def database_failure(exc: BaseException, url: str | None) -> str | None:
    """The sentence for a database error raised mid-command (a lost connection, a read-only or corrupted
    file), or None when `exc` is not one."""
    from sqlalchemy.exc import SQLAlchemyError

    if not isinstance(exc, SQLAlchemyError):
        return None
    message = database_problem(url or "", exc)
    lowered = message.lower()
    if any(s in lowered for s in ("server closed", "connection", "terminating", "could not receive", "eof",
                                  "reconnect", "invalid transaction")):
        message += (". senderctl lost the connection to the state database mid-command: what finished before is recorded, "
                    "an interrupted Bird write is settled by the next apply; run the command again")
    return message


def database_problem(url: str, exc: BaseException) -> str:
    """One sentence for a database error: what went wrong with which state, and what to check."""
    from sqlalchemy.engine import make_url as parse

    try:
        shown = parse(url).render_as_string(hide_password=True)
    except Exception:
        shown = "<unparseable URL>"
    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
    path = sqlite_path(url) if shown != "<unparseable URL>" else None
    if path is not None:
        lowered = reason.lower()
        if "not a database" in lowered or "malformed" in lowered:
            hint = "the file is corrupted: restore it from a backup, or point --state at the right file"
        elif "readonly" in lowered or "read-only" in lowered:
            hint = f"the state is read-only here: this command writes, so make {path} and {path.parent} writable"
        elif "unable to open" in lowered and path.exists():
            hint = (f"SQLite cannot create its journal beside the file: this command writes, so make {path} and "
                    f"{path.parent} writable")
        elif "unable to open" in lowered:
            hint = f"check that {path.parent} exists and is readable"
        else:
            hint = "check --state or SENDERCTL_STATE"
        return f"cannot use the state file {path}: {reason}; {hint}"
    return (f"cannot open the state database {shown}: {reason}; check --state or SENDERCTL_STATE and that the "
            "database server is running and reachable")


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


def is_outage(exc: BaseException) -> bool:
    """The database cannot be reached or is busy (retry later), as opposed to refusing a statement."""
    from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    from controller.state.errors import StateError

    if isinstance(exc, StateError | OperationalError | InterfaceError | PoolTimeout):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)
