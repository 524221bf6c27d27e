"""Alembic environment: runs on the connection senderctl hands it (see controller.state.db.upgrade)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine
from sqlmodel import SQLModel

import controller.state.tables  # noqa: F401  (registers the tables on SQLModel.metadata)
import controller.state.webhook_inbox  # noqa: F401  (and the daemon's webhook inbox)

target_metadata = SQLModel.metadata
config = context.config


def run_on(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    run_on(connection)
else:  # the alembic command line, e.g. `alembic revision --autogenerate` during development
    engine = create_engine(config.get_main_option("sqlalchemy.url"))
    with engine.begin() as conn:
        run_on(conn)
