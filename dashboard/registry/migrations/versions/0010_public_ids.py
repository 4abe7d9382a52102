"""random public identifiers for cameras and footage requests

Camera and request ids are sequential: the first few hundred cameras were exactly the staff
pilot's registrations, and officers and auditors saw those ids. Each camera and footage request
gets a random ``public_id`` (``CAM-`` or ``REQ-`` and eight characters, from ``secrets``), which
is what every page, export and the API show and take from now on. The integer ids stay as the
internal keys (joins, the search index, the audit log's subject ids, which are never rewritten).

Existing rows get their random ids here; the models' default gives new rows theirs.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05
"""

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # as dashboard.registry.public_ids (a migration stays as written)
LENGTH = 8
TABLES = {"camera": "CAM-", "footage_request": "REQ-"}
BATCH = 5000


def _random_ids(prefix: str, n: int) -> list[str]:
    seen: set[str] = set()
    out: list[str] = []
    while len(out) < n:
        candidate = prefix + "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
        if candidate not in seen:
            seen.add(candidate)
            out.append(candidate)
    return out


def upgrade() -> None:
    bind = op.get_bind()
    for table, prefix in TABLES.items():
        op.add_column(table, sa.Column("public_id", sa.String(length=12), nullable=True))
        ids = [row[0] for row in bind.execute(sa.text(f"SELECT id FROM {table} ORDER BY id"))]
        update = sa.text(f"UPDATE {table} SET public_id = :public_id WHERE id = :id")
        codes = _random_ids(prefix, len(ids))
        for i in range(0, len(ids), BATCH):
            bind.execute(
                update,
                [{"id": row_id, "public_id": code} for row_id, code in zip(ids[i : i + BATCH], codes[i : i + BATCH])],
            )
        with op.batch_alter_table(table) as batch:
            batch.alter_column("public_id", existing_type=sa.String(length=12), nullable=False)
        op.create_index(op.f(f"ix_{table}_public_id"), table, ["public_id"], unique=True)


def downgrade() -> None:
    for table in TABLES:
        op.drop_index(op.f(f"ix_{table}_public_id"), table_name=table)
        with op.batch_alter_table(table) as batch:
            batch.drop_column("public_id")
