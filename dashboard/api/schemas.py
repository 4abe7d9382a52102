"""Request and response schemas shared by the API and the pages (pydantic v2).

The same models validate the officer search page's inputs and the API's, and generate the
OpenAPI document. Runtime settings (the case-reference format) arrive through the validation
context: ``Model.model_validate(data, context={"case_ref_pattern": ..., "case_ref_example": ...})``.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from dashboard.core.uktime import UK
from dashboard.core.vocab import MOST_LISTED, POSTCODE_RADII_M
from dashboard.registry.public_ids import CAMERA_PREFIX, normalise

MIN_RADIUS_M = 50
MAX_RADIUS_M = 1000
DEFAULT_RADIUS_M = 200
MIN_REASON_CHARS = 10
MAX_REASON_CHARS = 500
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def validation_context(settings) -> dict:
    """What the validators need from the settings: the force's case-reference format."""
    return {"case_ref_pattern": settings.case_ref_pattern, "case_ref_example": settings.case_ref_example}


def _check_case_ref(value: str, info: ValidationInfo) -> str:
    ctx = info.context or {}
    pattern = ctx.get("case_ref_pattern")
    text = value.strip().upper()
    if not text:
        raise ValueError("Enter the case reference.")
    if pattern and not re.fullmatch(pattern, text):
        example = ctx.get("case_ref_example", "")
        raise ValueError(
            f"'{value.strip()[:40]}' is not a case reference in this force's format"
            + (f", e.g. {example}." if example else ".")
        )
    return text


def _check_reason(value: str) -> str:
    text = " ".join(value.split())
    if _CONTROL.search(value):
        raise ValueError("The reason contains control characters.")
    if len(text) < MIN_REASON_CHARS:
        raise ValueError(
            f"Give the reason in at least {MIN_REASON_CHARS} characters (what happened and why these cameras may help)."
        )
    if len(text) > MAX_REASON_CHARS:
        raise ValueError(f"Keep the reason under {MAX_REASON_CHARS} characters.")
    return text


