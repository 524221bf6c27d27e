"""resources: one record per Bird object (a unique index over the Bird ids held)

Revision ID: trust_0006_one_record_per_id
Revises: trust_0005_forgotten_numbers
Create Date: 2026-12-03 19:45:00

A state written before the index may hold one Bird id in two records (two specs flipping one Bird
object between them). The oldest record keeps the id; the others lose it, so that the next plan
finds the object by its natural key again and refuses, naming both specs, until one is changed.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "trust_0006_one_record_per_id"
down_revision = "trust_0005_forgotten_numbers"
branch_labels = None
depends_on = None

WHERE = "bird_id IS NOT NULL"


def upgrade() -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.text(
        f"SELECT address, bird_id FROM resources WHERE {WHERE} ORDER BY bird_id, created_at, address")).all()
    seen: set[str] = set()
    for address, bird_id in rows:
        if bird_id in seen:
            bind.execute(sa.text("UPDATE resources SET bird_id = NULL WHERE address = :a"), {"a": address})
        seen.add(bird_id)
    op.create_index("uq_resources_bird_id", "resources", ["bird_id"], unique=True,
                    sqlite_where=sa.text(WHERE), postgresql_where=sa.text(WHERE))


def downgrade() -> None:
    op.drop_index("uq_resources_bird_id", table_name="resources")
