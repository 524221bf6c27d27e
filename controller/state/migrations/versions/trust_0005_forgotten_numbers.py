"""provider phones: which record forgot a number still held, and when (adopted again before buying)

Revision ID: trust_0005_forgotten_numbers
Revises: inbox_0004_delivery_digest
Create Date: 2026-12-03 19:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "trust_0005_forgotten_numbers"
down_revision = "idem_0005_key_per_user"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("provider_phones", schema=None) as batch_op:
        batch_op.add_column(sa.Column("forgotten_by", sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column("forgotten_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("provider_phones", schema=None) as batch_op:
        batch_op.drop_column("forgotten_at")
        batch_op.drop_column("forgotten_by")
