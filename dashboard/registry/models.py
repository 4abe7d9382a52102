"""SQLAlchemy 2.0 typed models of the registry.

Data-protection notes, enforced by tests/integration/test_storage.py (``schema_rules.forbidden_columns``
over the migrated schema of both backends) and tests/integration/test_registration.py (the form and the
API refuse such fields):
- no column records an employer, staff status or cohort, or anything from which a link to the
  police could be derived (campaign attribution exists only as aggregate daily counts);
- no column can hold a camera stream URL, an IP address or a camera credential;
- personal data (registrant contact details, site address and exact position) is nullable so
  that withdrawal can erase it at once and leave only anonymous, aggregate-level facts.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from dashboard.core.cell_keys import new_record_key
from dashboard.registry.public_ids import MAX_CHARS as PUBLIC_ID_CHARS
from dashboard.registry.public_ids import (
    new_camera_id,
    new_case_file_id,
    new_evidence_id,
    new_request_id,
    new_response_id,
)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite has no time zones)."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}; pass an aware UTC datetime")
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    metadata = sa.MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


class Registrant(Base):
    """A person who registered a site. Contact fields are erased (set NULL) on withdrawal."""

    __tablename__ = "registrant"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(sa.String(16), unique=True)
    name: Mapped[str | None] = mapped_column(sa.String(120))
    email: Mapped[str | None] = mapped_column(sa.String(254), index=True)
    phone: Mapped[str | None] = mapped_column(sa.String(20))
    preferred_channel: Mapped[str | None] = mapped_column(sa.String(10))
    consent_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(sa.String(10), default="active", index=True)
    last_confirmed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())  # when it ended, for any reason
    # Why it ended: 'owner' (withdrawn from the management link), 'request' (erased by an
    # administrator on the owner's request) or 'retention' (unconfirmed past the retention period).
    end_reason: Mapped[str | None] = mapped_column(sa.String(10))
    # When the retention check found it unconfirmed past the period; the grace period runs from here.
    retention_flagged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), index=True)
    management_token_hash: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    # The random record key of the disclosure-control layer (never shown or exported); erased with
    # the personal data, its part in historical counts kept only in an anonymous daily sum (RetiredKey).
    record_key: Mapped[int | None] = mapped_column(sa.SmallInteger, default=new_record_key)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow, index=True)

    site: Mapped[Site | None] = relationship(back_populates="registrant", uselist=False)

    __table_args__ = (
        sa.CheckConstraint("status IN ('active', 'withdrawn')", name="status"),
        sa.Index("ix_registrant_status_consent_key", "status", "consent_at", "record_key"),
        # The registrations due to confirm, counted from the index alone (the uptake page).
        sa.Index("ix_registrant_status_confirmed_key", "status", "last_confirmed_at", "record_key"),
        sa.CheckConstraint("preferred_channel IN ('email', 'phone', 'text')", name="channel"),
        # An active registration always has a way to contact its owner.
        sa.CheckConstraint(
            "status = 'withdrawn' OR (name IS NOT NULL AND (email IS NOT NULL OR phone IS NOT NULL))",
            name="active_contact",
        ),
    )


class Site(Base):
    """The one location of a registration. Address and exact position are erased on withdrawal;
    the district, small area and aggregation cells (computed once at write time) remain."""

    __tablename__ = "site"

    id: Mapped[int] = mapped_column(primary_key=True)
    registrant_id: Mapped[int] = mapped_column(sa.ForeignKey("registrant.id", ondelete="CASCADE"), unique=True)
    kind: Mapped[str | None] = mapped_column(sa.String(10))  # None once erased
    address: Mapped[str | None] = mapped_column(sa.String(200))
    postcode: Mapped[str | None] = mapped_column(sa.String(8), index=True)
    lat: Mapped[float | None] = mapped_column(sa.Float)
    lon: Mapped[float | None] = mapped_column(sa.Float)
    easting_m: Mapped[float | None] = mapped_column(sa.Float, index=True)
    northing_m: Mapped[float | None] = mapped_column(sa.Float)
    district_code: Mapped[str] = mapped_column(sa.String(9), index=True)
    lsoa_code: Mapped[str | None] = mapped_column(sa.String(9), index=True)
    h3_r7: Mapped[str | None] = mapped_column(sa.String(15), index=True)  # None once erased
    h3_r8: Mapped[str | None] = mapped_column(sa.String(15), index=True)  # None once erased
    h3_r9: Mapped[str | None] = mapped_column(sa.String(15), index=True)  # None once erased
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    registrant: Mapped[Registrant] = relationship(back_populates="site")
    cameras: Mapped[list[Camera]] = relationship(back_populates="site", cascade="all, delete-orphan")

    __table_args__ = (
        sa.CheckConstraint("kind IN ('home', 'business', 'other')", name="kind"),
        sa.CheckConstraint("lat IS NULL OR (lat BETWEEN -90 AND 90)", name="lat"),
        sa.CheckConstraint("lon IS NULL OR (lon BETWEEN -180 AND 180)", name="lon"),
        sa.CheckConstraint(
            "(lat IS NULL) = (lon IS NULL) AND (lat IS NULL) = (easting_m IS NULL) "
            "AND (lat IS NULL) = (northing_m IS NULL)",
            name="position_complete",
        ),
    )


class Camera(Base):
    """One camera at a site. Optional field-of-view values fall back to per-kind defaults
    (``vocab.effective_fov``) when read."""

    __tablename__ = "camera"

    id: Mapped[int] = mapped_column(primary_key=True)
    # What users see and type: random, no order or time (the id is sequential; public_ids.py).
    public_id: Mapped[str] = mapped_column(sa.String(PUBLIC_ID_CHARS), unique=True, index=True, default=new_camera_id)
    site_id: Mapped[int] = mapped_column(sa.ForeignKey("site.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str | None] = mapped_column(sa.String(10), index=True)  # the description: None once erased
    mount: Mapped[str | None] = mapped_column(sa.String(10))
    placement: Mapped[str | None] = mapped_column(sa.String(8))
    direction_deg: Mapped[int | None] = mapped_column(sa.SmallInteger)
    fov_angle_deg: Mapped[int | None] = mapped_column(sa.SmallInteger)
    fov_range_m: Mapped[int | None] = mapped_column(sa.SmallInteger)
    recording_mode: Mapped[str | None] = mapped_column(sa.String(10))
    retention_days: Mapped[int | None] = mapped_column(sa.SmallInteger)
    overlooks: Mapped[str | None] = mapped_column(sa.String(60), default="")
    active: Mapped[bool] = mapped_column(sa.Boolean, default=True, index=True)
    record_key: Mapped[int | None] = mapped_column(sa.SmallInteger, default=new_record_key)  # disclosure control
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow, index=True)

    site: Mapped[Site] = relationship(back_populates="cameras")

    __table_args__ = (
        sa.CheckConstraint("kind IN ('doorbell', 'fixed', 'dome', 'ptz', 'other')", name="kind"),
        sa.Index("ix_camera_active_site_key", "active", "site_id", "record_key"),
        sa.CheckConstraint("placement IN ('indoor', 'outdoor')", name="placement"),
        sa.CheckConstraint("recording_mode IN ('continuous', 'motion')", name="recording_mode"),
        sa.CheckConstraint("direction_deg IS NULL OR direction_deg BETWEEN 0 AND 359", name="direction"),
        sa.CheckConstraint("fov_angle_deg IS NULL OR fov_angle_deg BETWEEN 1 AND 360", name="fov_angle"),
        sa.CheckConstraint("fov_range_m IS NULL OR fov_range_m BETWEEN 1 AND 500", name="fov_range"),
        sa.CheckConstraint("retention_days IS NULL OR retention_days BETWEEN 0 AND 365", name="retention"),
    )


class User(Base):
    """A member of force staff who logs in to the dashboard."""

    __tablename__ = "app_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    role: Mapped[str] = mapped_column(sa.String(10))
    active: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (sa.CheckConstraint("role IN ('officer', 'analyst', 'lead', 'auditor', 'admin')", name="role"),)


class LoginSession(Base):
    """One login to the dashboard. The browser's cookie holds a random id whose SHA-256 is
    ``sid_hash``; a session with ``ended_at`` set (logout, timeout, account disabled) is refused."""

    __tablename__ = "login_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    sid_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    end_reason: Mapped[str | None] = mapped_column(sa.String(12))


class ApiToken(Base):
    """A bearer token for the JSON API. Only the SHA-256 of the token is kept."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class FootageRequest(Base):
    """A request to an owner for footage of an incident, under a case reference."""

    __tablename__ = "footage_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(
        sa.String(PUBLIC_ID_CHARS), unique=True, index=True, default=new_request_id
    )  # what users see (public_ids.py)
    case_ref: Mapped[str] = mapped_column(sa.String(40), index=True)
    camera_id: Mapped[int] = mapped_column(sa.ForeignKey("camera.id", ondelete="RESTRICT"), index=True)
    requested_by_id: Mapped[int] = mapped_column(sa.ForeignKey("app_user.id", ondelete="RESTRICT"), index=True)
    incident_lat: Mapped[float] = mapped_column(sa.Float)
    incident_lon: Mapped[float] = mapped_column(sa.Float)
    incident_district_code: Mapped[str | None] = mapped_column(sa.String(9), index=True)
    crime_category: Mapped[str | None] = mapped_column(sa.String(60))
    incident_from: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    incident_to: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(sa.String(20), default="sent", index=True)
    sent_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    status_changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    footage_likely_overwritten: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    footage_useful: Mapped[bool | None] = mapped_column(sa.Boolean)
    record_key: Mapped[int | None] = mapped_column(sa.SmallInteger, default=new_record_key)  # disclosure control
    # The owner's answer this request is part of (one per owner per case; footage/responses.py).
    response_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("footage_response.id", ondelete="RESTRICT"), index=True
    )

    response: Mapped[FootageResponse | None] = relationship(back_populates="requests")
    camera: Mapped[Camera] = relationship()
    events: Mapped[list[FootageRequestEvent]] = relationship(
        back_populates="request", order_by="FootageRequestEvent.id", cascade="all, delete-orphan"
    )

    __table_args__ = (
        sa.CheckConstraint(
            "status IN ('sent', 'footage_provided', 'no_relevant_footage', 'declined', 'no_response', 'withdrawn')",
            name="status",
        ),
        sa.CheckConstraint("incident_to >= incident_from", name="window"),
    )