def as_utc(value: dt.datetime) -> dt.datetime:
    """An aware UTC datetime; a naive one is read as UK local time (what an officer types)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UK)
    return value.astimezone(dt.UTC)


class CaseContext(BaseModel):
    """Why the officer is looking: required before any owner detail is shown."""

    model_config = ConfigDict(str_strip_whitespace=True)

    case_ref: str = Field(description="Case reference in the force's format", examples=["CR-2026-004512"])
    reason: str = Field(description=f"Why: {MIN_REASON_CHARS}-{MAX_REASON_CHARS} characters")

    @field_validator("case_ref")
    @classmethod
    def _case_ref(cls, v: str, info: ValidationInfo) -> str:
        return _check_case_ref(v, info)

    @field_validator("reason")
    @classmethod
    def _reason(cls, v: str) -> str:
        return _check_reason(v)


class NearQuery(CaseContext):
    """GET /api/v1/cameras/near"""

    lat: float = Field(ge=-90, le=90, description="Incident latitude, WGS84")
    lon: float = Field(ge=-180, le=180, description="Incident longitude, WGS84")
    radius_m: int = Field(DEFAULT_RADIUS_M, ge=MIN_RADIUS_M, le=MAX_RADIUS_M, description="Search radius in metres")
    at: dt.datetime = Field(description="Incident date and time, ISO 8601 (no offset = UK local time)")

    @field_validator("at")
    @classmethod
    def _at(cls, v: dt.datetime) -> dt.datetime:
        value = as_utc(v)
        if value > dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5):
            raise ValueError("The incident time is in the future.")
        return value


class NearCamera(BaseModel):
    rank: int
    camera_id: str = Field(description="The camera's random public id, e.g. CAM-7K3QX9P2")
    distance_m: float = Field(description="Geodesic distance (WGS84) from the incident, metres")
    kind: str
    direction_deg: int | None
    fov_angle_deg: float
    fov_range_m: float
    in_view: Literal["yes", "no", "unknown"]
    retained_until: dt.datetime | None = Field(description="Incident time + retention days (UTC)")
    retention_status: Literal["available", "at_risk", "overwritten", "unknown"]
    preferred_channel: str | None


class NearResponse(BaseModel):
    lat: float
    lon: float
    radius_m: int
    at: dt.datetime
    case_ref: str
    count: int = Field(description="How many cameras are listed in `cameras`")
    within_radius: int = Field(
        description=(
            "How many registered cameras are within the radius. When more than `count`, `cameras` lists "
            f"the best-ranked {MOST_LISTED:,} and the rest are not listed (nor found for requests): "
            "narrow the radius or move the point to list them."
        )
    )
    cameras: list[NearCamera]


class RequestCreate(CaseContext):
    """POST /api/v1/requests"""

    camera_ids: list[str] = Field(
        min_length=1, max_length=50, description="Public ids of cameras from your search, e.g. CAM-7K3QX9P2"
    )

    @field_validator("camera_ids", mode="before")
    @classmethod
    def _public_ids(cls, v):
        """Cameras are named by their public ids; an internal (integer) id is refused."""
        if not isinstance(v, list):
            return v  # the list check reports it
        shown = [normalise(i, CAMERA_PREFIX) for i in v]
        bad = [str(i)[:20] for i, n in zip(v, shown) if n is None]
        if bad:
            raise ValueError(
                f"{', '.join(repr(b) for b in bad[:5])} "
                f"{'is not a camera id' if len(bad) == 1 else 'are not camera ids'}: give the ids "
                "the search showed, such as CAM-7K3QX9P2."
            )
        return shown

    incident_lat: float = Field(ge=-90, le=90)
    incident_lon: float = Field(ge=-180, le=180)
    incident_from: dt.datetime
    incident_to: dt.datetime
    crime_category: str | None = Field(None, max_length=60)
    shared_detail: str | None = Field(
        None,
        max_length=300,
        description=(
            "What the owner is told about the incident (at most 300 characters, no links); nothing else is said"
        ),
    )
    preservation_notice: bool = Field(
        False,
        description=(
            "Send an urgent 'please keep your footage' notice first to owners whose footage may be overwritten "
            "within 48 hours"
        ),
    )

    @field_validator("incident_from", "incident_to")
    @classmethod
    def _utc(cls, v: dt.datetime) -> dt.datetime:
        return as_utc(v)

    @model_validator(mode="after")
    def _window(self) -> RequestCreate:
        if self.incident_to < self.incident_from:
            raise ValueError("The incident window ends before it starts.")
        return self


class RequestStatusUpdate(BaseModel):
    """PATCH /api/v1/requests/{request_id}"""

    status: Literal["footage_provided", "no_relevant_footage", "declined", "no_response", "withdrawn"]
    note: str | None = Field(None, max_length=500)
    footage_useful: bool | None = None


class RequestOut(BaseModel):
    request_id: str = Field(description="The request's random public id, e.g. REQ-M4T8WZ2C")
    case_ref: str
    camera_id: str = Field(description="The camera's random public id")
    status: str
    sent_at: dt.datetime
    status_changed_at: dt.datetime
    footage_likely_overwritten: bool
    footage_useful: bool | None


class RequestList(BaseModel):
    case_ref: str
    count: int
    requests: list[RequestOut]


class DeliveryOut(BaseModel):
    """What happens to new footage requests on their way to the owners."""

    recorded: int = Field(description="Requests recorded")
    email: int = Field(description="Requests that will be emailed")
    text: int = Field(description="Requests that will be sent by text message")
    joined: int = Field(description="Requests added to a request already on its way to the same owner in the case")
    phone_preferred: int = Field(description="Requests not sent: the owner asked to be phoned")
    not_delivered: int = Field(
        description="Requests recorded but not delivered: no service set up, or no usable contact"
    )
    preservation_notices: int = Field(description="Urgent 'please keep your footage' notices queued (one per owner)")
    message: str = Field(description="The same, in words for the officer")


class RequestsCreated(RequestList):
    """POST /api/v1/requests: the requests made, and how they reach the owners."""

    delivery: DeliveryOut


class RequestProgressOut(BaseModel):
    """GET /api/v1/requests/{request_id}/progress: one of your requests on its way to the owner and back."""

    request_id: str
    case_ref: str
    response_id: str | None = Field(description="The owner's response (one per owner per case), e.g. FTG-...")
    delivery: Literal["queued", "sending", "sent", "failed", "cancelled", "not_sent", "none"] = Field(
        description="queued (waiting or retrying), sending, sent, failed (given up), cancelled (the owner withdrew "
        "or answered first), not_sent (see not_sent_reason), none (made before delivery existed)"
    )
    channel: Literal["email", "text"] | None
    sent_at: dt.datetime | None
    attempts: int
    error: str | None = Field(description="Why the last attempt failed (no address in it)")
    retry_at: dt.datetime | None = Field(description="When a failed attempt will be tried again")
    not_sent_reason: Literal["phone_preferred", "no_channel"] | None
    preservation_notice: Literal["queued", "sending", "sent", "failed", "cancelled"] | None
    preservation_sent_at: dt.datetime | None
    opened_at: dt.datetime | None = Field(description="When the owner first opened their link")
    answer: Literal["footage", "nothing", "declined"] | None
    answered_at: dt.datetime | None
    files_stored: int = Field(description="Files the owner uploaded that are stored")


class CaseQuery(BaseModel):
    """GET /api/v1/requests?case_ref=..."""

    case_ref: str

    @field_validator("case_ref")
    @classmethod
    def _case_ref(cls, v: str, info: ValidationInfo) -> str:
        return _check_case_ref(v, info)


class RegistrationOut(BaseModel):
    """A stored registration: its reference and the owner's private management link (shown once)."""

    reference: str
    cameras: int
    management_token: str = Field(description="shown once; only its hash is stored")
    management_url: str


