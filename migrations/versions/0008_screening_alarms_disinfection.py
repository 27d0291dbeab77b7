"""screening lists, door sensors and their alarms, disinfection of public areas, household
outing quotas

Revision ID: 0008_screening_alarms
Revises: 0007_residents_phones
Create Date: 2026-12-03 10:40:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0008_screening_alarms"
down_revision = "0007_residents_phones"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade():
    with op.batch_alter_table("compound", schema=None) as batch_op:
        batch_op.add_column(sa.Column("quota_exits", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("quota_days", sa.Integer(), server_default="1", nullable=False)
        )
        batch_op.add_column(sa.Column("quota_hours", sa.Integer(), nullable=True))

    op.create_table(
        "screening_list",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("source", sa.String(length=100), nullable=True),
        sa.Column("issued_on", sa.Date(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.ForeignKeyConstraint(["community_id"], ["community.id"]),
        sa.ForeignKeyConstraint(["created_by_id"], ["user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_screening_list_community_id", "screening_list", ["community_id"])

    op.create_table(
        "screening_row",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("list_id", sa.Integer(), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=True),
        sa.Column("address", sa.String(length=200), nullable=True),
        sa.Column("phone_hash", sa.String(length=64), nullable=True),
        sa.Column("phone_last4", sa.String(length=4), nullable=True),
        sa.Column("id_hash", sa.String(length=64), nullable=True),
        sa.Column("id_last4", sa.String(length=4), nullable=True),
        sa.Column("match", sa.String(length=10), nullable=False),
        sa.Column("candidate_ids", sa.String(length=200), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=True),
        sa.Column("call_status", sa.String(length=12), nullable=False),
        sa.Column("closed", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("note", sa.String(length=300), nullable=True),
        sa.Column("assigned_to_id", sa.Integer(), nullable=True),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", TS, nullable=True),
        sa.ForeignKeyConstraint(["list_id"], ["screening_list.id"]),
        sa.ForeignKeyConstraint(["resident_id"], ["resident.id"]),
        sa.ForeignKeyConstraint(["assigned_to_id"], ["user.id"]),
        sa.ForeignKeyConstraint(["updated_by_id"], ["user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_screening_row_list_status", "screening_row", ["list_id", "call_status"])
    op.create_index("ix_screening_row_resident_open", "screening_row", ["resident_id", "closed"])

    op.create_table(
        "door_sensor",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=True),
        sa.Column("enrol_code_hash", sa.String(length=64), nullable=True),
        sa.Column("enrol_expires_at", TS, nullable=True),
        sa.Column("enrolled_at", TS, nullable=True),
        sa.Column("heartbeat_seconds", sa.Integer(), nullable=False),
        sa.Column("last_seen_at", TS, nullable=True),
        sa.Column("battery_low", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("revoked_at", TS, nullable=True),
        sa.ForeignKeyConstraint(["household_id"], ["household.id"]),
        sa.ForeignKeyConstraint(["community_id"], ["community.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
        sa.UniqueConstraint("enrol_code_hash"),
    )
    op.create_index("ix_door_sensor_household_id", "door_sensor", ["household_id"])
    op.create_index("ix_door_sensor_community_id", "door_sensor", ["community_id"])

    op.create_table(
        "sensor_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sensor_id", sa.Integer(), nullable=False),
        sa.Column("event_key", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("received_at", TS, nullable=False),
        sa.ForeignKeyConstraint(["sensor_id"], ["door_sensor.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("sensor_id", "event_key"),
    )

    op.create_table(
        "door_alarm",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("sensor_id", sa.Integer(), nullable=False),
        sa.Column("sensor_event_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("raised_at", TS, nullable=False),
        sa.Column("acknowledged_at", TS, nullable=True),
        sa.Column("acknowledged_by_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.String(length=300), nullable=True),
        sa.ForeignKeyConstraint(["community_id"], ["community.id"]),
        sa.ForeignKeyConstraint(["household_id"], ["household.id"]),
        sa.ForeignKeyConstraint(["sensor_id"], ["door_sensor.id"]),
        sa.ForeignKeyConstraint(["sensor_event_id"], ["sensor_event.id"]),
        sa.ForeignKeyConstraint(["acknowledged_by_id"], ["user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_door_alarm_community_ack", "door_alarm", ["community_id", "acknowledged_at"]
    )

    op.create_table(
        "public_area",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("compound_id", sa.Integer(), nullable=False),
        sa.Column("building_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("times_per_day", sa.Integer(), nullable=False),
        sa.Column("fixed_times", sa.String(length=100), server_default="", nullable=False),
        sa.Column("sticker_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("retired_at", TS, nullable=True),
        sa.ForeignKeyConstraint(["compound_id"], ["compound.id"]),
        sa.ForeignKeyConstraint(["building_id"], ["building.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("sticker_hash"),
    )
    op.create_index("ix_public_area_compound_id", "public_area", ["compound_id"])

    op.create_table(
        "disinfection_record",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("area_id", sa.Integer(), nullable=False),
        sa.Column("worker_id", sa.Integer(), nullable=True),
        sa.Column("done_at", TS, nullable=False),
        sa.Column("photo", sa.LargeBinary(), nullable=True),
        sa.Column("photo_type", sa.String(length=30), nullable=True),
        sa.Column("note", sa.String(length=300), nullable=True),
        sa.ForeignKeyConstraint(["area_id"], ["public_area.id"]),
        sa.ForeignKeyConstraint(["worker_id"], ["user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_disinfection_record_area_done", "disinfection_record", ["area_id", "done_at"]
    )


def downgrade():
    op.drop_index("ix_disinfection_record_area_done", table_name="disinfection_record")
    op.drop_table("disinfection_record")
    op.drop_index("ix_public_area_compound_id", table_name="public_area")
    op.drop_table("public_area")
    op.drop_index("ix_door_alarm_community_ack", table_name="door_alarm")
    op.drop_table("door_alarm")
    op.drop_table("sensor_event")
    op.drop_index("ix_door_sensor_community_id", table_name="door_sensor")
    op.drop_index("ix_door_sensor_household_id", table_name="door_sensor")
    op.drop_table("door_sensor")
    op.drop_index("ix_screening_row_resident_open", table_name="screening_row")
    op.drop_index("ix_screening_row_list_status", table_name="screening_row")
    op.drop_table("screening_row")
    op.drop_index("ix_screening_list_community_id", table_name="screening_list")
    op.drop_table("screening_list")
    with op.batch_alter_table("compound", schema=None) as batch_op:
        batch_op.drop_column("quota_hours")
        batch_op.drop_column("quota_days")
        batch_op.drop_column("quota_exits")