class FootageResponse(Base):
    """One owner's answer to the footage requests of one case: the private response link (only its
    hash), the answer, the owner's statement, and the files they uploaded (EvidenceFile).

    The link's token is made when the first message carrying it is sent (delivery/outbox.py) and
    stops working when it expires or once the owner has submitted their answer.
    """

    __tablename__ = "footage_response"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(
        sa.String(PUBLIC_ID_CHARS), unique=True, index=True, default=new_response_id
    )  # the reference on the owner's receipt
    case_ref: Mapped[str] = mapped_column(sa.String(40), index=True)
    registrant_id: Mapped[int] = mapped_column(sa.ForeignKey("registrant.id", ondelete="RESTRICT"), index=True)
    requested_by_id: Mapped[int] = mapped_column(sa.ForeignKey("app_user.id", ondelete="RESTRICT"), index=True)
    # What the officer chose to tell the owner about the incident (nothing else is said).
    shared_detail: Mapped[str | None] = mapped_column(sa.String(300))
    token_hash: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    link_expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    first_opened_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # 'footage' (files uploaded and submitted), 'nothing' (nothing was recorded), 'declined'.
    answer: Mapped[str | None] = mapped_column(sa.String(10))
    answered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), index=True)
    # The owner's statement (with 'footage'): camera clock minus real time, in seconds (positive:
    # the camera is fast); that they made the copy themselves, and when; their name as signature.
    clock_offset_s: Mapped[int | None] = mapped_column(sa.Integer)
    copy_made_by_owner: Mapped[bool | None] = mapped_column(sa.Boolean)
    copy_made_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    signed_name: Mapped[str | None] = mapped_column(sa.String(120))
    owner_note: Mapped[str | None] = mapped_column(sa.String(500))

    requests: Mapped[list[FootageRequest]] = relationship(back_populates="response", order_by="FootageRequest.id")
    files: Mapped[list[EvidenceFile]] = relationship(back_populates="response", order_by="EvidenceFile.id")

    __table_args__ = (
        sa.CheckConstraint("answer IS NULL OR answer IN ('footage', 'nothing', 'declined')", name="answer"),
        sa.CheckConstraint("(answer IS NULL) = (answered_at IS NULL)", name="answered"),
        sa.CheckConstraint(
            "clock_offset_s IS NULL OR (clock_offset_s BETWEEN -31622400 AND 31622400)", name="clock_offset"
        ),
    )


