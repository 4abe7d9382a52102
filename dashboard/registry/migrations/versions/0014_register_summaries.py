"""the register's version and its coverage summary, shared by every app process and server

``register_state``: one row, the register's version (raised by every write that changes the
register, in the write's own transaction) and whether the summary tables have been computed.
``coverage_cell``: active registrations and cameras per fixed H3 cell and camera choice, and
``register_count``: per district, small area and UK day of consent; true counts with raw sums of their
record keys, kept exact by the register's writes
(``dashboard.registry.summaries``). An existing register's summaries are computed after this
migration, before the app serves (``summaries.ensure_built``): the row starts with
``summaries_built`` false.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "register_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("changed_at", sa.DateTime(), nullable=True),
        sa.Column("summaries_built", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.CheckConstraint("id = 1", name="ck_register_state_one_row"),
        sa.PrimaryKeyConstraint("id", name="pk_register_state"),
    )
    op.execute("INSERT INTO register_state (id, version, summaries_built) VALUES (1, 0, FALSE)")
    op.create_table(
        "coverage_cell",
        sa.Column("res", sa.SmallInteger(), nullable=False),
        sa.Column("choice", sa.String(length=20), nullable=False),
        sa.Column("cell", sa.String(length=15), nullable=False),
        sa.Column("registrations", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("registrations_key", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("cameras", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("cameras_key", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("left_out", sa.Integer(), nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("res", "choice", "cell", name="pk_coverage_cell"),
    )
    op.create_table(
        "register_count",
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("code", sa.String(length=10), nullable=False),
        sa.Column("registrations", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("registrations_key", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("cameras", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("cameras_key", sa.BigInteger(), nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("kind", "code", name="pk_register_count"),
    )


def downgrade() -> None:
    op.drop_table("register_count")
    op.drop_table("coverage_cell")
    op.drop_table("register_state")
