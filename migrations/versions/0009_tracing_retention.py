"""tracing and retention: a street's retention period, purge runs, daily counts per gate kept
after a purge, residents who moved away, public areas made due now by a trace

Revision ID: 0009_tracing_retention
Revises: 0008_screening_alarms
Create Date: 2026-12-03 13:45:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0009_tracing_retention"
down_revision = "0008_screening_alarms"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade():
    with op.batch_alter_table("street", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("retention_days", sa.Integer(), server_default="28", nullable=False)
        )
    with op.batch_alter_table("resident", schema=None) as batch_op:
        batch_op.add_column(sa.Column("moved_away_at", TS, nullable=True))
    with op.batch_alter_table("public_area", schema=None) as batch_op:
        batch_op.add_column(sa.Column("due_now_at", TS, nullable=True))

    op.create_table(
        "purge_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("street_id", sa.Integer(), nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("finished_at", TS, nullable=True),
        sa.Column("cutoff", TS, nullable=False),
        sa.Column("retention_days", sa.Integer(), nullable=False),
        sa.Column("deleted", sa.Text(), nullable=False, server_default="{}"),
        sa.ForeignKeyConstraint(["street_id"], ["street.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_purge_run_street_started", "purge_run", ["street_id", "started_at"])

    op.create_table(
        "gate_daily_count",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("gate_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("direction", sa.String(length=3), nullable=False),
        sa.Column("decision", sa.String(length=5), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["gate_id"], ["gate.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "gate_id", "day", "direction", "decision", name="uq_gate_daily_count"
        ),
    )


def downgrade():
    op.drop_table("gate_daily_count")
    op.drop_index("ix_purge_run_street_started", table_name="purge_run")
    op.drop_table("purge_run")
    with op.batch_alter_table("public_area", schema=None) as batch_op:
        batch_op.drop_column("due_now_at")
    with op.batch_alter_table("resident", schema=None) as batch_op:
        batch_op.drop_column("moved_away_at")
    with op.batch_alter_table("street", schema=None) as batch_op:
        batch_op.drop_column("retention_days")
