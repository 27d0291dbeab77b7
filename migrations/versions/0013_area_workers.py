"""a disinfection area's worker: the office assigns each area to a worker of its community

Revision ID: 0013_area_workers
Revises: 0012_partitioned_visits
Create Date: 2026-12-03 20:20:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0013_area_workers"
down_revision = "0012_partitioned_visits"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("public_area", schema=None) as batch_op:
        batch_op.add_column(sa.Column("worker_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_public_area_worker_id"), ["worker_id"], unique=False)
        batch_op.create_foreign_key("fk_public_area_worker_id", "user", ["worker_id"], ["id"])


def downgrade():
    with op.batch_alter_table("public_area", schema=None) as batch_op:
        batch_op.drop_constraint("fk_public_area_worker_id", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_public_area_worker_id"))
        batch_op.drop_column("worker_id")
