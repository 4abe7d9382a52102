"""the uptake page's summaries, shared by every app process and server

``uptake_day``: per series, UK day and district, true counts with raw sums of their record keys:
``made`` (every registration ever made, by its day of consent: the live ones' keys, the erased ones'
being in ``retired_key``; every camera registered with them, switched-off ones too) and
``withdrawn`` (owner withdrawals by the day withdrawn). ``register_mix``: per district, aspect and
value, the active cameras (kind, indoors or outdoors, retention class, details given, all) and the
registrations with one. Kept exact by the register's writes (``dashboard.registry.summaries``); an
existing register's are computed before the app serves (this migration marks the summaries as not
built). An index lets the registrations due to confirm be counted without reading the register.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def _sums() -> list[sa.Column]:
    return [
        sa.Column("registrations", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("registrations_key", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("cameras", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("cameras_key", sa.BigInteger(), nullable=False, server_default="0"),
    ]


def upgrade() -> None:
    op.create_table(
        "uptake_day",
        sa.Column("series", sa.String(length=10), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("district_code", sa.String(length=9), nullable=False),
        *_sums(),
        sa.PrimaryKeyConstraint("series", "day", "district_code", name="pk_uptake_day"),
    )
    op.create_table(
        "register_mix",
        sa.Column("district_code", sa.String(length=9), nullable=False),
        sa.Column("aspect", sa.String(length=10), nullable=False),
        sa.Column("value", sa.String(length=24), nullable=False),
        *_sums(),
        sa.PrimaryKeyConstraint("district_code", "aspect", "value", name="pk_register_mix"),
    )
    op.create_index("ix_registrant_status_confirmed_key", "registrant", ["status", "last_confirmed_at", "record_key"])
    op.execute("UPDATE register_state SET summaries_built = FALSE")


def downgrade() -> None:
    op.drop_index("ix_registrant_status_confirmed_key", table_name="registrant")
    op.drop_table("register_mix")
    op.drop_table("uptake_day")