class OutboxMessage(Base):
    """A message to an owner waiting to be sent, being sent, or sent: the persistent outbox.

    Holds no address and no text: the recipient and the words are read from the registration and
    the request when it is sent, so an erasure in the meantime leaves nothing here to send.
    """

    __tablename__ = "outbox_message"

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(sa.ForeignKey("footage_response.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(12))  # 'request' or 'preservation'
    channel: Mapped[str] = mapped_column(sa.String(10))  # 'email' or 'text'
    priority: Mapped[int] = mapped_column(sa.SmallInteger, default=1)  # lower goes first
    state: Mapped[str] = mapped_column(sa.String(12), default="queued", index=True)
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    claimed_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(sa.String(300))
    provider_ref: Mapped[str | None] = mapped_column(sa.String(120))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    response: Mapped[FootageResponse] = relationship()

    __table_args__ = (
        sa.CheckConstraint("kind IN ('request', 'preservation')", name="kind"),
        sa.CheckConstraint("channel IN ('email', 'text')", name="channel"),
        sa.CheckConstraint(
            "state IN ('queued', 'sending', 'handed_over', 'sent', 'failed', 'cancelled')", name="state"
        ),
        sa.Index("ix_outbox_message_due", "state", "next_attempt_at", "priority"),
    )


class EvidenceFile(Base):
    """A file an owner uploads in answer to a request: resumable (tus), stored by its SHA-256.

    ``state``: 'uploading' (bytes arriving; ``received_bytes`` so far, in a temporary file),
    'stored' (complete, probed, hashed, renamed into the content-addressed store), 'refused' (not
    kept: ``refusal`` says why), 'removed' (withdrawn by the owner before submitting), 'deleted'
    (its content deleted under the evidence retention rules at ``deleted_at``: the row keeps the
    hash and size, never the content, the caption or the file's name).

    The officer's triage (issue 17): ``triage`` 'accepted' (an exhibit: ``exhibit_ref``) or
    'declined' (``decline_reason``, a key of ``vocab.DECLINE_REASONS``, and an optional note), by
    ``triaged_by_id`` at ``triaged_at``; None while awaiting a decision. ``checked_at`` and
    ``check_result`` ('ok', 'mismatch', 'missing'): the last integrity check of the stored bytes.
    ``record_key``: the disclosure-control layer's random key (counted on the uptake page; never shown).
    """

    __tablename__ = "evidence_file"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str | None] = mapped_column(
        sa.String(PUBLIC_ID_CHARS), unique=True, index=True, default=new_evidence_id
    )  # what officers see
    response_id: Mapped[int] = mapped_column(sa.ForeignKey("footage_response.id", ondelete="RESTRICT"), index=True)
    upload_key: Mapped[str] = mapped_column(sa.String(43), unique=True)  # random, the tus upload's URL
    original_name: Mapped[str] = mapped_column(sa.String(255))
    caption: Mapped[str | None] = mapped_column(sa.String(300))
    declared_size: Mapped[int] = mapped_column(sa.BigInteger)
    received_bytes: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    sha256: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    state: Mapped[str] = mapped_column(sa.String(10), default="uploading", index=True)
    refusal: Mapped[str | None] = mapped_column(sa.String(300))
    media: Mapped[dict | None] = mapped_column(sa.JSON)  # what probing found (footage/probe.py)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    completed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    triage: Mapped[str | None] = mapped_column(sa.String(10), index=True)
    triaged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    triaged_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("app_user.id", ondelete="RESTRICT"))
    decline_reason: Mapped[str | None] = mapped_column(sa.String(20))
    decline_note: Mapped[str | None] = mapped_column(sa.String(300))
    exhibit_ref: Mapped[str | None] = mapped_column(sa.String(40))
    deleted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    checked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    check_result: Mapped[str | None] = mapped_column(sa.String(10))
    record_key: Mapped[int | None] = mapped_column(sa.SmallInteger, default=new_record_key)  # disclosure control

    response: Mapped[FootageResponse] = relationship(back_populates="files")

    __table_args__ = (
        sa.CheckConstraint("state IN ('uploading', 'stored', 'refused', 'removed', 'deleted')", name="state"),
        sa.CheckConstraint(
            "declared_size > 0 AND received_bytes >= 0 AND received_bytes <= declared_size", name="sizes"
        ),
        sa.CheckConstraint(
            "state != 'stored' OR (sha256 IS NOT NULL AND received_bytes = declared_size)", name="stored_whole"
        ),
        sa.CheckConstraint("triage IS NULL OR triage IN ('accepted', 'declined')", name="triage"),
        sa.CheckConstraint(
            "(triage IS NULL) = (triaged_at IS NULL) AND (triage IS NULL OR state IN ('stored', 'deleted'))",
            name="triaged",
        ),
        sa.CheckConstraint("triage IS NULL OR triage != 'accepted' OR exhibit_ref IS NOT NULL", name="exhibit"),
        sa.CheckConstraint(
            "(decline_reason IS NOT NULL) = (triage IS NOT NULL AND triage = 'declined')", name="declined_why"
        ),
        sa.CheckConstraint("(state = 'deleted') = (deleted_at IS NOT NULL)", name="deleted"),
        sa.CheckConstraint(
            "check_result IS NULL OR check_result IN ('ok', 'mismatch', 'missing')", name="check_result"
        ),
    )


