"""platform API: an Idempotency-Key belongs to the user who sent it, not to the whole organization, so
another user's request with the same key is its own purchase

Revision ID: idem_0005_key_per_user
Revises: inbox_0004_delivery_digest
Create Date: 2026-12-03 19:40:00
"""

from __future__ import annotations

from alembic import op

revision = "idem_0005_key_per_user"
down_revision = "inbox_0004_delivery_digest"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_purchases", schema=None) as batch_op:
        batch_op.drop_constraint("uq_api_purchases_org_key", type_="unique")
        batch_op.create_unique_constraint("uq_api_purchases_org_user_key",
                                          ["organization", "requested_by", "idempotency_key"])


def downgrade() -> None:
    with op.batch_alter_table("api_purchases", schema=None) as batch_op:
        batch_op.drop_constraint("uq_api_purchases_org_user_key", type_="unique")
        batch_op.create_unique_constraint("uq_api_purchases_org_key", ["organization", "idempotency_key"])
