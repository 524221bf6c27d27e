"""leases: one row per shard with a fencing epoch, their history, and the live replicas

Revision ID: fencing_0005_leases
Revises: inbox_0004_delivery_digest
Create Date: 2026-12-03 19:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "fencing_0005_leases"
down_revision = "trust_0006_one_record_per_id"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "leases",
        sa.Column("shard", sa.String(length=200), nullable=False),
        sa.Column("epoch", sa.BigInteger(), nullable=False),
        sa.Column("holder", sa.String(length=255), nullable=True),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("acquired_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("shard"),
    )
    op.create_table(
        "lease_epochs",
        sa.Column("shard", sa.String(length=200), nullable=False),
        sa.Column("epoch", sa.BigInteger(), nullable=False),
        sa.Column("holder", sa.String(length=255), nullable=False),
        sa.Column("acquired_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("shard", "epoch"),
    )
    op.create_table(
        "replicas",
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("pinned", sa.JSON(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("replicas")
    op.drop_table("lease_epochs")
    op.drop_table("leases")
