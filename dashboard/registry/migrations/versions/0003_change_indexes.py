"""indexes that make "has the register changed?" a constant-time question

The officer search keeps an in-memory index of active cameras; it asks for the newest
``updated_at`` of registrants and cameras to decide whether to rebuild it. With these indexes
that is an index lookup instead of a scan of a million rows.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_registrant_updated_at", "registrant", ["updated_at"])
    op.create_index("ix_camera_updated_at", "camera", ["updated_at"])


def downgrade() -> None:
    op.drop_index("ix_camera_updated_at", table_name="camera")
    op.drop_index("ix_registrant_updated_at", table_name="registrant")