class CaseFile(Base):
    """One officer's case: a case reference as the officer who made its footage requests works it
    (two officers using one reference have two case files, and neither sees the other's). Open
    until the officer closes it (``closed_at``): the evidence retention rules count from then.
    Its team is the officer and the ``CaseMember`` rows the officer added."""

    __tablename__ = "case_file"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(
        sa.String(PUBLIC_ID_CHARS), unique=True, index=True, default=new_case_file_id
    )
    case_ref: Mapped[str] = mapped_column(sa.String(40))
    officer_id: Mapped[int] = mapped_column(sa.ForeignKey("app_user.id", ondelete="RESTRICT"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), index=True)
    closed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("app_user.id", ondelete="RESTRICT"))

    members: Mapped[list[CaseMember]] = relationship(
        back_populates="case_file", order_by="CaseMember.id", cascade="all, delete-orphan"
    )

    __table_args__ = (sa.UniqueConstraint("case_ref", "officer_id", name="uq_case_file_case_officer"),)


class CaseMember(Base):
    """Another officer the case's officer added to the case's team: sees and triages its evidence."""

    __tablename__ = "case_member"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_file_id: Mapped[int] = mapped_column(sa.ForeignKey("case_file.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("app_user.id", ondelete="RESTRICT"), index=True)
    added_by_id: Mapped[int] = mapped_column(sa.ForeignKey("app_user.id", ondelete="RESTRICT"))
    added_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    case_file: Mapped[CaseFile] = relationship(back_populates="members")

    __table_args__ = (sa.UniqueConstraint("case_file_id", "user_id", name="uq_case_member_case_user"),)


class FootageRequestEvent(Base):
    """Each status a footage request passes through: when and by whom."""

    __tablename__ = "footage_request_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(sa.ForeignKey("footage_request.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(sa.String(20))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    by_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("app_user.id", ondelete="SET NULL"))
    note: Mapped[str | None] = mapped_column(sa.String(500))

    request: Mapped[FootageRequest] = relationship(back_populates="events")


class AuditEvent(Base):
    """Append-only log of consultation, disclosure, collection, alteration and erasure.

    Each row carries a SHA-256 chained to the previous row's hash (tamper evidence); the
    database refuses UPDATE and DELETE on this table (triggers in the migrations).
    """

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(sa.Integer, index=True)
    username: Mapped[str | None] = mapped_column(sa.String(64))
    role: Mapped[str | None] = mapped_column(sa.String(10))
    action: Mapped[str] = mapped_column(sa.String(40), index=True)
    case_ref: Mapped[str | None] = mapped_column(sa.String(40), index=True)
    reason: Mapped[str | None] = mapped_column(sa.String(500))
    subject_ids: Mapped[str | None] = mapped_column(sa.Text)
    detail: Mapped[str | None] = mapped_column(sa.Text)
    prev_hash: Mapped[str] = mapped_column(sa.String(64))
    row_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)


