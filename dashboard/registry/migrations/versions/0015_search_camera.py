"""PostgreSQL: the officer search's own table of the cameras on the active register

``search_camera``: one row per active camera of an active registration with a position: what the
search ranks and shows (position, kind, field of view, retention, the owner's preferred channel,
the camera's public id), with a PostGIS point and its GiST index. A radius search is one index scan
of one table instead of a join of sites, registrants and cameras (about 3x less database time at
1M cameras; 10x when the rows are laid out by place, as a rebuild writes them). Kept exact by the
register's writes in their own transaction (``dashboard.registry.summaries``): an erased or
switched-off camera's row goes with the write, so it is never found once committed. Filled from an
existing register by ``summaries.ensure_built`` at start-up (this migration marks the summaries as
not built). SQLite has no such table: its search reads an in-memory index.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05
"""

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


# What the search's rows are (as dashboard.registry.summaries writes them; a migration stays as written).
COLUMNS = (
    "camera_id, site_id, lat, lon, easting_m, northing_m, kind, direction_deg, fov_angle_deg, fov_range_m, "
    "retention_days, preferred_channel, public_id"
)
SOURCE = (
    "SELECT camera.id, camera.site_id, site.lat, site.lon, site.easting_m, site.northing_m, camera.kind, "
    "camera.direction_deg, camera.fov_angle_deg, camera.fov_range_m, camera.retention_days, "
    "registrant.preferred_channel, camera.public_id "
    "FROM camera JOIN site ON site.id = camera.site_id JOIN registrant ON registrant.id = site.registrant_id "
    "WHERE camera.active IS TRUE AND registrant.status = 'active' AND site.easting_m IS NOT NULL "
    "AND site.northing_m IS NOT NULL AND site.lat IS NOT NULL AND site.lon IS NOT NULL"
)
# Every write to the three tables, however it is made (the app, the ORM, SQL by hand), refreshes the
# touched sites' rows in the same statement's transaction: statement-level triggers with transition
# tables, so a set-based erasure of thousands stays one refresh. Bulk loads switch them off and
# rebuild the table after (summaries.search_triggers).
TRIGGERS = (
    ("search_camera_camera_insert", "camera", "INSERT", "SELECT DISTINCT site_id FROM new_rows"),
    (
        "search_camera_camera_update",
        "camera",
        "UPDATE",
        "SELECT site_id FROM old_rows UNION SELECT site_id FROM new_rows",
    ),
    ("search_camera_camera_delete", "camera", "DELETE", "SELECT DISTINCT site_id FROM old_rows"),
    ("search_camera_site_update", "site", "UPDATE", "SELECT id FROM old_rows UNION SELECT id FROM new_rows"),
    ("search_camera_site_delete", "site", "DELETE", "SELECT id FROM old_rows"),
    (
        "search_camera_registrant_update",
        "registrant",
        "UPDATE",
        "SELECT site.id FROM site JOIN new_rows ON new_rows.id = site.registrant_id",
    ),
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "CREATE TABLE search_camera ("
        "camera_id integer PRIMARY KEY, site_id integer NOT NULL, lat double precision NOT NULL, "
        "lon double precision NOT NULL, easting_m double precision NOT NULL, northing_m double precision NOT NULL, "
        "kind varchar(10), direction_deg smallint, fov_angle_deg smallint, "
        "fov_range_m smallint, retention_days smallint, preferred_channel varchar(10), "
        "public_id varchar(16), "
        "geom geometry(Point, 27700) GENERATED ALWAYS AS (ST_SetSRID(ST_MakePoint(easting_m, northing_m), 27700)) STORED)"
    )
    op.execute("CREATE INDEX ix_search_camera_geom ON search_camera USING gist (geom)")
    op.execute("CREATE INDEX ix_search_camera_site_id ON search_camera (site_id)")
    # A search reads a few thousand rows at most: at 10M cameras the planner chose a parallel scan,
    # whose workers took ~17 ms to start for ~2 ms of work each (8 ms without them).
    op.execute("ALTER TABLE search_camera SET (parallel_workers = 0)")
    op.execute(
        "CREATE FUNCTION search_camera_refresh(site_ids integer[]) RETURNS void LANGUAGE sql AS $$ "
        "DELETE FROM search_camera WHERE site_id = ANY(site_ids); "
        f"INSERT INTO search_camera ({COLUMNS}) {SOURCE} AND site.id = ANY(site_ids); $$"
    )
    for name, table, event, ids in TRIGGERS:
        transition = {
            "INSERT": "REFERENCING NEW TABLE AS new_rows",
            "DELETE": "REFERENCING OLD TABLE AS old_rows",
            "UPDATE": "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
        }[event]
        op.execute(
            f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"PERFORM search_camera_refresh(ARRAY({ids})); RETURN NULL; END $$"
        )
        op.execute(
            f"CREATE TRIGGER {name} AFTER {event} ON {table} {transition} FOR EACH STATEMENT EXECUTE FUNCTION {name}()"
        )
    op.execute("UPDATE register_state SET summaries_built = FALSE")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, table, _event, _ids in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
        op.execute(f"DROP FUNCTION IF EXISTS {name}()")
    op.execute("DROP FUNCTION IF EXISTS search_camera_refresh(integer[])")
    op.execute("DROP TABLE IF EXISTS search_camera")
