"""visits partitioned by week of their registration on PostgreSQL, like the access log

Revision ID: 0012_partitioned_visits
Revises: 0011_alert_event_indexes
Create Date: 2026-12-03 15:00:00

"""

from datetime import UTC, datetime

from alembic import op

from kiosk import partitions

revision = "0012_partitioned_visits"
down_revision = "0011_alert_event_indexes"
branch_labels = None
depends_on = None


def upgrade():
    partitions.convert(op.get_bind(), datetime.now(UTC), "visit")


def downgrade():
    partitions.revert(op.get_bind(), "visit")
