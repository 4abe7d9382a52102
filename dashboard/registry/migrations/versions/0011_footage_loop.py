"""the footage loop: owners' responses, the outbox of messages to them, uploaded evidence files

``footage_response``: one owner's answer to a case's requests (the private response link's hash,
the answer, the owner's statement); ``footage_request.response_id`` points at it.
``outbox_message``: messages waiting to go to owners (no address or text: read when sent).
``evidence_file``: files uploaded in answer (resumable, stored by SHA-256).
Times are naive UTC, as everywhere (the models' UTCDateTime).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "footage_response",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=12), nullable=False),
        sa.Column("case_ref", sa.String(length=40), nullable=False),
        sa.Column("registrant_id", sa.Integer(), nullable=False),
        sa.Column("requested_by_id", sa.Integer(), nullable=False),
        sa.Column("shared_detail", sa.String(length=300), nullable=True),
        sa.Column("token_hash", sa.String(length=64), nullable=True),
        sa.Column("link_expires_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("first_opened_at", sa.DateTime(), nullable=True),
        sa.Column("answer", sa.String(length=10), nullable=True),
        sa.Column("answered_at", sa.DateTime(), nullable=True),
        sa.Column("clock_offset_s", sa.Integer(), nullable=True),
        sa.Column("copy_made_by_owner", sa.Boolean(), nullable=True),
        sa.Column("copy_made_at", sa.DateTime(), nullable=True),
        sa.Column("signed_name", sa.String(length=120), nullable=True),
        sa.Column("owner_note", sa.String(length=500), nullable=True),
        sa.CheckConstraint(
            "answer IS NULL OR answer IN ('footage', 'nothing', 'declined')", name=op.f("ck_footage_response_answer")
        ),
        sa.CheckConstraint("(answer IS NULL) = (answered_at IS NULL)", name=op.f("ck_footage_response_answered")),
        sa.CheckConstraint(
            "clock_offset_s IS NULL OR (clock_offset_s BETWEEN -31622400 AND 31622400)",
            name=op.f("ck_footage_response_clock_offset"),
        ),
        sa.ForeignKeyConstraint(
            ["registrant_id"],
            ["registrant.id"],
            name=op.f("fk_footage_response_registrant_id_registrant"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["requested_by_id"],
            ["app_user.id"],
            name=op.f("fk_footage_response_requested_by_id_app_user"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_footage_response")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_footage_response_token_hash")),
    )
    with op.batch_alter_table("footage_response", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_footage_response_answered_at"), ["answered_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_footage_response_case_ref"), ["case_ref"], unique=False)
        batch_op.create_index(batch_op.f("ix_footage_response_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_footage_response_public_id"), ["public_id"], unique=True)
        batch_op.create_index(batch_op.f("ix_footage_response_registrant_id"), ["registrant_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_footage_response_requested_by_id"), ["requested_by_id"], unique=False)

    op.create_table(
        "evidence_file",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("response_id", sa.Integer(), nullable=False),
        sa.Column("upload_key", sa.String(length=43), nullable=False),
        sa.Column("original_name", sa.String(length=255), nullable=False),
        sa.Column("caption", sa.String(length=300), nullable=True),
        sa.Column("declared_size", sa.BigInteger(), nullable=False),
        sa.Column("received_bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("refusal", sa.String(length=300), nullable=True),
        sa.Column("media", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("completed_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint(
            "state != 'stored' OR (sha256 IS NOT NULL AND received_bytes = declared_size)",
            name=op.f("ck_evidence_file_stored_whole"),
        ),
        sa.CheckConstraint(
            "state IN ('uploading', 'stored', 'refused', 'removed')", name=op.f("ck_evidence_file_state")
        ),
        sa.CheckConstraint(
            "declared_size > 0 AND received_bytes >= 0 AND received_bytes <= declared_size",
            name=op.f("ck_evidence_file_sizes"),
        ),
        sa.ForeignKeyConstraint(
            ["response_id"],
            ["footage_response.id"],
            name=op.f("fk_evidence_file_response_id_footage_response"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence_file")),
        sa.UniqueConstraint("upload_key", name=op.f("uq_evidence_file_upload_key")),
    )
    with op.batch_alter_table("evidence_file", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_evidence_file_response_id"), ["response_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_evidence_file_sha256"), ["sha256"], unique=False)
        batch_op.create_index(batch_op.f("ix_evidence_file_state"), ["state"], unique=False)

    op.create_table(
        "outbox_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("response_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("priority", sa.SmallInteger(), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("claimed_until", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.String(length=300), nullable=True),
        sa.Column("provider_ref", sa.String(length=120), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint("channel IN ('email', 'text')", name=op.f("ck_outbox_message_channel")),
        sa.CheckConstraint("kind IN ('request', 'preservation')", name=op.f("ck_outbox_message_kind")),
        sa.CheckConstraint(
            "state IN ('queued', 'sending', 'handed_over', 'sent', 'failed', 'cancelled')",
            name=op.f("ck_outbox_message_state"),
        ),
        sa.ForeignKeyConstraint(
            ["response_id"],
            ["footage_response.id"],
            name=op.f("fk_outbox_message_response_id_footage_response"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_message")),
    )
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_message_due", ["state", "next_attempt_at", "priority"], unique=False)
        batch_op.create_index(batch_op.f("ix_outbox_message_next_attempt_at"), ["next_attempt_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_outbox_message_response_id"), ["response_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_outbox_message_state"), ["state"], unique=False)

    with op.batch_alter_table("footage_request", schema=None) as batch_op:
        batch_op.add_column(sa.Column("response_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_footage_request_response_id"), ["response_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_footage_request_response_id_footage_response"),
            "footage_response",
            ["response_id"],
            ["id"],
            ondelete="RESTRICT",
        )


def downgrade() -> None:
    with op.batch_alter_table("footage_request", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_footage_request_response_id_footage_response"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_footage_request_response_id"))
        batch_op.drop_column("response_id")

    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_message_state"))
        batch_op.drop_index(batch_op.f("ix_outbox_message_response_id"))
        batch_op.drop_index(batch_op.f("ix_outbox_message_next_attempt_at"))
        batch_op.drop_index("ix_outbox_message_due")

    op.drop_table("outbox_message")
    with op.batch_alter_table("evidence_file", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_evidence_file_state"))
        batch_op.drop_index(batch_op.f("ix_evidence_file_sha256"))
        batch_op.drop_index(batch_op.f("ix_evidence_file_response_id"))

    op.drop_table("evidence_file")
    with op.batch_alter_table("footage_response", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_footage_response_requested_by_id"))
        batch_op.drop_index(batch_op.f("ix_footage_response_registrant_id"))
        batch_op.drop_index(batch_op.f("ix_footage_response_public_id"))
        batch_op.drop_index(batch_op.f("ix_footage_response_created_at"))
        batch_op.drop_index(batch_op.f("ix_footage_response_case_ref"))
        batch_op.drop_index(batch_op.f("ix_footage_response_answered_at"))

    op.drop_table("footage_response")