class Campaign(Base):
    """A recruitment campaign with its own QR code. Never linked to a registration."""

    __tablename__ = "campaign"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(40), unique=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    channel: Mapped[str] = mapped_column(sa.String(20))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (
        sa.CheckConstraint(
            "channel IN ('internal_message', 'poster', 'social_media', 'leaflet', 'press', 'other')", name="channel"
        ),
    )


class CampaignDailyCount(Base):
    """Aggregate funnel counts per campaign and day: the only place campaign attribution lives."""

    __tablename__ = "campaign_daily_count"

    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaign.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[dt.date] = mapped_column(sa.Date, primary_key=True)
    scans: Mapped[int] = mapped_column(sa.Integer, default=0)
    form_starts: Mapped[int] = mapped_column(sa.Integer, default=0)
    completions: Mapped[int] = mapped_column(sa.Integer, default=0)
    # The sum (mod 256) of a fresh random key drawn for each completion: the day's cell key for the
    # disclosure-control layer. Never a registration's own key, so it links no registration to a campaign.
    completion_keys: Mapped[int] = mapped_column(sa.Integer, default=0)

    __table_args__ = (sa.CheckConstraint("scans >= 0 AND form_starts >= 0 AND completions >= 0", name="non_negative"),)


class RetiredKey(Base):
    """What is left of erased registrations' record keys: their sum (mod 256) per UK day and district,
    so historical counts (registrations made per day, owner withdrawals per day) keep their cell
    keys, and so their published values, when a registration in them is erased. Anonymous: a sum of
    random numbers per day and district.

    ``series`` is 'registered' (by the day the registration was made) or 'withdrawn' (owner
    withdrawals, by the day of withdrawal)."""

    __tablename__ = "retired_key"

    series: Mapped[str] = mapped_column(sa.String(12), primary_key=True)
    day: Mapped[dt.date] = mapped_column(sa.Date, primary_key=True)
    district_code: Mapped[str] = mapped_column(sa.String(9), primary_key=True)
    key_sum: Mapped[int] = mapped_column(sa.Integer, default=0)

    __table_args__ = (sa.CheckConstraint("series IN ('registered', 'withdrawn')", name="series"),)


