"""webhook inbox: each delivery's digest (what its signature covers), unique, so a replay is recognised
whatever request id it carries

Revision ID: inbox_0004_delivery_digest
Revises: api_0003_platform_api
Create Date: 2026-12-08 16:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "inbox_0004_delivery_digest"
down_revision = "api_0003_platform_api"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("webhook_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("digest", sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f("ix_webhook_events_digest"), ["digest"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("webhook_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webhook_events_digest"))
        batch_op.drop_column("digest")
