"""police.uk street-level crime records, imported for gap analysis

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "crime_import",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("without_coordinates", sa.Integer(), nullable=False),
        sa.Column("imported_at", sa.DateTime(), nullable=False),
        sa.Column("imported_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["imported_by_id"], ["app_user.id"], name=op.f("fk_crime_import_imported_by_id_app_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crime_import")),
        sa.UniqueConstraint("file_sha256", name=op.f("uq_crime_import_file_sha256")),
    )
    op.create_table(
        "crime",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("import_id", sa.Integer(), nullable=False),
        sa.Column("crime_ref", sa.String(length=80), nullable=True),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("reported_by", sa.String(length=80), nullable=False),
        sa.Column("falls_within", sa.String(length=80), nullable=False),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("location", sa.String(length=200), nullable=False),
        sa.Column("lsoa_code", sa.String(length=9), nullable=True),
        sa.Column("lsoa_name", sa.String(length=80), nullable=True),
        sa.Column("crime_type", sa.String(length=60), nullable=False),
        sa.Column("last_outcome", sa.String(length=120), nullable=False),
        sa.Column("context", sa.String(length=500), nullable=False),
        sa.CheckConstraint("lat IS NULL OR (lat BETWEEN -90 AND 90)", name=op.f("ck_crime_lat")),
        sa.CheckConstraint("lon IS NULL OR (lon BETWEEN -180 AND 180)", name=op.f("ck_crime_lon")),
        sa.ForeignKeyConstraint(
            ["import_id"], ["crime_import.id"], name=op.f("fk_crime_import_id_crime_import"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crime")),
    )
    with op.batch_alter_table("crime") as batch_op:
        batch_op.create_index(batch_op.f("ix_crime_import_id"), ["import_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_crime_month"), ["month"], unique=False)
        batch_op.create_index(batch_op.f("ix_crime_lsoa_code"), ["lsoa_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_crime_crime_type"), ["crime_type"], unique=False)


def downgrade() -> None:
    op.drop_table("crime")
    op.drop_table("crime_import")