class RegisterState(Base):
    """One row: the version of the register, raised in the same transaction as every write that
    changes it (``registry.summaries``). A process keeps a figure computed from the register only
    under the version it was computed at, and reads this row to know whether it still holds."""

    __tablename__ = "register_state"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    changed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # False until the summary tables have been computed from the register (after a migration of an
    # existing register, or a bulk load); ``summaries.ensure_built`` computes them then.
    summaries_built: Mapped[bool] = mapped_column(sa.Boolean, default=False)

    __table_args__ = (sa.CheckConstraint("id = 1", name="one_row"),)


class CoverageCell(Base):
    """Active registrations and cameras per fixed H3 cell and camera choice (``CAMERA_FILTERS``), as
    true counts and raw sums of their record keys, kept exact by every register write
    (``registry.summaries``) and shared by every app process and server. Never shown as they are:
    the disclosure-control layer (``analytics.coverage.published_cells``) publishes them.

    ``left_out``: registrations in the cell with an active camera the choice leaves out."""

    __tablename__ = "coverage_cell"

    res: Mapped[int] = mapped_column(sa.SmallInteger, primary_key=True)
    choice: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    cell: Mapped[str] = mapped_column(sa.String(15), primary_key=True)
    registrations: Mapped[int] = mapped_column(sa.Integer, default=0)
    registrations_key: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    cameras: Mapped[int] = mapped_column(sa.Integer, default=0)
    cameras_key: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    left_out: Mapped[int] = mapped_column(sa.Integer, default=0)


class RegisterCount(Base):
    """Active registrations and their active cameras per district, per small area (LSOA) and per
    UK day of consent, as true counts and raw sums of their record keys, kept exact by every register
    write (``registry.summaries``) and shared by every app process and server. Never shown as they
    are: the disclosure-control layer publishes them.

    ``kind`` is 'district', 'lsoa' or 'consent_day'; ``code`` the area's code or the day (ISO)."""

    __tablename__ = "register_count"

    kind: Mapped[str] = mapped_column(sa.String(12), primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(10), primary_key=True)
    registrations: Mapped[int] = mapped_column(sa.Integer, default=0)
    registrations_key: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    cameras: Mapped[int] = mapped_column(sa.Integer, default=0)
    cameras_key: Mapped[int] = mapped_column(sa.BigInteger, default=0)


class UptakeDay(Base):
    """The uptake page's series per UK day and district, as true counts and raw sums of their
    record keys, kept exact by every register write (``registry.summaries``) and shared by every app
    process and server. Never shown as they are: the disclosure-control layer publishes them.

    ``series`` 'made': every registration ever made, by its day of consent (an erased one's key is
    0 here, its part being in ``retired_key``), and every camera registered with them, switched-off
    ones too. 'withdrawn': registrations their owners withdrew, by the day withdrawn (keys in
    ``retired_key``). ``day`` is ISO."""

    __tablename__ = "uptake_day"

    series: Mapped[str] = mapped_column(sa.String(10), primary_key=True)
    day: Mapped[str] = mapped_column(sa.String(10), primary_key=True)
    district_code: Mapped[str] = mapped_column(sa.String(9), primary_key=True)
    registrations: Mapped[int] = mapped_column(sa.Integer, default=0)
    registrations_key: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    cameras: Mapped[int] = mapped_column(sa.Integer, default=0)
    cameras_key: Mapped[int] = mapped_column(sa.BigInteger, default=0)


