"""initial registry schema

Tables of the registry, plus per-backend extras: on PostgreSQL a PostGIS point geometry on
`site` (EPSG:27700, generated from easting/northing so it can never disagree with them) with a
GiST index; on both backends triggers that make `audit_event` append-only.

Revision ID: 0001
Revises:
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "app_user",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=10), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_login_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint("role IN ('officer', 'analyst', 'lead', 'auditor', 'admin')", name=op.f("ck_app_user_role")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_app_user")),
        sa.UniqueConstraint("username", name=op.f("uq_app_user_username")),
    )
    op.create_table(
        "audit_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("username", sa.String(length=64), nullable=True),
        sa.Column("role", sa.String(length=10), nullable=True),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("case_ref", sa.String(length=40), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("subject_ids", sa.Text(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("row_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_event")),
        sa.UniqueConstraint("row_hash", name=op.f("uq_audit_event_row_hash")),
    )
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_event_action"), ["action"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_event_case_ref"), ["case_ref"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_event_occurred_at"), ["occurred_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_event_user_id"), ["user_id"], unique=False)

    op.create_table(
        "campaign",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "channel IN ('internal_message', 'poster', 'social_media', 'leaflet', 'press', 'other')",
            name=op.f("ck_campaign_channel"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign")),
        sa.UniqueConstraint("slug", name=op.f("uq_campaign_slug")),
    )
    op.create_table(
        "registrant",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("preferred_channel", sa.String(length=10), nullable=True),
        sa.Column("consent_at", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("last_confirmed_at", sa.DateTime(), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(), nullable=True),
        sa.Column("management_token_hash", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("preferred_channel IN ('email', 'phone', 'text')", name=op.f("ck_registrant_channel")),
        sa.CheckConstraint(
            "status = 'withdrawn' OR (name IS NOT NULL AND (email IS NOT NULL OR phone IS NOT NULL))",
            name=op.f("ck_registrant_active_contact"),
        ),
        sa.CheckConstraint("status IN ('active', 'withdrawn')", name=op.f("ck_registrant_status")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registrant")),
        sa.UniqueConstraint("management_token_hash", name=op.f("uq_registrant_management_token_hash")),
        sa.UniqueConstraint("reference", name=op.f("uq_registrant_reference")),
    )
    with op.batch_alter_table("registrant", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_registrant_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_registrant_email"), ["email"], unique=False)
        batch_op.create_index(batch_op.f("ix_registrant_status"), ["status"], unique=False)

    op.create_table(
        "api_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.Column("last_used_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["app_user.id"], name=op.f("fk_api_token_user_id_app_user"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_token")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_token_token_hash")),
    )
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_token_user_id"), ["user_id"], unique=False)

    op.create_table(
        "campaign_daily_count",
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("scans", sa.Integer(), nullable=False),
        sa.Column("form_starts", sa.Integer(), nullable=False),
        sa.Column("completions", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "scans >= 0 AND form_starts >= 0 AND completions >= 0", name=op.f("ck_campaign_daily_count_non_negative")
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaign.id"],
            name=op.f("fk_campaign_daily_count_campaign_id_campaign"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("campaign_id", "day", name=op.f("pk_campaign_daily_count")),
    )
    op.create_table(
        "site",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("registrant_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("address", sa.String(length=200), nullable=True),
        sa.Column("postcode", sa.String(length=8), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("easting_m", sa.Float(), nullable=True),
        sa.Column("northing_m", sa.Float(), nullable=True),
        sa.Column("district_code", sa.String(length=9), nullable=False),
        sa.Column("lsoa_code", sa.String(length=9), nullable=True),
        sa.Column("h3_r7", sa.String(length=15), nullable=False),
        sa.Column("h3_r8", sa.String(length=15), nullable=False),
        sa.Column("h3_r9", sa.String(length=15), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("kind IN ('home', 'business', 'other')", name=op.f("ck_site_kind")),
        sa.CheckConstraint(
            "(lat IS NULL) = (lon IS NULL) AND (lat IS NULL) = (easting_m IS NULL) AND (lat IS NULL) = (northing_m IS NULL)",
            name=op.f("ck_site_position_complete"),
        ),
        sa.CheckConstraint("lat IS NULL OR (lat BETWEEN -90 AND 90)", name=op.f("ck_site_lat")),
        sa.CheckConstraint("lon IS NULL OR (lon BETWEEN -180 AND 180)", name=op.f("ck_site_lon")),
        sa.ForeignKeyConstraint(
            ["registrant_id"], ["registrant.id"], name=op.f("fk_site_registrant_id_registrant"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_site")),
        sa.UniqueConstraint("registrant_id", name=op.f("uq_site_registrant_id")),
    )
    with op.batch_alter_table("site", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_site_district_code"), ["district_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_site_easting_m"), ["easting_m"], unique=False)
        batch_op.create_index(batch_op.f("ix_site_h3_r7"), ["h3_r7"], unique=False)
        batch_op.create_index(batch_op.f("ix_site_h3_r8"), ["h3_r8"], unique=False)
        batch_op.create_index(batch_op.f("ix_site_h3_r9"), ["h3_r9"], unique=False)
        batch_op.create_index(batch_op.f("ix_site_lsoa_code"), ["lsoa_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_site_postcode"), ["postcode"], unique=False)

    op.create_table(
        "camera",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("mount", sa.String(length=10), nullable=True),
        sa.Column("placement", sa.String(length=8), nullable=False),
        sa.Column("direction_deg", sa.SmallInteger(), nullable=True),
        sa.Column("fov_angle_deg", sa.SmallInteger(), nullable=True),
        sa.Column("fov_range_m", sa.SmallInteger(), nullable=True),
        sa.Column("recording_mode", sa.String(length=10), nullable=False),
        sa.Column("retention_days", sa.SmallInteger(), nullable=True),
        sa.Column("overlooks", sa.String(length=60), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("kind IN ('doorbell', 'fixed', 'dome', 'ptz', 'other')", name=op.f("ck_camera_kind")),
        sa.CheckConstraint("placement IN ('indoor', 'outdoor')", name=op.f("ck_camera_placement")),
        sa.CheckConstraint("recording_mode IN ('continuous', 'motion')", name=op.f("ck_camera_recording_mode")),
        sa.CheckConstraint(
            "direction_deg IS NULL OR direction_deg BETWEEN 0 AND 359", name=op.f("ck_camera_direction")
        ),
        sa.CheckConstraint(
            "fov_angle_deg IS NULL OR fov_angle_deg BETWEEN 1 AND 360", name=op.f("ck_camera_fov_angle")
        ),
        sa.CheckConstraint("fov_range_m IS NULL OR fov_range_m BETWEEN 1 AND 500", name=op.f("ck_camera_fov_range")),
        sa.CheckConstraint(
            "retention_days IS NULL OR retention_days BETWEEN 0 AND 365", name=op.f("ck_camera_retention")
        ),
        sa.ForeignKeyConstraint(["site_id"], ["site.id"], name=op.f("fk_camera_site_id_site"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_camera")),
    )
    with op.batch_alter_table("camera", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_camera_active"), ["active"], unique=False)
        batch_op.create_index(batch_op.f("ix_camera_kind"), ["kind"], unique=False)
        batch_op.create_index(batch_op.f("ix_camera_site_id"), ["site_id"], unique=False)

    op.create_table(
        "footage_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_ref", sa.String(length=40), nullable=False),
        sa.Column("camera_id", sa.Integer(), nullable=False),
        sa.Column("requested_by_id", sa.Integer(), nullable=False),
        sa.Column("incident_lat", sa.Float(), nullable=False),
        sa.Column("incident_lon", sa.Float(), nullable=False),
        sa.Column("incident_district_code", sa.String(length=9), nullable=True),
        sa.Column("crime_category", sa.String(length=60), nullable=True),
        sa.Column("incident_from", sa.DateTime(), nullable=False),
        sa.Column("incident_to", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=False),
        sa.Column("status_changed_at", sa.DateTime(), nullable=False),
        sa.Column("footage_likely_overwritten", sa.Boolean(), nullable=False),
        sa.Column("footage_useful", sa.Boolean(), nullable=True),
        sa.CheckConstraint(
            "status IN ('sent', 'footage_provided', 'no_relevant_footage', 'declined', 'no_response', 'withdrawn')",
            name=op.f("ck_footage_request_status"),
        ),
        sa.CheckConstraint("incident_to >= incident_from", name=op.f("ck_footage_request_window")),
        sa.ForeignKeyConstraint(
            ["camera_id"], ["camera.id"], name=op.f("fk_footage_request_camera_id_camera"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["requested_by_id"],
            ["app_user.id"],
            name=op.f("fk_footage_request_requested_by_id_app_user"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_footage_request")),
    )
    with op.batch_alter_table("footage_request", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_footage_request_camera_id"), ["camera_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_footage_request_case_ref"), ["case_ref"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_footage_request_incident_district_code"), ["incident_district_code"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_footage_request_requested_by_id"), ["requested_by_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_footage_request_sent_at"), ["sent_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_footage_request_status"), ["status"], unique=False)

    op.create_table(
        "footage_request_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("by_user_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["by_user_id"],
            ["app_user.id"],
            name=op.f("fk_footage_request_event_by_user_id_app_user"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["footage_request.id"],
            name=op.f("fk_footage_request_event_request_id_footage_request"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_footage_request_event")),
    )
    with op.batch_alter_table("footage_request_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_footage_request_event_request_id"), ["request_id"], unique=False)

    _backend_extras_up()


APPEND_ONLY_MESSAGE = "audit_event is append-only"


def _backend_extras_up() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        op.execute(
            "ALTER TABLE site ADD COLUMN geom geometry(Point, 27700) GENERATED ALWAYS AS "
            "(CASE WHEN easting_m IS NULL THEN NULL "
            "ELSE ST_SetSRID(ST_MakePoint(easting_m, northing_m), 27700) END) STORED"
        )
        op.execute("CREATE INDEX ix_site_geom ON site USING gist (geom)")
        op.execute(
            "CREATE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN RAISE EXCEPTION '{APPEND_ONLY_MESSAGE}'; END $$"
        )
        op.execute(
            "CREATE TRIGGER audit_event_no_update BEFORE UPDATE OR DELETE ON audit_event "
            "FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()"
        )
    elif dialect == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_event_no_{verb.lower()} BEFORE {verb} ON audit_event "
                f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END"
            )


def _backend_extras_down() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_update ON audit_event")
        op.execute("DROP FUNCTION IF EXISTS audit_event_append_only()")
        op.execute("DROP INDEX IF EXISTS ix_site_geom")
        op.execute("ALTER TABLE site DROP COLUMN IF EXISTS geom")
    elif dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_delete")


def downgrade() -> None:
    _backend_extras_down()

    with op.batch_alter_table("footage_request_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_footage_request_event_request_id"))

    op.drop_table("footage_request_event")
    with op.batch_alter_table("footage_request", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_footage_request_status"))
        batch_op.drop_index(batch_op.f("ix_footage_request_sent_at"))
        batch_op.drop_index(batch_op.f("ix_footage_request_requested_by_id"))
        batch_op.drop_index(batch_op.f("ix_footage_request_incident_district_code"))
        batch_op.drop_index(batch_op.f("ix_footage_request_case_ref"))
        batch_op.drop_index(batch_op.f("ix_footage_request_camera_id"))

    op.drop_table("footage_request")
    with op.batch_alter_table("camera", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_camera_site_id"))
        batch_op.drop_index(batch_op.f("ix_camera_kind"))
        batch_op.drop_index(batch_op.f("ix_camera_active"))

    op.drop_table("camera")
    with op.batch_alter_table("site", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_site_postcode"))
        batch_op.drop_index(batch_op.f("ix_site_lsoa_code"))
        batch_op.drop_index(batch_op.f("ix_site_h3_r9"))
        batch_op.drop_index(batch_op.f("ix_site_h3_r8"))
        batch_op.drop_index(batch_op.f("ix_site_h3_r7"))
        batch_op.drop_index(batch_op.f("ix_site_easting_m"))
        batch_op.drop_index(batch_op.f("ix_site_district_code"))

    op.drop_table("site")
    op.drop_table("campaign_daily_count")
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_token_user_id"))

    op.drop_table("api_token")
    with op.batch_alter_table("registrant", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_registrant_status"))
        batch_op.drop_index(batch_op.f("ix_registrant_email"))
        batch_op.drop_index(batch_op.f("ix_registrant_created_at"))

    op.drop_table("registrant")
    op.drop_table("campaign")
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_event_user_id"))
        batch_op.drop_index(batch_op.f("ix_audit_event_occurred_at"))
        batch_op.drop_index(batch_op.f("ix_audit_event_case_ref"))
        batch_op.drop_index(batch_op.f("ix_audit_event_action"))

    op.drop_table("audit_event")
    op.drop_table("app_user")
