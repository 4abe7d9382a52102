"""Server-side login sessions (so logout and disabling a user end them at once) and the
registration lifecycle: why a registration ended, and when the retention check flagged it

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sid_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.Column("end_reason", sa.String(length=12), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["app_user.id"], name=op.f("fk_login_session_user_id_app_user"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_session")),
        sa.UniqueConstraint("sid_hash", name=op.f("uq_login_session_sid_hash")),
    )
    op.create_index(op.f("ix_login_session_user_id"), "login_session", ["user_id"])
    op.add_column("registrant", sa.Column("end_reason", sa.String(length=10), nullable=True))
    op.add_column("registrant", sa.Column("retention_flagged_at", sa.DateTime(), nullable=True))
    op.create_index(op.f("ix_registrant_retention_flagged_at"), "registrant", ["retention_flagged_at"])
    # Every registration that ended before this revision was withdrawn by its owner.
    op.execute("UPDATE registrant SET end_reason = 'owner' WHERE status = 'withdrawn'")


def downgrade() -> None:
    op.drop_index(op.f("ix_registrant_retention_flagged_at"), table_name="registrant")
    # Plain DROP COLUMN (SQLite 3.35+): batch mode would rebuild "registrant", which "site" references.
    op.drop_column("registrant", "retention_flagged_at")
    op.drop_column("registrant", "end_reason")
    op.drop_index(op.f("ix_login_session_user_id"), table_name="login_session")
    op.drop_table("login_session")