class RegisterMix(Base):
    """The active register's cameras per district by ``aspect`` ('kind', 'placement', 'retention':
    the retention class, 'given': 'direction', 'retention' or 'overlooks' filled in, 'all': every
    camera, value '') and ``value``, and the registrations with such a camera; true counts and raw
    key sums, kept exact by every register write (``registry.summaries``)."""

    __tablename__ = "register_mix"

    district_code: Mapped[str] = mapped_column(sa.String(9), primary_key=True)
    aspect: Mapped[str] = mapped_column(sa.String(10), primary_key=True)
    value: Mapped[str] = mapped_column(sa.String(24), primary_key=True)
    registrations: Mapped[int] = mapped_column(sa.Integer, default=0)
    registrations_key: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    cameras: Mapped[int] = mapped_column(sa.Integer, default=0)
    cameras_key: Mapped[int] = mapped_column(sa.BigInteger, default=0)


class GapCrime(Base):
    """Per counted crime: the registered sites within each distance the gap analysis offers and the
    sites with a camera that has it in view; kept exact by every register write
    (``registry.gap_summaries``). Never shown: near / in view is "more than 0", counted per area."""

    __tablename__ = "gap_crime"

    crime_id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
    near_50: Mapped[int] = mapped_column(sa.Integer, default=0)
    near_100: Mapped[int] = mapped_column(sa.Integer, default=0)
    near_200: Mapped[int] = mapped_column(sa.Integer, default=0)
    near_500: Mapped[int] = mapped_column(sa.Integer, default=0)
    seeing: Mapped[int] = mapped_column(sa.Integer, default=0)


class GapReach(Base):
    """Per distance, level ('lsoa', 'district', 'decile', 'force') and area: the registrations with
    a site near, or a camera seeing, one of the area's counted crimes, and the raw sum of their
    record keys; kept exact by every register write (``registry.gap_summaries``)."""

    __tablename__ = "gap_reach"

    radius: Mapped[int] = mapped_column(sa.SmallInteger, primary_key=True, autoincrement=False)
    level: Mapped[str] = mapped_column(sa.String(8), primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(9), primary_key=True)
    registrations: Mapped[int] = mapped_column(sa.Integer, default=0)
    registrations_key: Mapped[int] = mapped_column(sa.BigInteger, default=0)


class PostcodePoint(Base):
    """The reference geography's postcodes (ONS, public) as points, with their small area and
    district: where the area table's "postcodes near a registered camera" are counted from, kept
    here so a register write can count the postcodes around its sites (``registry.area_summaries``).
    Filled from the reference when the app starts."""

    __tablename__ = "postcode_point"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
    lat: Mapped[float] = mapped_column(sa.Float)
    lon: Mapped[float] = mapped_column(sa.Float)
    lsoa: Mapped[str | None] = mapped_column(sa.String(9))
    district: Mapped[str | None] = mapped_column(sa.String(9))

    __table_args__ = (sa.Index("ix_postcode_point_lat_lon", "lat", "lon"),)


class PostcodeNear(Base):
    """Per postcode point: the registered sites within each distance the area table offers; kept
    exact by every register write (``registry.area_summaries``). Never shown: near is "more than 0",
    counted per area."""

    __tablename__ = "postcode_near"

    postcode_id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
    near_50: Mapped[int] = mapped_column(sa.Integer, default=0)
    near_100: Mapped[int] = mapped_column(sa.Integer, default=0)
    near_200: Mapped[int] = mapped_column(sa.Integer, default=0)


class PostcodeReach(Base):
    """Per distance, level ('lsoa', 'district') and area: the registrations with a site near one of
    the area's postcodes, and the raw sum of their record keys (``registry.area_summaries``)."""

    __tablename__ = "postcode_reach"

    radius: Mapped[int] = mapped_column(sa.SmallInteger, primary_key=True, autoincrement=False)
    level: Mapped[str] = mapped_column(sa.String(8), primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(9), primary_key=True)
    registrations: Mapped[int] = mapped_column(sa.Integer, default=0)
    registrations_key: Mapped[int] = mapped_column(sa.BigInteger, default=0)


