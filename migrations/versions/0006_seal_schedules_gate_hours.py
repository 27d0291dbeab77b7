"""seals scheduled from/until a time; gates' opening hours

Revision ID: 0006_seal_schedules_gate_hours
Revises: 0005_alert_closed_by
Create Date: 2026-12-03 09:30:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0006_seal_schedules_gate_hours"
down_revision = "0005_alert_closed_by"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "seal_schedule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("target_kind", sa.String(length=10), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("compound_id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["compound_id"], ["compound.id"]),
        sa.ForeignKeyConstraint(["community_id"], ["community.id"]),
        sa.ForeignKeyConstraint(["created_by_id"], ["user.id"]),
        sa.ForeignKeyConstraint(["cancelled_by_id"], ["user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("seal_schedule", schema=None) as batch_op:
        batch_op.create_index(
            "ix_seal_schedule_compound_ends", ["compound_id", "ends_at"], unique=False
        )
        batch_op.create_index(
            "ix_seal_schedule_target", ["target_kind", "target_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_seal_schedule_community_id"), ["community_id"], unique=False
        )
    with op.batch_alter_table("gate", schema=None) as batch_op:
        batch_op.add_column(sa.Column("opens_at", sa.Time(), nullable=True))
        batch_op.add_column(sa.Column("closes_at", sa.Time(), nullable=True))


def downgrade():
    with op.batch_alter_table("gate", schema=None) as batch_op:
        batch_op.drop_column("closes_at")
        batch_op.drop_column("opens_at")
    with op.batch_alter_table("seal_schedule", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_seal_schedule_community_id"))
        batch_op.drop_index("ix_seal_schedule_target")
        batch_op.drop_index("ix_seal_schedule_compound_ends")
    op.drop_table("seal_schedule")
