"""Public registration and self-service: what a camera owner may send, and what is done with it.

One pydantic model (:class:`RegistrationIn`) validates the public form and
``POST /api/v1/registrations`` alike. Validation needs the force's reference geography (the
offline postcode list and the force area), passed in the validation context::

    RegistrationIn.model_validate(payload, context={"reference": ref})

The owner gets a reference and a private management token; only the token's SHA-256 is
stored. Withdrawal erases the personal data at once (promise 6) and keeps only what is
anonymous: the district, small area and aggregation cells, and the cameras' kinds, switched off.
Erasure on request and by the retention check (``dashboard.registry.retention``) go through the
same :func:`erase`, so they leave exactly the same.
Nothing here asks for or stores an employer or any link to the police (promise 3), and there is
no field for a camera's stream, address or credentials (promise 1); the free-text fields refuse
them too (``dashboard.registry.free_text``, checked again where a registration is stored).
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import phonenumbers
import sqlalchemy as sa
from dateutil.relativedelta import relativedelta
from pydantic import (
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    StrictBool,
    ValidationInfo,
    field_validator,
    model_validator,
)
from sqlalchemy.orm import Session

from dashboard.core.crs import GEOD
from dashboard.core.digests import token_digest
from dashboard.core.vocab import CAMERA_KINDS, CONTACT_CHANNELS, MAX_RETENTION_DAYS, MOUNTS, OVERLOOKS, SITE_KINDS
from dashboard.geo.cells import site_cells
from dashboard.geo.locate import LocationError, point_from_map
from dashboard.geo.reference import ReferenceGeography
from dashboard.geo.small_areas import small_area_of
from dashboard.registry import audit, free_text, public_ids, summaries
from dashboard.registry.database import hold_write_lock, id_in
from dashboard.registry.models import Camera, FootageResponse, Registrant, Site, utcnow
from dashboard.registry.record_keys import retire_keys

MAX_CAMERAS = 20
MAX_PIN_FROM_POSTCODE_M = 1000
RETENTION_MONTHS = 12  # the default of the RETENTION_MONTHS setting
END_REASONS = ("owner", "request", "retention")  # Registrant.end_reason
# What an erasure sets to NULL, for every reason alike (promise 6).
ERASED_REGISTRANT_FIELDS = ("name", "email", "phone", "preferred_channel", "management_token_hash", "record_key")
ERASED_SITE_FIELDS = (
    "address",
    "postcode",
    "lat",
    "lon",
    "easting_m",
    "northing_m",
    "kind",
    "lsoa_code",
    "h3_r7",
    "h3_r8",
    "h3_r9",
)
# A camera's description goes too: what is left of it is that it existed (for the request history
# that names it, and the uptake history's counts), its record key and its dates.
ERASED_CAMERA_FIELDS = (
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
REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L
REFERENCE_PREFIX = "CCR-"
REFERENCE_LENGTH = 6
PUBLIC = audit.Actor(None, "public", None)  # the registrant: not a user of the system

# A validation context key: skip the rules that join fields (``RegistrationIn.cross_field_problems``).
CROSS_CHECKS_LATER = "cross_checks_later"
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_TEXT = ConfigDict(extra="forbid", str_strip_whitespace=True)

CameraKind = Literal[tuple(CAMERA_KINDS)]  # type: ignore[valid-type]
Mount = Literal[tuple(MOUNTS)]  # type: ignore[valid-type]
Overlook = Literal[tuple(OVERLOOKS)]  # type: ignore[valid-type]
Channel = Literal[tuple(CONTACT_CHANNELS)]  # type: ignore[valid-type]
SiteKind = Literal[tuple(SITE_KINDS)]  # type: ignore[valid-type]


def _plain_text(value: str, what: str) -> str:
    if _CONTROL.search(value):
        raise ValueError(f"The {what} contains control characters; type it again.")
    return free_text.check(" ".join(value.split()), what)  # no stream links, IP addresses or logins (promise 1)


class CameraIn(BaseModel):
    """One camera as its owner describes it."""

    model_config = _TEXT

    kind: CameraKind = Field(description="doorbell, fixed, dome, ptz or other")
    placement: Literal["outdoor", "indoor"]
    mount: Mount | None = None
    direction_deg: int | None = Field(None, ge=0, le=359, description="compass bearing it faces, 0 = north")
    overlooks: list[Overlook] = Field(default_factory=list, max_length=len(OVERLOOKS))
    recording_mode: Literal["continuous", "motion"]
    retention_days: int | None = Field(
        None, ge=0, le=MAX_RETENTION_DAYS, description="days before the camera overwrites its footage"
    )

    @field_validator("overlooks")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))


class RegistrationIn(BaseModel):
    """A registration from the public form or the API (the same rules for both)."""

    model_config = _TEXT

    name: str = Field(min_length=1, max_length=120)
    email: EmailStr | None = Field(None, max_length=254)
    phone: str | None = Field(None, max_length=30, description="a UK phone number")
    preferred_channel: Channel
    site_kind: SiteKind
    address: str = Field(min_length=3, max_length=200, description="house number or name and street")
    postcode: str = Field(min_length=5, max_length=10)
    lat: float | None = Field(None, ge=-90, le=90, description="the pin, if moved from the postcode")
    lon: float | None = Field(None, ge=-180, le=180)
    cameras: list[CameraIn] = Field(min_length=1, max_length=MAX_CAMERAS)
    consent: StrictBool = Field(description="agrees to be contacted about footage after an incident nearby")

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return _plain_text(value, "name")

    @field_validator("address")
    @classmethod
    def _address(cls, value: str) -> str:
        return _plain_text(value, "address")

    @field_validator("email", "phone", mode="before")
    @classmethod
    def _blank_is_none(cls, value):
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        return value.lower() if value else value

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            number = phonenumbers.parse(value, "GB")
        except phonenumbers.NumberParseException:
            raise ValueError("Enter a UK phone number, such as 07700 900123 or 01632 960123.") from None
        if number.country_code != 44 or not (phonenumbers.is_valid_number(number) or _drama(number)):
            raise ValueError("Enter a UK phone number, such as 07700 900123 or 01632 960123.")
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)

    @field_validator("postcode")
    @classmethod
    def _postcode(cls, value: str, info: ValidationInfo) -> str:
        ref = _reference(info)
        row = ref.lookup_postcode(value)
        if row is None:
            raise ValueError(f"'{value[:10]}' is not a postcode in the {ref.force_name} area; check it and try again.")
        return str(row["postcode"])

    @field_validator("consent")
    @classmethod
    def _consent(cls, value: bool) -> bool:
        if value is not True:
            raise ValueError("Tick the box to agree to be contacted; the register exists only for that.")
        return value

    @model_validator(mode="after")
    def _contact_and_place(self, info: ValidationInfo) -> RegistrationIn:
        if (info.context or {}).get(CROSS_CHECKS_LATER):
            return self  # the caller runs cross_field_problems itself (the form, to list every problem at once)
        problems = self.cross_field_problems(_reference(info))
        if problems:
            raise _field_error(*problems[0])
        return self

    def cross_field_problems(self, ref: ReferenceGeography) -> list[tuple[str, str]]:
        """The rules that join fields (a way to be contacted; the pin near the postcode), as
        (field, message), every one that applies."""
        problems = []
        if self.email is None and self.phone is None:
            problems.append(("email", "Give an email address or a phone number, so the police can ask you."))
        elif self.preferred_channel == "email" and self.email is None:
            problems.append(("preferred_channel", "You chose email; give an email address, or choose phone."))
        elif self.preferred_channel in ("phone", "text") and self.phone is None:
            problems.append(("preferred_channel", "You chose phone or text; give a phone number, or choose email."))
        elif self.preferred_channel == "text" and not _is_mobile(self.phone):
            problems.append(("preferred_channel", "Texts need a mobile number; give one, or choose a call."))
        if (self.lat is None) != (self.lon is None):
            problems.append(("lat", "Give both latitude and longitude of the pin, or neither."))
        elif self.lat is not None:
            try:
                point_from_map(self.lat, self.lon, ref)
            except LocationError as exc:
                problems.append(("lat", f"{exc} Move the pin to your camera's site."))
            else:
                centre = ref.lookup_postcode(self.postcode)
                if _metres(self.lat, self.lon, float(centre["lat"]), float(centre["lon"])) > MAX_PIN_FROM_POSTCODE_M:
                    problems.append(
                        (
                            "lat",
                            f"The pin is more than {MAX_PIN_FROM_POSTCODE_M:,} m from {self.postcode}; "
                            "move it to your camera's site or check the postcode.",
                        )
                    )
        return problems


def _field_error(field: str, message: str) -> ValueError:
    # pydantic reports model-level errors at the model; the field name travels as a "[field] "
    # prefix of the message and ``dashboard.api.endpoints.field_errors`` moves it back to its field.
    return ValueError(f"[{field}] {message}")


def _reference(info: ValidationInfo) -> ReferenceGeography:
    ref = (info.context or {}).get("reference")
    if ref is None:
        raise RuntimeError("RegistrationIn needs the reference geography in its validation context")
    return ref


# Ofcom's ranges for drama and demonstrations: never anyone's real number (the demo data uses them).
_DRAMA = re.compile(r"^(7700900\d{3}|1632960\d{3})$")


def _drama(number: phonenumbers.PhoneNumber) -> bool:
    return bool(_DRAMA.match(str(number.national_number)))


def _is_mobile(phone: str | None) -> bool:
    if phone is None:
        return False
    number = phonenumbers.parse(phone, "GB")
    if _drama(number):
        return str(number.national_number).startswith("7")
    kind = phonenumbers.number_type(phonenumbers.parse(phone, "GB"))
    return kind in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)


def _metres(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    return abs(GEOD.inv(lon1, lat1, lon2, lat2)[2])


# --------------------------------------------------------------------------- storing


@dataclass(frozen=True)
class Registered:
    registrant_id: int
    reference: str
    token: str  # shown to the owner once; only its digest is stored
    cameras: int
    # The active registration this email address already had at this postcode, if any: its owner
    # is told (``dashboard.public.duplicates``); the one who sent the form is not (issue 15, item 5).
    repeat_of: int | None = None
    email_given: bool = False  # the new registration's link is emailed to it (dashboard.public.duplicates)


def _new_reference(session: Session) -> str:
    while True:
        ref = REFERENCE_PREFIX + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_LENGTH))
        if session.scalar(sa.select(Registrant.id).where(Registrant.reference == ref)) is None:
            return ref


def _site_fields(data: RegistrationIn, ref: ReferenceGeography) -> dict:
    """The site's columns from a validated registration: the pin (or the postcode's centre),
    its grid position, district, small area and aggregation cells."""
    centre = ref.lookup_postcode(data.postcode)
    lat, lon = (data.lat, data.lon) if data.lat is not None else (float(centre["lat"]), float(centre["lon"]))
    point = point_from_map(lat, lon, ref)
    district = point.district_code or str(centre["district_code"])
    lsoa = small_area_of(
        ref,
        np.array([lon]),
        np.array([lat]),
        np.array([district], dtype=object),
        np.array([centre.get("small_area_code")], dtype=object),
    )[0]
    return {
        "kind": data.site_kind,
        "address": data.address,
        "postcode": data.postcode,
        "lat": lat,
        "lon": lon,
        "easting_m": point.easting_m,
        "northing_m": point.northing_m,
        "district_code": district,
        "lsoa_code": lsoa,
        **site_cells(lat, lon),
    }


def _camera(c: CameraIn) -> Camera:
    return Camera(
        kind=c.kind,
        placement=c.placement,
        mount=c.mount,
        direction_deg=c.direction_deg,
        overlooks=",".join(c.overlooks),
        recording_mode=c.recording_mode,
        retention_days=c.retention_days,
        active=True,
    )


def existing_registration(session: Session, email: str | None, postcode: str) -> int | None:
    """The id of the earliest active registration this email address already has at this postcode,
    if any (only the id: a repeat must cost no more than a first registration)."""
    if email is None:
        return None
    # The address's registrations by its index, the rest tested here: with the order and the status in
    # SQL, SQLite walked every registration by creation time (a third of a second at a million).
    rows = session.execute(
        sa.select(Registrant.id, Registrant.created_at, Registrant.status, Site.postcode)
        .join(Site, Site.registrant_id == Registrant.id)
        .where(Registrant.email == email)
    ).all()
    found = sorted((r.created_at, r.id) for r in rows if r.status == "active" and r.postcode == postcode)
    return found[0][1] if found else None


def registrations_at(session: Session, email: str, postcode: str) -> list[Registrant]:
    """Every active registration made with ``email`` (as stored: lower case) at ``postcode`` (as the
    postcode list writes it), oldest first: "Lost your link?" sends each a fresh link."""
    return list(
        session.scalars(
            sa.select(Registrant)
            .join(Site, Site.registrant_id == Registrant.id)
            .where(Registrant.email == email, Registrant.status == "active", Site.postcode == postcode)
            .order_by(Registrant.created_at, Registrant.id)
        )
    )


def link_resent_recently(
    session: Session, registrant: Registrant, within: dt.timedelta, now: dt.datetime | None = None
) -> bool:
    from dashboard.registry.models import AuditEvent

    since = (now or utcnow()) - within
    return (
        session.scalar(
            sa.select(sa.func.count())
            .select_from(AuditEvent)
            .where(
                AuditEvent.action == "management_link_resent",
                AuditEvent.subject_ids == f'["{registrant.id}"]',
                AuditEvent.occurred_at >= since,
            )
        )
        > 0
    )


def fresh_token() -> str:
    """A new private management token (43 URL-safe characters, 256 random bits)."""
    return secrets.token_urlsafe(32)


def log_link_requested(session: Session, *, refused: str | None, now: dt.datetime | None = None) -> None:
    """Log a "Lost your link?" request, or its refusal at a limit (``refused``: "address" or "pair"):
    what was typed stays out of the log, so the row reads the same whether or not a registration
    matched."""
    detail = {"refused": f"rate_limit_{refused}"} if refused else None
    audit.record(session, PUBLIC, "management_link_requested", at=now, detail=detail)


def new_management_token(
    session: Session,
    registrant: Registrant,
    *,
    now: dt.datetime | None = None,
    token: str | None = None,
    via: str | None = None,
) -> str:
    """Replace the registration's private link (with ``token``, or a fresh one): the old one stops
    working. Logged without the token (``via``: what sent it, e.g. ``lost_link``)."""
    token = token or fresh_token()
    registrant.management_token_hash = token_digest(token)
    registrant.updated_at = now or utcnow()
    session.flush()
    audit.record(
        session,
        PUBLIC,
        "management_link_resent",
        subject_ids=[registrant.id],
        at=now,
        detail={"via": via} if via else None,
    )
    return token


def register(
    session: Session, data: RegistrationIn, ref: ReferenceGeography, *, via: str, now: dt.datetime | None = None
) -> Registered:
    """Store a validated registration, and name the earlier one this email address has at this
    postcode, if any (``Registered.repeat_of``).

    A repeat is stored and answered exactly as a first registration, doing the same work: refusing
    it, or answering it differently, would tell anyone who types a name's email address and a
    postcode whether that person has registered cameras there. The earlier registration's owner is
    told by email (with a fresh private link for it, naming the new one), outside this function.
    The audit event ``registration_created`` records the registrant id and camera count only.
    """
    free_text.check_fields(data)  # again here: a model built without validation must not carry one in
    now = now or utcnow()
    if data.email is not None:  # two submissions of one form at once: the second sees the first as earlier
        hold_write_lock(session, f"registration:{data.email}:{data.postcode}")
    earlier = existing_registration(session, data.email, data.postcode)
    token = secrets.token_urlsafe(32)
    registrant = Registrant(
        reference=_new_reference(session),
        name=data.name,
        email=data.email,
        phone=data.phone,
        preferred_channel=data.preferred_channel,
        consent_at=now,
        status="active",
        last_confirmed_at=now,
        management_token_hash=token_digest(token),
        created_at=now,
        updated_at=now,
    )
    site = Site(**_site_fields(data, ref), created_at=now, updated_at=now)
    site.cameras = [_camera(c) for c in data.cameras]
    for camera, public_id in zip(site.cameras, public_ids.fresh_ids(session, Camera, len(site.cameras))):
        camera.public_id = public_id  # random, checked unused (the model's default does not check)
    registrant.site = site
    with summaries.changing(session) as touched:
        session.add(registrant)
        session.flush()
        touched.add(site.id)
    audit.record(
        session,
        PUBLIC,
        "registration_created",
        subject_ids=[registrant.id],
        detail={"cameras": len(data.cameras), "via": via},
        at=now,
    )
    return Registered(
        registrant.id,
        registrant.reference,
        token,
        len(data.cameras),
        repeat_of=earlier,
        email_given=data.email is not None,
    )


def by_token(session: Session, token: str) -> Registrant | None:
    """The active registration a management token opens, or None (unknown, or withdrawn)."""
    if not isinstance(token, str) or not 20 <= len(token) <= 100:
        return None
    return session.scalar(
        sa.select(Registrant).where(
            Registrant.management_token_hash == token_digest(token), Registrant.status == "active"
        )
    )


def confirmation_cutoff(now: dt.datetime, months: int = RETENTION_MONTHS) -> dt.datetime:
    """The instant a registration must have been confirmed after to be current: ``months``
    calendar months before ``now`` (a registration confirmed at or before it is overdue).

    >>> utc = dt.timezone.utc
    >>> confirmation_cutoff(dt.datetime(2026, 1, 10, 9, tzinfo=utc), 12)
    datetime.datetime(2025, 1, 10, 9, 0, tzinfo=datetime.timezone.utc)
    >>> confirmation_cutoff(dt.datetime(2027, 2, 28, tzinfo=utc), 12)  # no 29 February in 2026: day clipped
    datetime.datetime(2026, 2, 28, 0, 0, tzinfo=datetime.timezone.utc)
    """
    if not isinstance(months, int) or months < 1:
        raise ValueError(f"the retention period must be a whole number of months, at least 1, got {months!r}")
    return now - relativedelta(months=months)


def due_for_reconfirmation(
    registrant: Registrant, now: dt.datetime | None = None, months: int = RETENTION_MONTHS
) -> bool:
    """Whether the owner should confirm the registration now: it is active and either the retention
    check has flagged it, or it was last confirmed ``months`` or more ago."""
    if registrant.status != "active":
        return False
    return registrant.retention_flagged_at is not None or registrant.last_confirmed_at <= confirmation_cutoff(
        now or utcnow(), months
    )


@dataclass(frozen=True)
class Erased:
    """What an erasure did: the registrations whose personal data it removed and the cameras it
    switched off (registrations already ended are left alone and not counted)."""

    registrant_ids: tuple[int, ...]
    cameras_switched_off: int


def erase(
    session: Session,
    registrant_ids: Sequence[int],
    *,
    why: str,
    now: dt.datetime | None = None,
    where: sa.ColumnElement[bool] | None = None,
) -> Erased:
    """Erase the owners' personal data at once and switch their cameras off (promise 6): the one
    erasure behind owner withdrawal, erasure on request and retention, so all three leave the same.

    ``why`` is the ``end_reason``: ``owner``, ``request`` or ``retention``. Set-based (three
    ``UPDATE`` statements, whatever the number of ids), so the retention run can erase thousands at a
    time; only registrations still active (and matching ``where``, a condition on ``Registrant``
    re-checked in the same statement) are touched, and those are returned. Objects already
    loaded in ``session`` are expired, so they read the erased values back. Left: the reference,
    status and dates, the site's district, and that each camera existed (inactive, with its record
    key and dates: the request history names it, the uptake history counts it): nothing that
    identifies, locates or describes a person's home or cameras. Gone with the personal data: the
    site's kind, small area and H3 cells, and every camera's description. Writes no audit event: each caller
    logs its own, without the erased data.
    """
    if why not in END_REASONS:
        raise ValueError(f"why must be one of {END_REASONS}, got {why!r}")
    ids = sorted({int(i) for i in registrant_ids})
    if not ids:
        return Erased((), 0)
    now = now or utcnow()
    session.flush()
    site = Site.__table__
    # The summaries are kept exact across the erasure (a site with nothing active contributes nothing).
    site_ids = session.execute(sa.select(site.c.id).where(id_in(session, site.c.registrant_id, ids))).scalars().all()
    with summaries.changing(session, site_ids):
        return _erase(session, ids, why=why, now=now, where=where)


def _erase(session: Session, ids: list[int], *, why: str, now: dt.datetime, where) -> Erased:
    registrant, site, camera = Registrant.__table__, Site.__table__, Camera.__table__
    # ``updated_at`` is the wall-clock time of the change (never ``now``, which a retention run may
    # set in the past): the register's change check must see it, or a cached search index would
    # keep the erased sites.
    changed = max(now, utcnow())
    # The record keys go with the personal data; first their part in historical counts moves into
    # the anonymous daily sums (record_keys.retire_keys), for the registrations really erased below.
    keyed = {
        row.id: row
        for row in session.execute(
            sa.select(registrant.c.id, registrant.c.record_key, registrant.c.consent_at, site.c.district_code)
            .join(site, site.c.registrant_id == registrant.c.id)
            .where(id_in(session, registrant.c.id, ids), registrant.c.status == "active")
        )
    }
    done = sorted(
        session.execute(
            sa.update(registrant)
            .where(
                id_in(session, registrant.c.id, ids),
                registrant.c.status == "active",
                *([] if where is None else [where]),
            )
            .values(
                **dict.fromkeys(ERASED_REGISTRANT_FIELDS),
                status="withdrawn",
                end_reason=why,
                withdrawn_at=now,
                updated_at=changed,
            )
            .returning(registrant.c.id)
        )
        .scalars()
        .all()
    )
    if not done:
        return Erased((), 0)
    retire_keys(
        session,
        [
            (keyed[i].record_key, _aware(keyed[i].consent_at), keyed[i].district_code, why == "owner")
            for i in done
            if i in keyed
        ],
        now,
    )
    session.execute(
        sa.update(site)
        .where(id_in(session, site.c.registrant_id, done))
        .values(**dict.fromkeys(ERASED_SITE_FIELDS), updated_at=changed)
    )
    sites = sa.select(site.c.id).where(id_in(session, site.c.registrant_id, done))
    cameras = session.execute(
        sa.update(camera)
        .where(camera.c.site_id.in_(sites), camera.c.active == sa.true())
        .values(active=False, updated_at=changed)
    ).rowcount
    # Cameras switched off earlier by the owner lose their description with the rest.
    session.execute(
        sa.update(camera)
        .where(camera.c.site_id.in_(sites))
        .values(**dict.fromkeys(ERASED_CAMERA_FIELDS), updated_at=changed)
    )
    # Their answers to footage requests keep no name, note or working link (the statement's facts
    # stay with any footage given: the clock difference and when the copy was made, nobody's name).
    session.execute(
        sa.update(FootageResponse.__table__)
        .where(id_in(session, FootageResponse.__table__.c.registrant_id, done))
        .values(signed_name=None, owner_note=None, token_hash=None)
    )
    session.expire_all()
    return Erased(tuple(done), int(cameras))


def _aware(value) -> dt.datetime:
    """A stored UTC time read through Core (naive datetime or text on SQLite) as an aware datetime."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def withdraw(session: Session, registrant: Registrant, *, via: str, now: dt.datetime | None = None) -> None:
    """The owner withdraws from the management link: :func:`erase` with ``end_reason`` 'owner',
    logged as ``registration_withdrawn`` with how (``via``) and nothing else."""
    now = now or utcnow()
    registrant_id = registrant.id
    if erase(session, [registrant_id], why="owner", now=now).registrant_ids:
        audit.record(
            session, PUBLIC, "registration_withdrawn", subject_ids=[registrant_id], detail={"via": via}, at=now
        )


