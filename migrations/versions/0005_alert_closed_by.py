"""a fever alert closed by a second reading at the gate

Revision ID: 0005_alert_closed_by
Revises: 0004_person_state
Create Date: 2026-12-01 22:30:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0005_alert_closed_by"
down_revision = "0004_person_state"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.add_column(sa.Column("closed_by_event_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            "fk_alert_closed_by_event_id_access_event",
            "access_event",
            ["closed_by_event_id"],
            ["id"],
        )


def downgrade():
    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.drop_constraint("fk_alert_closed_by_event_id_access_event", type_="foreignkey")
        batch_op.drop_column("closed_by_event_id")
