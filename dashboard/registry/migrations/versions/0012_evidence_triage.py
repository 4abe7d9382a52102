"""evidence triage and hand-off: decisions on uploaded files, exhibits, case files and their teams

``evidence_file`` gains a random ``public_id`` (``EVF-`` and eight characters: what officers see),
the officer's decision (``triage``: accepted or declined, by whom and when, a reason for declining),
the exhibit reference an accepted file gets, the state ``deleted`` (content deleted under the
retention rules: the row keeps the hash and size, never the content) and the result of the last
integrity check of the stored bytes.
``case_file``: one officer's case (a case reference as one officer works it): open or closed.
``case_member``: the other officers the case's officer added to its team.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05
"""

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # as dashboard.registry.public_ids (a migration stays as written)
LENGTH = 8


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
    op.create_table(
        "case_file",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=12), nullable=False),
        sa.Column("case_ref", sa.String(length=40), nullable=False),
        sa.Column("officer_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.Column("closed_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["officer_id"], ["app_user.id"], name=op.f("fk_case_file_officer_id_app_user"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["closed_by_id"], ["app_user.id"], name=op.f("fk_case_file_closed_by_id_app_user"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_file")),
        sa.UniqueConstraint("case_ref", "officer_id", name="uq_case_file_case_officer"),
    )
    with op.batch_alter_table("case_file", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_file_public_id"), ["public_id"], unique=True)
        batch_op.create_index(batch_op.f("ix_case_file_officer_id"), ["officer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_case_file_closed_at"), ["closed_at"], unique=False)

    op.create_table(
        "case_member",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_file_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("added_by_id", sa.Integer(), nullable=False),
        sa.Column("added_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_file_id"], ["case_file.id"], name=op.f("fk_case_member_case_file_id_case_file"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["app_user.id"], name=op.f("fk_case_member_user_id_app_user"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["added_by_id"], ["app_user.id"], name=op.f("fk_case_member_added_by_id_app_user"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_member")),
        sa.UniqueConstraint("case_file_id", "user_id", name="uq_case_member_case_user"),
    )
    with op.batch_alter_table("case_member", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_member_user_id"), ["user_id"], unique=False)

    with op.batch_alter_table("evidence_file", schema=None) as batch_op:
        batch_op.add_column(sa.Column("public_id", sa.String(length=12), nullable=True))
        batch_op.add_column(sa.Column("triage", sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column("triaged_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("triaged_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("decline_reason", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("decline_note", sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column("exhibit_ref", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("deleted_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("checked_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("check_result", sa.String(length=10), nullable=True))
        batch_op.drop_constraint(op.f("ck_evidence_file_state"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_evidence_file_state"), "state IN ('uploading', 'stored', 'refused', 'removed', 'deleted')"
        )
        batch_op.create_check_constraint(
            op.f("ck_evidence_file_triage"), "triage IS NULL OR triage IN ('accepted', 'declined')"
        )
        batch_op.create_check_constraint(
            op.f("ck_evidence_file_triaged"),
            "(triage IS NULL) = (triaged_at IS NULL) AND (triage IS NULL OR state IN ('stored', 'deleted'))",
        )
        batch_op.create_check_constraint(
            op.f("ck_evidence_file_exhibit"), "triage IS NULL OR triage != 'accepted' OR exhibit_ref IS NOT NULL"
        )
        batch_op.create_check_constraint(
            op.f("ck_evidence_file_declined_why"),
            "(decline_reason IS NOT NULL) = (triage IS NOT NULL AND triage = 'declined')",
        )
        batch_op.create_check_constraint(
            op.f("ck_evidence_file_deleted"), "(state = 'deleted') = (deleted_at IS NOT NULL)"
        )
        batch_op.create_check_constraint(
            op.f("ck_evidence_file_check_result"),
            "check_result IS NULL OR check_result IN ('ok', 'mismatch', 'missing')",
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_evidence_file_triaged_by_id_app_user"),
            "app_user",
            ["triaged_by_id"],
            ["id"],
            ondelete="RESTRICT",
        )
        batch_op.create_index(batch_op.f("ix_evidence_file_public_id"), ["public_id"], unique=True)
        batch_op.create_index(batch_op.f("ix_evidence_file_triage"), ["triage"], unique=False)

    bind = op.get_bind()
    ids = [r[0] for r in bind.execute(sa.text("SELECT id FROM evidence_file ORDER BY id"))]
    for row_id, public in zip(ids, _random_ids("EVF-", len(ids))):
        bind.execute(sa.text("UPDATE evidence_file SET public_id = :p WHERE id = :i"), {"p": public, "i": row_id})
    # A case file for every (case, officer) with requests, so that closing and teams have a row to act on.
    pairs = bind.execute(
        sa.text(
            "SELECT case_ref, requested_by_id, MIN(sent_at) FROM footage_request GROUP BY case_ref, requested_by_id "
            "ORDER BY MIN(sent_at)"
        )
    ).all()
    for (case_ref, officer_id, first), public in zip(pairs, _random_ids("CSE-", len(pairs))):
        bind.execute(
            sa.text("INSERT INTO case_file (public_id, case_ref, officer_id, created_at) VALUES (:p, :c, :o, :t)"),
            {"p": public, "c": case_ref, "o": officer_id, "t": first},
        )


def downgrade() -> None:
    bind = op.get_bind()
    bind.execute(sa.text("DELETE FROM evidence_file WHERE state = 'deleted'"))
    with op.batch_alter_table("evidence_file", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_evidence_file_triage"))
        batch_op.drop_index(batch_op.f("ix_evidence_file_public_id"))
        batch_op.drop_constraint(batch_op.f("fk_evidence_file_triaged_by_id_app_user"), type_="foreignkey")
        for name in ("check_result", "deleted", "declined_why", "exhibit", "triaged", "triage", "state"):
            batch_op.drop_constraint(op.f(f"ck_evidence_file_{name}"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_evidence_file_state"), "state IN ('uploading', 'stored', 'refused', 'removed')"
        )
        for column in (
            "check_result",
            "checked_at",
            "deleted_at",
            "exhibit_ref",
            "decline_note",
            "decline_reason",
            "triaged_by_id",
            "triaged_at",
            "triage",
            "public_id",
        ):
            batch_op.drop_column(column)
    op.drop_table("case_member")
    op.drop_table("case_file")
