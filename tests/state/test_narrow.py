"""The Core descriptions of controller.state.narrow must name the ORM tables' columns, with their types:
a renamed or retyped column would otherwise make `senderctl costs` read nothing, or the wrong values."""

from __future__ import annotations

import pytest
from sqlalchemy.types import TypeDecorator, TypeEngine
from sqlmodel import SQLModel

import controller.state.tables  # noqa: F401  (registers the ORM tables)
from controller.state.narrow import NARROW_TABLES


def _effective(column_type: TypeEngine) -> TypeEngine:
    """sqlmodel's own wrappers (AutoString) stand for the SQLAlchemy type they wrap; ours (Money,
    UTCDateTime) are compared as they are."""
    if isinstance(column_type, TypeDecorator) and type(column_type).__module__.startswith("sqlmodel"):
        return column_type.impl_instance
    return column_type


@pytest.mark.parametrize("narrow", NARROW_TABLES, ids=lambda t: t.name)
def test_each_narrow_column_is_the_orm_tables(narrow) -> None:
    orm = SQLModel.metadata.tables[narrow.name]
    for column in narrow.c:
        assert column.name in orm.c, f"{narrow.name}.{column.name} is not a column of the ORM table"
        want, got = _effective(orm.c[column.name].type), column.type
        assert type(got) is type(want), (
            f"{narrow.name}.{column.name}: {type(got).__name__} here, {type(want).__name__} in the ORM table")


def test_a_report_reads_the_state_without_the_orm() -> None:
    """`costs` answers in under a second at 10,000 numbers partly because it never builds the ORM tables:
    a subprocess imports its path and checks sqlmodel stayed out."""
    import subprocess
    import sys

    code = ("import sys, controller.operations.costs, controller.state.run_rate, controller.state.traffic\n"
            "heavy = sorted(m for m in ('sqlmodel', 'controller.state.tables', 'controller.state.store', "
            "'controller.resources.brand', 'specs') if m in sys.modules)\n"
            "assert not heavy, heavy\n")
    subprocess.run([sys.executable, "-c", code], check=True)
