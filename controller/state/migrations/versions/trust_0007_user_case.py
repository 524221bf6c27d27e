"""assignments: one live assignment per user whatever the case of the address (a unique index over
lower(user)), so two racing requests for ZOE@ and zoe@ cannot both succeed; provider_phones.billed_until:
an archived number Bird still bills until the end of its paid month

Revision ID: trust_0007_user_case
Revises: compliance_0006_channel_traffic
Create Date: 2026-12-03 23:00:00

A state written before the index may hold live assignments for one user under two cases (the old
index compared case). The migration must not fail on such a state, and it cannot tell which number
the person wants, so it keeps the oldest live assignment of each user (the number they had first,
which their contacts know) and ends the newer ones at the migration's time. The ended numbers stay
held and billed as before, unassigned; history keeps both rows, and each ended one is printed so an
operator can reassign it.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "trust_0007_user_case"
down_revision = "compliance_0006_channel_traffic"
branch_labels = None
depends_on = None

LIVE = "unassigned_at IS NULL"
INDEX = "uq_assignments_live_user"


def upgrade() -> None:
    # An archived number Bird still bills until the end of its paid month (see ProviderPhoneRow.billed_until).
    with op.batch_alter_table("provider_phones") as batch_op:
        batch_op.add_column(sa.Column("billed_until", sa.DateTime(), nullable=True))
    _end_case_duplicates(op.get_bind())
    op.drop_index(INDEX, table_name="assignments", sqlite_where=sa.text(LIVE), postgresql_where=sa.text(LIVE))
    op.create_index(INDEX, "assignments", ["organization", sa.text('lower("user")')], unique=True,
                    sqlite_where=sa.text(LIVE), postgresql_where=sa.text(LIVE))


def _end_case_duplicates(bind: sa.Connection) -> None:
    rows = bind.execute(sa.text(
        f'SELECT id, organization, number, "user" FROM assignments WHERE {LIVE} '
        "ORDER BY organization, assigned_at, id")).all()
    kept: set[tuple[str, str]] = set()
    now = datetime.now(UTC).replace(tzinfo=None)
    for row_id, organization, number, user in rows:
        identity = (organization, user.lower())
        if identity in kept:
            bind.execute(sa.text("UPDATE assignments SET unassigned_at = :at WHERE id = :id"), {"at": now, "id": row_id})
            print(f"senderctl state upgrade: {user} held a second number {number} in organization {organization} "
                  "under another case of the address; that newer assignment is ended (the number stays held)",
                  file=sys.stderr)
        kept.add(identity)


def downgrade() -> None:
    with op.batch_alter_table("provider_phones") as batch_op:
        batch_op.drop_column("billed_until")
    op.drop_index(INDEX, table_name="assignments", sqlite_where=sa.text(LIVE), postgresql_where=sa.text(LIVE))
    op.create_index(INDEX, "assignments", ["organization", "user"], unique=True,
                    sqlite_where=sa.text(LIVE), postgresql_where=sa.text(LIVE))