class ViewWedge(Base):
    """Which square tile (``registry.area_summaries.TILE_M``) each counted camera's field of view
    can reach: a camera of the active register with a known wedge has a row per tile. A change
    counts again only the ground in view of the tiles its cameras reach, from the cameras listed
    here for those tiles."""

    __tablename__ = "view_wedge"

    tile: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
    camera_id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
    site_id: Mapped[int] = mapped_column(sa.Integer, index=True)


class ViewTile(Base):
    """Per tile, level ('lsoa', 'district') and area: the 5 m pixels of the tile inside the union of
    the fields of view of the area's counted cameras (``geo.fov_area``). Summed over the tiles, the
    area's ground in view."""

    __tablename__ = "view_tile"

    tile: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
    level: Mapped[str] = mapped_column(sa.String(8), primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(9), primary_key=True)
    pixels: Mapped[int] = mapped_column(sa.Integer, default=0)


class AreaView(Base):
    """Per level ('lsoa', 'district') and area: the pixels of ground in view (the sum of its
    ``view_tile`` rows), and the registrations whose cameras are counted in it with the raw sum
    of their record keys; kept exact by every register write (``registry.area_summaries``)."""

    __tablename__ = "area_view"

    level: Mapped[str] = mapped_column(sa.String(8), primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(9), primary_key=True)
    registrations: Mapped[int] = mapped_column(sa.Integer, default=0)
    registrations_key: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    pixels: Mapped[int] = mapped_column(sa.BigInteger, default=0)


class RateLimitCounter(Base):
    """Request counts per client and limit window, shared by every web worker process.

    ``window_digest`` is an HMAC of the client's address and the limit, never the address itself.
    """

    __tablename__ = "rate_limit_counter"

    window_digest: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    count: Mapped[int] = mapped_column(sa.Integer, default=0)
    expires_at: Mapped[float] = mapped_column(sa.Float, index=True)  # seconds since the epoch


class CrimeImport(Base):
    """One police.uk street-level crime file imported (for gap analysis); the same file twice is refused."""

    __tablename__ = "crime_import"

    id: Mapped[int] = mapped_column(primary_key=True)
    filename: Mapped[str] = mapped_column(sa.String(200))
    file_sha256: Mapped[str] = mapped_column(sa.String(64), unique=True)
    rows: Mapped[int] = mapped_column(sa.Integer)
    without_coordinates: Mapped[int] = mapped_column(sa.Integer)
    imported_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    imported_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("app_user.id"))


class Crime(Base):
    """A police.uk street-level crime record: public, anonymised open data (a "map point", not an address)."""

    __tablename__ = "crime"

    id: Mapped[int] = mapped_column(primary_key=True)
    import_id: Mapped[int] = mapped_column(sa.ForeignKey("crime_import.id", ondelete="CASCADE"), index=True)
    crime_ref: Mapped[str | None] = mapped_column(sa.String(80))
    month: Mapped[dt.date] = mapped_column(sa.Date, index=True)
    reported_by: Mapped[str] = mapped_column(sa.String(80))
    falls_within: Mapped[str] = mapped_column(sa.String(80))
    lon: Mapped[float | None] = mapped_column(sa.Float)
    lat: Mapped[float | None] = mapped_column(sa.Float)
    location: Mapped[str] = mapped_column(sa.String(200), default="")
    lsoa_code: Mapped[str | None] = mapped_column(sa.String(9), index=True)
    lsoa_name: Mapped[str | None] = mapped_column(sa.String(80))
    crime_type: Mapped[str] = mapped_column(sa.String(60), index=True)
    last_outcome: Mapped[str] = mapped_column(sa.String(120), default="")
    context: Mapped[str] = mapped_column(sa.String(500), default="")
    record_key: Mapped[int | None] = mapped_column(sa.SmallInteger, default=new_record_key)  # disclosure control
    # Where the gap analysis counts it (registry.gap_summaries.place_crimes): the force small area,
    # its district and IMD decile; None when it is not counted (no coordinates, not an official
    # category, outside the force).
    area_lsoa: Mapped[str | None] = mapped_column(sa.String(9))
    area_district: Mapped[str | None] = mapped_column(sa.String(9))
    area_decile: Mapped[int | None] = mapped_column(sa.SmallInteger)

    __table_args__ = (
        sa.Index("ix_crime_lat_lon", "lat", "lon"),
        sa.CheckConstraint("lat IS NULL OR (lat BETWEEN -90 AND 90)", name="lat"),
        sa.CheckConstraint("lon IS NULL OR (lon BETWEEN -180 AND 180)", name="lon"),
    )
