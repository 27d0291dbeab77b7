"""person state for concurrent scans; the guard's override reason in its own column

Revision ID: 0004_person_state
Revises: 0003
Create Date: 2026-12-01 15:30:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0004_person_state"
down_revision = "0003"
branch_labels = None
depends_on = None

OVERRIDE_REASONS = ("known_resident", "checked_id", "medical", "official", "other")


def upgrade():
    with op.batch_alter_table("resident", schema=None) as batch_op:
        batch_op.add_column(sa.Column("presence", sa.String(length=3), nullable=True))
        batch_op.add_column(
            sa.Column("state_version", sa.Integer(), server_default="0", nullable=False)
        )
    with op.batch_alter_table("access_event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("override_reason", sa.String(length=20), nullable=True))
    # Where each person is now, by their last allowed passage with any pass.
    op.execute(
        "UPDATE resident SET presence = (SELECT e.direction FROM access_event e "
        "WHERE e.resident_id = resident.id AND e.decision = 'allow' "
        "ORDER BY e.id DESC LIMIT 1)"
    )
    # An allowed override's note began with its reason code: move it to its column.
    for code in OVERRIDE_REASONS:
        op.execute(
            sa.text(
                "UPDATE access_event SET override_reason = :code, note = NULLIF(TRIM(SUBSTR("
                "note, :n)), '') WHERE override AND decision = 'allow' "
                "AND (note = :code OR note LIKE :prefix)"
            ).bindparams(code=code, n=len(code) + 1, prefix=code + " %")
        )
    # Keep only the first override of a scan before making it unique.
    op.execute(
        "DELETE FROM access_event WHERE override AND id NOT IN "
        "(SELECT MIN(id) FROM access_event WHERE override GROUP BY parent_id) "
        "AND id NOT IN (SELECT event_id FROM alert)"
    )
    op.create_index(
        "uq_access_event_override_of",
        "access_event",
        ["parent_id"],
        unique=True,
        sqlite_where=sa.text("override"),
        postgresql_where=sa.text("override"),
    )


def downgrade():
    op.drop_index(
        "uq_access_event_override_of",
        table_name="access_event",
        sqlite_where=sa.text("override"),
        postgresql_where=sa.text("override"),
    )
    op.execute(
        "UPDATE access_event SET note = override_reason || COALESCE(' ' || note, '') "
        "WHERE override_reason IS NOT NULL"
    )
    with op.batch_alter_table("access_event", schema=None) as batch_op:
        batch_op.drop_column("override_reason")
    with op.batch_alter_table("resident", schema=None) as batch_op:
        batch_op.drop_column("state_version")
        batch_op.drop_column("presence")