def reconfirm(session: Session, registrant: Registrant, *, now: dt.datetime | None = None) -> None:
    """The owner says the registration is still right: it is no longer due for reconfirmation,
    and a retention flag on it is cleared (it will not be erased)."""
    now = now or utcnow()
    registrant.last_confirmed_at = now
    registrant.retention_flagged_at = None
    registrant.updated_at = now
    session.flush()
    audit.record(session, PUBLIC, "registration_reconfirmed", subject_ids=[registrant.id], at=now)


def update(
    session: Session,
    registrant: Registrant,
    data: RegistrationIn,
    camera_ids: list[int | None],
    ref: ReferenceGeography,
    *,
    now: dt.datetime | None = None,
) -> None:
    """Replace the owner's details, site and cameras with ``data`` (the management page).

    ``camera_ids[i]`` is the id of the existing camera ``data.cameras[i]`` describes, or None for
    a new one. Existing cameras left out are switched off, not deleted, so footage requests that
    name them keep their history. An id that is not one of this registration's cameras is refused.
    """
    free_text.check_fields(data)
    now = now or utcnow()
    site = registrant.site
    own = {c.id: c for c in site.cameras}
    if len(camera_ids) != len(data.cameras):
        raise ValueError("one camera id (or None) is needed per camera")
    strangers = [i for i in camera_ids if i is not None and i not in own]
    if strangers:
        raise ValueError(f"camera(s) {strangers} are not part of this registration")
    with summaries.changing(session, [site.id]):
        _update(session, registrant, site, own, data, camera_ids, ref, now)
    audit.record(
        session,
        PUBLIC,
        "registration_updated",
        subject_ids=[registrant.id],
        detail={"cameras": len(data.cameras)},
        at=now,
    )


def _update(session, registrant, site, own, data, camera_ids, ref, now) -> None:
    registrant.name, registrant.email, registrant.phone = data.name, data.email, data.phone
    registrant.preferred_channel = data.preferred_channel
    registrant.updated_at = now
    for key, value in _site_fields(data, ref).items():
        setattr(site, key, value)
    site.updated_at = now
    kept = set()
    for camera_id, described in zip(camera_ids, data.cameras):
        fresh = _camera(described)
        fresh.public_id = public_ids.fresh_ids(session, Camera, 1)[0]
        if camera_id is None:
            site.cameras.append(fresh)
            continue
        camera = own[camera_id]
        kept.add(camera_id)
        for column in ("kind", "placement", "mount", "direction_deg", "overlooks", "recording_mode", "retention_days"):
            setattr(camera, column, getattr(fresh, column))
        camera.active = True
        camera.updated_at = now
    for camera_id, camera in own.items():
        if camera_id not in kept and camera.active:
            camera.active = False
            camera.updated_at = now
    session.flush()
