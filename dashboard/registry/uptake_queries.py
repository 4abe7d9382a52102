"""Reads for the project lead's uptake page: the register's uptake summaries, campaign counts and
footage requests as plain frames (no names, contact details, addresses or positions), each with the record
keys of the disclosure-control layer (``dashboard.analytics.disclosure``): they only ever become
cell keys, never a figure.

Large reads go through the DBAPI cursor (``camera_queries._rows``): at a million cameras the ORM
made the Python objects slowly. Only constants are rendered into those statements.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

from dashboard.core.uktime import NO_DAY, day_numbers
from dashboard.registry import summaries
from dashboard.registry.models import (
    Campaign,
    CampaignDailyCount,
    EvidenceFile,
    FootageRequest,
    FootageRequestEvent,
    FootageResponse,
    Registrant,
    Site,
    UTCDateTime,
)
from dashboard.registry.record_keys import retired_key_sums

REQUEST_COLUMNS = [
    "status",
    "sent_at",
    "status_changed_at",
    "footage_useful",
    "footage_likely_overwritten",
    "district_code",
    "crime_category",
    "record_key",
    "first_upload_at",
    "file_accepted",
]
FILE_COLUMNS = ["sent_at", "district_code", "triage", "decline_reason", "record_key"]
# An uploaded file: stored (or since deleted under the retention rules) and sent with its owner's answer.
# Files still being uploaded, refused, or removed by the owner before answering were never handed over.
UPLOADED_STATES = ("stored", "deleted")
CAMPAIGN_DAY_COLUMNS = ["slug", "campaign", "channel", "day", "scans", "form_starts", "completions", "completion_keys"]


def _utc(values: pd.Series) -> pd.Series:
    """Stored naive-UTC datetimes (text on SQLite, datetimes on PostgreSQL) as aware UTC."""
    return pd.to_datetime(values, format="ISO8601", utc=True)


def campaign_list(session: Session) -> pd.DataFrame:
    """Every campaign, oldest first: slug, campaign (its name), channel. Campaigns are made by staff,
    not by registrations, so the rows of a campaign table do not depend on the register."""
    rows = session.execute(
        sa.select(Campaign.slug, Campaign.name, Campaign.channel).order_by(Campaign.created_at, Campaign.id)
    ).all()
    return pd.DataFrame(rows, columns=["slug", "campaign", "channel"])


def campaign_days(session: Session) -> pd.DataFrame:
    """Daily scans, form starts and completions per campaign, with the day's completion keys:
    ``CAMPAIGN_DAY_COLUMNS``."""
    rows = session.execute(
        sa.select(
            Campaign.slug,
            Campaign.name,
            Campaign.channel,
            CampaignDailyCount.day,
            CampaignDailyCount.scans,
            CampaignDailyCount.form_starts,
            CampaignDailyCount.completions,
            CampaignDailyCount.completion_keys,
        ).join(Campaign, Campaign.id == CampaignDailyCount.campaign_id)
    ).all()
    frame = pd.DataFrame(rows, columns=CAMPAIGN_DAY_COLUMNS)
    return frame.astype({c: "int64" for c in ("scans", "form_starts", "completions", "completion_keys")})


def _uploaded(file=EvidenceFile):
    """The conditions on an evidence file (and its answer, joined) that make it an uploaded file."""
    return (file.state.in_(UPLOADED_STATES), FootageResponse.answer == "footage")


def requests(session: Session) -> pd.DataFrame:
    """Footage requests with their outcome, timing, district, crime category and record key:
    ``REQUEST_COLUMNS``, and the UK day number each was sent (``sent_day``). For a request that
    got footage, ``status_changed_at`` is when the footage came: its response's first stored file.
    ``first_upload_at``: when the first file its owner sent with their answer was stored (NaT if
    none); ``file_accepted``: whether an officer accepted one of those files as an exhibit."""
    # Footage came when its first file was stored (the owner answers after their uploads), for requests
    # answered through the owner's page; when recorded by an officer, when it was recorded.
    first_file = (
        sa.select(sa.func.min(EvidenceFile.completed_at))
        # a file deleted later under the retention rules still came when it came: past figures stay put
        .where(EvidenceFile.response_id == FootageRequest.response_id, EvidenceFile.state.in_(("stored", "deleted")))
        .scalar_subquery()
    )
    footage_at = sa.case(
        (FootageRequest.status == "footage_provided", sa.func.coalesce(first_file, FootageRequest.status_changed_at)),
        else_=FootageRequest.status_changed_at,
    )
    first_upload = (
        sa.select(sa.func.min(EvidenceFile.completed_at))
        .join(FootageResponse, FootageResponse.id == EvidenceFile.response_id)
        .where(EvidenceFile.response_id == FootageRequest.response_id, *_uploaded())
        .scalar_subquery()
    )
    accepted = (
        sa.select(EvidenceFile.id)
        .join(FootageResponse, FootageResponse.id == EvidenceFile.response_id)
        .where(EvidenceFile.response_id == FootageRequest.response_id, EvidenceFile.triage == "accepted", *_uploaded())
        .exists()
    )
    rows = session.execute(
        sa.select(
            FootageRequest.status,
            FootageRequest.sent_at,
            sa.type_coerce(footage_at, UTCDateTime()),
            FootageRequest.footage_useful,
            FootageRequest.footage_likely_overwritten,
            FootageRequest.incident_district_code,
            FootageRequest.crime_category,
            sa.func.coalesce(FootageRequest.record_key, 0),
            sa.type_coerce(first_upload, UTCDateTime()),
            accepted,
        )
    ).all()
    frame = pd.DataFrame(rows, columns=REQUEST_COLUMNS)
    for column in ("sent_at", "status_changed_at", "first_upload_at"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    frame["sent_day"] = day_numbers(frame["sent_at"])
    frame["file_accepted"] = frame["file_accepted"].astype(bool)
    return frame.astype({"record_key": "int64"})


def evidence_files(session: Session) -> pd.DataFrame:
    """Every uploaded file (``UPLOADED_STATES``, sent with its owner's answer) with the officer's
    decision (``triage``: 'accepted', 'declined' or None while awaiting one), why it was declined, its
    record key, and the request it answers (the earliest of its answer's requests): when that was
    sent and the incident's district, so that files are counted with the requests sent in the same
    weeks: ``FILE_COLUMNS`` and ``sent_day``. Nothing of the file itself (name, caption, hash)."""
    first = (
        sa.select(FootageRequest.sent_at, FootageRequest.incident_district_code)
        .where(FootageRequest.response_id == EvidenceFile.response_id)
        .order_by(FootageRequest.sent_at, FootageRequest.id)
        .limit(1)
    )
    sent_at = first.with_only_columns(FootageRequest.sent_at).scalar_subquery()
    district = first.with_only_columns(FootageRequest.incident_district_code).scalar_subquery()
    rows = session.execute(
        sa.select(
            sa.type_coerce(sent_at, UTCDateTime()),
            district,
            EvidenceFile.triage,
            EvidenceFile.decline_reason,
            sa.func.coalesce(EvidenceFile.record_key, 0),
        )
        .join(FootageResponse, FootageResponse.id == EvidenceFile.response_id)
        .where(*_uploaded())
    ).all()
    frame = pd.DataFrame(rows, columns=FILE_COLUMNS)
    frame["sent_at"] = pd.to_datetime(frame["sent_at"], utc=True)
    frame["sent_day"] = day_numbers(frame["sent_at"])
    return frame.astype({"record_key": "int64"})


DAY_FRAME_COLUMNS = ["consent_day", "owner_withdrawal_day", "district_code", "weight", "record_key", "cameras"]
DAY_FRAME_COLUMNS += ["camera_keys"]
DUE_COLUMNS = ["district_code", "registrations", "registrations_key"]


def register_days(session: Session) -> pd.DataFrame:
    """The uptake series from ``uptake_day`` as the figures count them (``analytics.uptake``): one
    row per day and district that stands for ``weight`` registrations, ``DAY_FRAME_COLUMNS``. A
    'made' row has the day number of consent, the raw sum of the live registrations' keys (erased
    ones' are in the retired sums), and every camera registered with them and their key sum; a
    'withdrawn' row the day number its owners withdrew (NO_DAY elsewhere), and no keys."""
    rows = summaries.uptake_days(session)
    days = day_numbers(pd.to_datetime(rows["day"], format="%Y-%m-%d"))
    made = (rows["series"] == "made").to_numpy(dtype=bool)
    frame = pd.DataFrame(
        {
            "consent_day": np.where(made, days, NO_DAY),
            "owner_withdrawal_day": np.where(made, NO_DAY, days),
            "district_code": rows["district_code"].astype("category"),
            "weight": rows["registrations"].to_numpy(dtype="int64"),
            "record_key": rows["registrations_key"].to_numpy(dtype="int64"),
            "cameras": rows["cameras"].to_numpy(dtype="int64"),
            "camera_keys": rows["cameras_key"].to_numpy(dtype="int64"),
        }
    )
    return frame[DAY_FRAME_COLUMNS].astype({"consent_day": "int64", "owner_withdrawal_day": "int64"})


def due_to_confirm(session: Session, cutoff: dt.datetime) -> pd.DataFrame:
    """Active registrations last confirmed at or before ``cutoff`` per district, with the raw sum of
    their keys (``DUE_COLUMNS``): a range of ``ix_registrant_status_confirmed_key``, read now (a
    reconfirmation changes it, and the cutoff moves with the clock)."""
    rows = session.execute(
        sa.select(
            Site.district_code,
            sa.func.count(),
            sa.func.coalesce(sa.func.sum(sa.func.coalesce(Registrant.record_key, 0)), 0),
        )
        .join(Site, Site.registrant_id == Registrant.id)
        .where(Registrant.status == "active", Registrant.last_confirmed_at <= cutoff)
        .group_by(Site.district_code)
        .order_by(Site.district_code)
    ).all()
    return pd.DataFrame([tuple(r) for r in rows], columns=DUE_COLUMNS).astype(
        {"registrations": "int64", "registrations_key": "int64"}
    )


def register_frames(session: Session) -> dict[str, pd.DataFrame]:
    """What the uptake figures of the register are counted from, read from the summaries in one
    transaction: ``registrations`` (:func:`register_days`), ``mix`` (``register_mix`` rows),
    ``districts`` (active registrations and cameras per district, ``summaries.area_counts``) and the
    anonymous sums of erased registrations' keys (``retired``: ``record_keys.retired_key_sums``), so
    that an erasure moves a key from one to the other at once. Rows scale with days and districts,
    not with the register."""
    retired = retired_key_sums(session)
    retired["day_number"] = day_numbers(retired["day"])
    return {
        "registrations": register_days(session),
        "mix": summaries.register_mix(session),
        "districts": summaries.area_counts(session, "district"),
        "retired": retired,
    }


def activity_mark(session: Session) -> tuple[str, ...]:
    """A mark that changes whenever what ``campaign_days``, ``campaign_list``, ``requests`` and
    ``evidence_files`` read changes: counts, newest ids, newest change times and count sums over
    those small tables, in one statement. A process keeps those frames only under the mark they
    were read at, so a request sent, answered or triaged through any server is in the next figures
    of every other."""
    f, e, c = FootageRequest, EvidenceFile, CampaignDailyCount
    parts = [
        sa.select(sa.func.count()).select_from(f),
        sa.select(sa.func.max(f.id)),
        sa.select(sa.func.max(f.status_changed_at)),
        sa.select(sa.func.max(FootageRequestEvent.id)),
        sa.select(sa.func.count()).select_from(e),
        sa.select(sa.func.max(e.id)),
        sa.select(sa.func.max(e.completed_at)),
        sa.select(sa.func.max(e.triaged_at)),
        sa.select(sa.func.max(e.deleted_at)),
        sa.select(sa.func.count()).select_from(FootageResponse),
        sa.select(sa.func.max(Campaign.id)),
        sa.select(sa.func.count()).select_from(c),
        sa.select(sa.func.sum(c.scans + c.form_starts + c.completions)),
        sa.select(sa.func.sum(c.completion_keys)),
    ]
    row = session.execute(sa.select(*(p.scalar_subquery() for p in parts))).one()
    return tuple(str(v) for v in row)


def uptake_frames(session: Session, cutoff: dt.datetime) -> dict[str, pd.DataFrame]:
    """Everything the uptake figures are counted from, read now (the weekly report command), with
    the registrations due to confirm at ``cutoff`` (``due``)."""
    return {
        **register_frames(session),
        "due": due_to_confirm(session, cutoff),
        "campaigns": campaign_days(session),
        "campaign_list": campaign_list(session),
        "requests": requests(session),
        "files": evidence_files(session),
    }
