"""withdrawal leaves nothing that locates or describes a camera

Erasure (owner withdrawal, erasure on request, retention) used to keep the site's small area
(LSOA) and its three H3 cells (the finest about 0.1 km2), and every camera's description (kind,
mount, placement, direction, field of view, recording mode, retention, what it overlooks). None of
that is needed once the registration has ended: the uptake history counts ended registrations by
district and day, with their cameras' number and record keys. These columns become nullable and
are cleared on every registration that has already ended.

On SQLite the site and camera tables are rebuilt (batch mode); the migration environment turns
foreign keys off around it, so rebuilding ``site`` does not cascade into ``camera``.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

SITE_COLUMNS = {"kind": sa.String(10), "h3_r7": sa.String(15), "h3_r8": sa.String(15), "h3_r9": sa.String(15)}
CAMERA_COLUMNS = {
    "kind": sa.String(10),
    "placement": sa.String(8),
    "recording_mode": sa.String(10),
    "overlooks": sa.String(60),
}
SITE_ERASED = ("kind", "lsoa_code", "h3_r7", "h3_r8", "h3_r9")
CAMERA_ERASED = (
    "kind",
    "mount",
    "placement",
    "direction_deg",
    "fov_angle_deg",
    "fov_range_m",
    "recording_mode",
    "retention_days",
    "overlooks",
)


def upgrade() -> None:
    with op.batch_alter_table("site") as batch:
        for name, type_ in SITE_COLUMNS.items():
            batch.alter_column(name, existing_type=type_, nullable=True)
    with op.batch_alter_table("camera") as batch:
        for name, type_ in CAMERA_COLUMNS.items():
            batch.alter_column(name, existing_type=type_, nullable=True)
    ended = "SELECT id FROM registrant WHERE status <> 'active'"
    op.execute(f"UPDATE site SET {', '.join(f'{c} = NULL' for c in SITE_ERASED)} WHERE registrant_id IN ({ended})")
    op.execute(
        f"UPDATE camera SET {', '.join(f'{c} = NULL' for c in CAMERA_ERASED)} "
        f"WHERE site_id IN (SELECT id FROM site WHERE registrant_id IN ({ended}))"
    )


# What a downgrade writes into the erased rows so that 0008's NOT NULL columns hold: placeholders, not
# descriptions (erasure cannot be undone; restore a backup for that). The rows stay ended and inactive.
PLACEHOLDERS = {
    "site": {"kind": "'other'", "h3_r7": "''", "h3_r8": "''", "h3_r9": "''"},
    "camera": {"kind": "'other'", "placement": "'outdoor'", "recording_mode": "'motion'", "overlooks": "''"},
}


def downgrade() -> None:
    for table, values in PLACEHOLDERS.items():
        for column, value in values.items():
            op.execute(f"UPDATE {table} SET {column} = {value} WHERE {column} IS NULL")
    with op.batch_alter_table("camera") as batch:
        for name, type_ in CAMERA_COLUMNS.items():
            batch.alter_column(name, existing_type=type_, nullable=False)
    with op.batch_alter_table("site") as batch:
        for name, type_ in SITE_COLUMNS.items():
            batch.alter_column(name, existing_type=type_, nullable=False)