NEAR_CHOICES_M = POSTCODE_RADII_M


class CoverageCellsQuery(BaseModel):
    """Which grid and which cameras to count: at most one of kind, placement and direction_known;
    no date filter (registered_by is refused with the reason)."""

    model_config = ConfigDict(extra="forbid")

    res: int = Field(8, ge=7, le=9, description="H3 resolution: 7 (~5.2 km² cells), 8 (~0.74 km²) or 9 (~0.11 km²)")
    kind: Literal["doorbell", "fixed", "dome", "ptz", "other"] | None = None
    placement: Literal["outdoor", "indoor"] | None = None
    direction_known: bool | None = None

    @model_validator(mode="before")
    @classmethod
    def _no_date_filter(cls, data):
        from dashboard.analytics.coverage import NO_DATE_FILTER

        if isinstance(data, dict) and "registered_by" in data:
            raise ValueError(f"[registered_by] {NO_DATE_FILTER}")
        return data

    @model_validator(mode="after")
    def _one_filter(self):
        from dashboard.analytics.coverage import ONE_FILTER

        given = [name for name in ("kind", "placement", "direction_known") if getattr(self, name) is not None]
        if len(given) > 1:
            raise ValueError(f"[{given[1]}] {ONE_FILTER} Given: {', '.join(given)}.")
        return self


class CoverageCell(BaseModel):
    cell: str
    centre: list[float] = Field(description="[lon, lat]")
    polygon: list[list[float]] = Field(description="closed ring of [lon, lat]")
    cameras: int | None = Field(description="published (slightly adjusted); null when not shown")
    registrations: int | None = Field(description="published (slightly adjusted); null when not shown")
    suppressed: bool


class CoverageCells(BaseModel):
    res: int
    k: int = Field(
        description="cells drawn from fewer registrations than this show no number (and at res 9 are not listed)"
    )
    note: str = Field(description="how the figures are adjusted to protect owners")
    cells: list[CoverageCell]


class CoverageAreasQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    level: Literal["district", "lsoa"] = Field("district", description="districts or small areas (LSOA 2021)")
    near_m: int = Field(
        100,
        description="distance in metres for the share of postcodes with a camera nearby: 50, 100 or 200",
        json_schema_extra={"enum": list(NEAR_CHOICES_M)},
    )

    @field_validator("near_m")
    @classmethod
    def _near(cls, v: int) -> int:
        if v not in NEAR_CHOICES_M:
            raise ValueError(f"Choose one of: {', '.join(map(str, NEAR_CHOICES_M))} (metres).")
        return v


class CoverageArea(BaseModel):
    code: str
    name: str
    households: float | None
    registrations: int | None = Field(description="published (slightly adjusted); null when not shown")
    cameras: int | None = Field(description="published (slightly adjusted); null when not shown")
    registrations_per_1000: float | None
    cameras_per_1000: float | None
    postcodes: int | None = Field(description="postcodes (with coordinates) in the area")
    postcodes_near_share: float | None = Field(
        description="share 0..1 of them with a registered camera within near_m "
        "(from the published count); null when drawn from fewer "
        "than k registrations"
    )
    area_km2: float | None
    in_view_km2: float | None = Field(
        description="ground inside the union of the cameras' fields of view (5 m grid), "
        "slightly adjusted; null when drawn from fewer than k registrations"
    )
    in_view_share: float | None
    suppressed: bool


