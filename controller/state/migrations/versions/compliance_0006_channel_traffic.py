"""channel_traffic: per SMS channel, the last outbound message and how many the daemon counted

Revision ID: compliance_0006_channel_traffic
Revises: fencing_0005_leases
Create Date: 2026-12-03 23:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "compliance_0006_channel_traffic"
down_revision = "fencing_0005_leases"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "channel_traffic",
        sa.Column("channel_id", sa.String(length=100), nullable=False),
        sa.Column("outbound_count", sa.BigInteger(), nullable=False),
        sa.Column("last_outbound_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("channel_id"),
    )


def downgrade() -> None:
    op.drop_table("channel_traffic")
