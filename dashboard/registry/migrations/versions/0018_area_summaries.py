"""the coverage area table's register side, shared by every app process and server

``postcode_point``: the reference's postcodes as points with their small area and district (filled
from the reference when the app starts). ``postcode_near``: per postcode, the registered sites within
50, 100 and 200 m. ``postcode_reach``: per distance, level and area, the registrations near one of its
postcodes and the raw sum of their keys. ``view_wedge``: the square tiles each counted camera's field
of view can reach. ``view_tile``: per tile, level and area, the pixels in view of the area's cameras.
``area_view``: per level and area, those pixels summed and the registrations counted in them. Kept
exact by the register's writes (``dashboard.registry.area_summaries``); an existing register's are
counted before the app serves (this migration marks the summaries as not built).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "postcode_point",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lsoa", sa.String(length=9), nullable=True),
        sa.Column("district", sa.String(length=9), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_postcode_point"),
    )
    op.create_index("ix_postcode_point_lat_lon", "postcode_point", ["lat", "lon"], unique=False)
    op.create_table(
        "postcode_near",
        sa.Column("postcode_id", sa.Integer(), autoincrement=False, nullable=False),
        *(sa.Column(f"near_{r}", sa.Integer(), nullable=False, server_default="0") for r in (50, 100, 200)),
        sa.PrimaryKeyConstraint("postcode_id", name="pk_postcode_near"),
    )
    op.create_table(
        "postcode_reach",
        sa.Column("radius", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("level", sa.String(length=8), nullable=False),
        sa.Column("code", sa.String(length=9), nullable=False),
        sa.Column("registrations", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("registrations_key", sa.BigInteger(), nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("radius", "level", "code", name="pk_postcode_reach"),
    )
    op.create_table(
        "view_wedge",
        sa.Column("tile", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("camera_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("tile", "camera_id", name="pk_view_wedge"),
    )
    op.create_index("ix_view_wedge_site_id", "view_wedge", ["site_id"], unique=False)
    op.create_table(
        "view_tile",
        sa.Column("tile", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("level", sa.String(length=8), nullable=False),
        sa.Column("code", sa.String(length=9), nullable=False),
        sa.Column("pixels", sa.Integer(), nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("tile", "level", "code", name="pk_view_tile"),
    )
    op.create_table(
        "area_view",
        sa.Column("level", sa.String(length=8), nullable=False),
        sa.Column("code", sa.String(length=9), nullable=False),
        sa.Column("registrations", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("registrations_key", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("pixels", sa.BigInteger(), nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("level", "code", name="pk_area_view"),
    )
    op.execute("UPDATE register_state SET summaries_built = FALSE")


def downgrade() -> None:
    for table in ("area_view", "view_tile", "view_wedge", "postcode_reach", "postcode_near", "postcode_point"):
        op.drop_table(table)
