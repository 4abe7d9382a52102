"""the gap analysis's register side, shared by every app process and server

``crime.area_lsoa``, ``area_district``, ``area_decile``: where the gap analysis counts a crime
(decided from the reference geography when crimes are imported). ``gap_crime``: per counted crime,
the registered sites within each offered distance and the sites with a camera seeing it.
``gap_reach``: per distance, level and area, the registrations near or seeing one of its crimes and
the raw sum of their keys. Kept exact by the register's writes (``dashboard.registry.gap_summaries``);
an existing register's crimes are placed and counted before the app serves (this migration marks the
summaries as not built). An index on the crimes' position finds those around a site.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("crime") as batch_op:
        batch_op.add_column(sa.Column("area_lsoa", sa.String(length=9), nullable=True))
        batch_op.add_column(sa.Column("area_district", sa.String(length=9), nullable=True))
        batch_op.add_column(sa.Column("area_decile", sa.SmallInteger(), nullable=True))
        batch_op.create_index("ix_crime_lat_lon", ["lat", "lon"], unique=False)
    op.create_table(
        "gap_crime",
        sa.Column("crime_id", sa.Integer(), autoincrement=False, nullable=False),
        *(sa.Column(f"near_{r}", sa.Integer(), nullable=False, server_default="0") for r in (50, 100, 200, 500)),
        sa.Column("seeing", sa.Integer(), nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("crime_id", name="pk_gap_crime"),
    )
    op.create_table(
        "gap_reach",
        sa.Column("radius", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("level", sa.String(length=8), nullable=False),
        sa.Column("code", sa.String(length=9), nullable=False),
        sa.Column("registrations", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("registrations_key", sa.BigInteger(), nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("radius", "level", "code", name="pk_gap_reach"),
    )
    op.execute("UPDATE register_state SET summaries_built = FALSE")


def downgrade() -> None:
    op.drop_table("gap_reach")
    op.drop_table("gap_crime")
    with op.batch_alter_table("crime") as batch_op:
        batch_op.drop_index("ix_crime_lat_lon")
        batch_op.drop_column("area_decile")
        batch_op.drop_column("area_district")
        batch_op.drop_column("area_lsoa")
