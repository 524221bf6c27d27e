"""platform API: tokens (hashes only), idempotent purchases, and who owns each number and assignment

Revision ID: api_0003_platform_api
Revises: 0002_webhook_events
Create Date: 2026-12-01 19:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "api_0003_platform_api"
down_revision = "0002_webhook_events"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("organization", sa.String(length=63), nullable=False),
        sa.Column("user", sa.String(length=320), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("scopes", sa.String(length=200), nullable=False),
        sa.Column("workspace", sa.String(length=63), nullable=True),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_tokens_organization"), ["organization"], unique=False)

    op.create_table(
        "api_purchases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization", sa.String(length=63), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=True),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requested_by", sa.String(length=320), nullable=False),
        sa.Column("workspace", sa.String(length=63), nullable=True),
        sa.Column("number", sa.String(length=20), nullable=True),
        sa.Column("bird_number_id", sa.String(length=200), nullable=True),
        sa.Column("connector_id", sa.String(length=200), nullable=True),
        sa.Column("channel_id", sa.String(length=200), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("lease_until", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("organization", "idempotency_key", name="uq_api_purchases_org_key"),
    )
    with op.batch_alter_table("api_purchases", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_purchases_organization"), ["organization"], unique=False)
        batch_op.create_index(batch_op.f("ix_api_purchases_status"), ["status"], unique=False)

    for table in ("provider_phones", "assignments", "workspace_phones"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("owner", sa.String(length=8), nullable=False, server_default="specs"))
    with op.batch_alter_table("workspace_phones", schema=None) as batch_op:
        batch_op.add_column(sa.Column("label", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("workspace_phones", schema=None) as batch_op:
        batch_op.drop_column("label")
    for table in ("provider_phones", "assignments", "workspace_phones"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("owner")
    with op.batch_alter_table("api_purchases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_purchases_status"))
        batch_op.drop_index(batch_op.f("ix_api_purchases_organization"))
    op.drop_table("api_purchases")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_tokens_organization"))
    op.drop_table("api_tokens")
