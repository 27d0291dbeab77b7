"""indexes on an alert's events: deleting an access event (the purge) looks up the alerts that
point at it, which without them scanned the whole alert table once per event deleted

Revision ID: 0011_alert_event_indexes
Revises: 0010_partitioned_access_log
Create Date: 2026-12-03 15:00:00

"""

from alembic import op

revision = "0011_alert_event_indexes"
down_revision = "0010_partitioned_access_log"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_alert_event_id", "alert", ["event_id"])
    op.create_index("ix_alert_closed_by_event_id", "alert", ["closed_by_event_id"])


def downgrade():
    op.drop_index("ix_alert_closed_by_event_id", table_name="alert")
    op.drop_index("ix_alert_event_id", table_name="alert")
