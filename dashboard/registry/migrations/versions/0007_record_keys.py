"""Record keys for the disclosure-control layer (cell key perturbation): one random key, 0-255, on
every registration, camera, footage request and crime; the campaign days' sum of completion keys;
and the anonymous daily sums of erased registrations' keys (retired_key)

Existing rows get random keys here; the models' default gives every new row its key (the columns
stay nullable: an erased registration has none). Registrations erased before this revision never had a key:
each is given one now, straight into its day's anonymous sum, as the erasure would have done.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""

import datetime as dt
import secrets
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

KEYED = ("registrant", "camera", "footage_request", "crime")
UK = ZoneInfo("Europe/London")


def _random_key_sql(dialect: str) -> str:
    return "abs(random()) % 256" if dialect == "sqlite" else "floor(random() * 256)::smallint"


def _uk_day(value) -> dt.date:
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value.replace(tzinfo=dt.UTC).astimezone(UK).date()


def upgrade() -> None:
    bind = op.get_bind()
    for table in KEYED:
        op.add_column(table, sa.Column("record_key", sa.SmallInteger(), nullable=True))
    op.add_column(
        "campaign_daily_count", sa.Column("completion_keys", sa.Integer(), nullable=False, server_default="0")
    )
    op.create_table(
        "retired_key",
        sa.Column("series", sa.String(length=12), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("district_code", sa.String(length=9), nullable=False),
        sa.Column("key_sum", sa.Integer(), nullable=False),
        sa.CheckConstraint("series IN ('registered', 'withdrawn')", name=op.f("ck_retired_key_series")),
        sa.PrimaryKeyConstraint("series", "day", "district_code", name=op.f("pk_retired_key")),
    )
    random_key = _random_key_sql(bind.dialect.name)
    op.execute(f"UPDATE registrant SET record_key = {random_key} WHERE status = 'active'")
    for table in KEYED[1:]:
        op.execute(f"UPDATE {table} SET record_key = {random_key}")
    op.execute(f"UPDATE campaign_daily_count SET completion_keys = {random_key} WHERE completions > 0")
    # Registrations erased before keys existed: a key each, kept only in the anonymous daily sums.
    rows = bind.execute(
        sa.text(
            "SELECT r.consent_at, r.withdrawn_at, r.end_reason, s.district_code FROM registrant r "
            "JOIN site s ON s.registrant_id = r.id WHERE r.status = 'withdrawn'"
        )
    ).all()
    sums: dict[tuple[str, dt.date, str], int] = {}
    for consent_at, withdrawn_at, end_reason, district in rows:
        key = secrets.randbelow(256)
        buckets = [("registered", _uk_day(consent_at))]
        if end_reason == "owner" and withdrawn_at is not None:
            buckets.append(("withdrawn", _uk_day(withdrawn_at)))
        for series, day in buckets:
            slot = (series, day, district)
            sums[slot] = (sums.get(slot, 0) + key) % 256
    if sums:
        table = sa.table(
            "retired_key", sa.column("series"), sa.column("day"), sa.column("district_code"), sa.column("key_sum")
        )
        op.bulk_insert(
            table, [{"series": s, "day": d, "district_code": c, "key_sum": k} for (s, d, c), k in sums.items()]
        )


def downgrade() -> None:
    op.drop_table("retired_key")
    op.drop_column("campaign_daily_count", "completion_keys")
    for table in reversed(KEYED):
        op.drop_column(table, "record_key")
