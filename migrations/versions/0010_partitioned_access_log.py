"""the access log partitioned by week on PostgreSQL; a device's request id and a scan's one
decision kept unique in tables of their own

Revision ID: 0010_partitioned_access_log
Revises: 0009_tracing_retention
Create Date: 2026-12-03 14:00:00

"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from kiosk import partitions

revision = "0010_partitioned_access_log"
down_revision = "0009_tracing_retention"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade():
    op.create_table(
        "scan_request",
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("occurred_at", TS, nullable=False),
        sa.ForeignKeyConstraint(["device_id"], ["device.id"]),
        sa.PrimaryKeyConstraint("device_id", "request_id"),
    )
    op.create_index("ix_scan_request_occurred_at", "scan_request", ["occurred_at"])
    op.create_table(
        "scan_decision",
        sa.Column("parent_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("occurred_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("parent_id"),
    )
    op.create_index("ix_scan_decision_occurred_at", "scan_decision", ["occurred_at"])
    op.execute(
        "INSERT INTO scan_request (device_id, request_id, event_id, occurred_at) "
        "SELECT device_id, request_id, id, occurred_at FROM access_event "
        "WHERE device_id IS NOT NULL AND request_id IS NOT NULL"
    )
    op.execute(
        "INSERT INTO scan_decision (parent_id, event_id, occurred_at) "
        "SELECT parent_id, id, occurred_at FROM access_event WHERE override AND parent_id IS NOT NULL"
    )
    op.drop_index("uq_access_event_override_of", table_name="access_event")
    with op.batch_alter_table("access_event", schema=None) as batch_op:
        batch_op.drop_constraint("uq_access_event_device_request", type_="unique")
    partitions.convert(op.get_bind(), datetime.now(UTC))


def downgrade():
    partitions.revert(op.get_bind())
    with op.batch_alter_table("access_event", schema=None) as batch_op:
        batch_op.create_unique_constraint(
            "uq_access_event_device_request", ["device_id", "request_id"]
        )
    op.create_index(
        "uq_access_event_override_of",
        "access_event",
        ["parent_id"],
        unique=True,
        sqlite_where=sa.text("override"),
        postgresql_where=sa.text("override"),
    )
    op.drop_index("ix_scan_decision_occurred_at", table_name="scan_decision")
    op.drop_table("scan_decision")
    op.drop_index("ix_scan_request_occurred_at", table_name="scan_request")
    op.drop_table("scan_request")
