"""a record key on every uploaded file, so that counts of files (accepted, declined, why) can pass the
disclosure-control layer like every other count

``evidence_file.record_key``: random, 0-255, drawn when the row is made (the model's default); existing
rows get random keys here. As every record key, it only ever becomes part of a cell key, never a figure.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    with op.batch_alter_table("evidence_file", schema=None) as batch_op:
        batch_op.add_column(sa.Column("record_key", sa.SmallInteger(), nullable=True))
    random_key = "abs(random()) % 256" if bind.dialect.name == "sqlite" else "floor(random() * 256)::smallint"
    op.execute(f"UPDATE evidence_file SET record_key = {random_key}")


def downgrade() -> None:
    with op.batch_alter_table("evidence_file", schema=None) as batch_op:
        batch_op.drop_column("record_key")