class CoverageAreas(BaseModel):
    level: str
    near_m: int
    k: int
    households_source: str
    note: str = Field(description="how the figures are adjusted to protect owners")
    areas: list[CoverageArea]


ADJUSTED = (
    "adjusted by the disclosure-control layer (moved by at most a few, the same way for the same "
    "records); null when not shown"
)
DIFFERENCE = (
    "a difference of two published fixed-calendar running totals (counted from the first record, whatever "
    "range is asked), so moving from/to gives nothing new; null when fewer than k, or when a total it is "
    "drawn from is not shown"
)


class MetricsQuery(BaseModel):
    """A date range for the pilot metrics (UK days, both included). Figures below force level
    (campaigns, footage requests) are for the whole UK weeks (Monday to Sunday) holding the range."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    from_: dt.date = Field(alias="from", description="first day, YYYY-MM-DD")
    to: dt.date = Field(description="last day, YYYY-MM-DD")

    @model_validator(mode="after")
    def _range(self):
        if self.to < self.from_:
            raise ValueError("[to] The last day is before the first day.")
        if (self.to - self.from_).days > 3 * 366:
            raise ValueError("[to] Ask for at most three years at a time.")
        return self


class UptakeDay(BaseModel):
    day: dt.date
    registrations: int | None = Field(description=f"registrations made that UK day: {DIFFERENCE}")
    cameras: int | None = Field(description=f"cameras registered with them: {DIFFERENCE}")
    total: int | None = Field(
        description="registrations made from the start to the end of the day (erased ones "
        f"included): the fixed-calendar running total, {ADJUSTED}"
    )


class UptakeDistrict(BaseModel):
    code: str
    name: str
    registrations: int | None = Field(description=f"active registrations now, {ADJUSTED} (below k)")
    cameras: int | None = Field(description=f"their active cameras, {ADJUSTED} (or when registrations are)")
    registrations_per_1000: float | None = Field(description="per 1,000 households, from the published registrations")


class UptakeCampaign(BaseModel):
    campaign: str
    channel: str
    scans: int | None = Field(description="page visits in the weeks, exact (they count no person)")
    form_starts: int | None = Field(description="page visits in the weeks, exact (they count no person)")
    completions: int | None = Field(description=f"registrations in the weeks: {DIFFERENCE} (weekly totals)")
    start_rate: float | None
    completion_rate: float | None = Field(description="from the published completions; null when they are")


class UptakeMetrics(BaseModel):
    from_: dt.date = Field(alias="from")
    to: dt.date
    k: int = Field(description="counts below k are not shown")
    total_before: int | None = Field(
        description="the running total at the end of the day before from: a range's "
        "registrations are the last day's total minus this"
    )
    daily: list[UptakeDay] = Field(description="force-wide, per UK day")
    by_district: list[UptakeDistrict] = Field(description="every district, as the register is now")
    funnel_from: dt.date = Field(description="campaigns are shown for whole weeks: the Monday of from's week")
    funnel_to: dt.date = Field(description="the Sunday of to's week")
    funnel: list[UptakeCampaign] = Field(description="every campaign, over funnel_from..funnel_to")


class RequestGroup(BaseModel):
    group: str
    requests: int | None = Field(description=DIFFERENCE)
    answered: int | None = Field(description=DIFFERENCE)
    response_rate: float | None = Field(
        description="answered of those not withdrawn, from published counts; null when either is not shown"
    )
    footage_provided: int | None = Field(description=DIFFERENCE)
    useful: int | None = Field(description=DIFFERENCE)


class RequestWeek(BaseModel):
    week: dt.date = Field(description="its Monday")
    requests: int | None = Field(description=f"requests sent in the week: {DIFFERENCE}")
    total: int | None = Field(description=f"requests sent from the start to the week's end, {ADJUSTED}")


class DeclinedReason(BaseModel):
    reason: str = Field(description="the reason's key (every reason an officer can give is listed)")
    label: str = Field(description="the reason as officers choose it")
    files: int | None = Field(description=f"uploaded files declined for this reason: {DIFFERENCE}")


class FootageOutcomes(BaseModel):
    """What became of the footage asked for by the requests sent in the weeks (issue 17's events)."""

    requests_with_upload: int | None = Field(
        description=f"requests whose owner uploaded at least one file with their answer: {DIFFERENCE}"
    )
    median_days_to_first_upload: str | None = Field(
        description="the band (e.g. '1 to 2 days') the median time from "
        "request to the owner's first uploaded file falls in, "
        "from published counts; null unless at least k "
        "requests had an upload"
    )
    p90_days_to_first_upload: str | None = Field(description="the band of the 90th percentile, as the median's")
    files_uploaded: int | None = Field(
        description=f"files uploaded for these requests (with the owner's answer): "
        f"{DIFFERENCE}, with the files' own keys"
    )
    files_accepted: int | None = Field(description=f"of those, accepted as exhibits: {DIFFERENCE}")
    files_declined: int | None = Field(description=f"declined by an officer: {DIFFERENCE}")
    files_awaiting: int | None = Field(description=f"awaiting an officer's decision: {DIFFERENCE}")
    accepted_share: float | None = Field(
        description="files accepted of files uploaded, from the two published counts; null when either is not shown"
    )
    declined_reasons: list[DeclinedReason]
    too_late_outcomes: dict[str, int | None] = Field(
        description=f"requests sent after the footage was likely overwritten, by current status, and "
        f"'file_accepted': those where a file was accepted all the same; each {DIFFERENCE}"
    )


class RequestMetrics(BaseModel):
    from_: dt.date = Field(
        alias="from", description="the Monday of the asked from's week (requests are counted in whole UK weeks)"
    )
    to: dt.date = Field(description="the Sunday of the asked to's week")
    k: int = Field(description="counts below k are not shown")
    requests: int | None = Field(description=f"requests sent in the weeks: {DIFFERENCE} (weekly totals)")
    by_status: dict[str, int | None] = Field(description=f"by current status, each {DIFFERENCE}")
    response_rate: float | None = Field(description="from published counts; null when either is not shown")
    median_days_to_footage: str | None = Field(
        description="the band the median time from request to footage falls "
        "in (e.g. '3 to 5 days'), from published counts; null "
        "unless at least k requests provided footage"
    )
    p90_days_to_footage: str | None = Field(description="the band of the 90th percentile, as the median's")
    useful_share: float | None = Field(description="from published counts; null when either is not shown")
    too_late: int | None = Field(description=f"sent after the footage was likely overwritten: {DIFFERENCE}")
    weekly: list[RequestWeek]
    by_district: list[RequestGroup] = Field(description="every district, and 'Not recorded or other'")
    by_crime_category: list[RequestGroup] = Field(description="every police.uk category, and 'Not recorded or other'")
    footage: FootageOutcomes = Field(
        description="what became of the footage: time to the first upload, files "
        "accepted, declined and why, and too-late requests"
    )


# ------------------------------------------------------------------------ the owner's side (no login)


class ResponseCamera(BaseModel):
    camera_id: str = Field(description="The camera's random public id")
    description: str = Field(description="What the camera is, as the owner registered it (never where)")


class ResponseFile(BaseModel):
    upload_key: str
    name: str
    caption: str
    size: int = Field(description="Bytes, as declared when the upload began")
    received: int = Field(description="Bytes received so far")
    state: Literal["uploading", "stored", "refused"]
    sha256: str | None = Field(description="SHA-256 of the stored file (hex)")
    refusal: str | None = Field(description="Why the file was not accepted")


class ResponseOut(BaseModel):
    """A footage request as its owner sees it through their private response link."""

    reference: str = Field(description="The reference on the owner's receipt, e.g. FTG-M4T8WZ2C")
    case_ref: str
    window_from: dt.datetime
    window_to: dt.datetime
    window_text: str = Field(description="The time window in words, UK time")
    shared_detail: str | None = Field(description="What the officer chose to say about the incident")
    cameras: list[ResponseCamera]
    link_expires_at: dt.datetime | None
    answer: Literal["footage", "nothing", "declined"] | None
    answered_at: dt.datetime | None
    files: list[ResponseFile]


class AnswerIn(BaseModel):
    """The owner's answer. With 'footage': at least one stored file and the statement (clock
    difference, that they made the copy and when, their name as signature)."""

    model_config = ConfigDict(extra="forbid")
    answer: Literal["footage", "nothing", "declined"]
    clock_direction: Literal["right", "fast", "slow"] | None = None
    clock_minutes: int | None = Field(None, ge=0, le=527_040)
    clock_seconds: int | None = Field(None, ge=0, le=59)
    copy_made_by_owner: bool | None = None
    copy_made_at: AwareDatetime | None = Field(None, description="When the owner made the copy (with a time zone)")
    signed_name: str | None = Field(None, max_length=120)
    note: str | None = Field(None, max_length=500)
