"""Flags worth an auditor's look: patterns in the audit log that may be innocent but deserve a
question. Each flag names the user(s), case(s) and times, says in plain English why it is shown,
and lists the rows behind it. No Dash here.

The rules and their thresholds (constants below; ``RULES`` words them for the page):

(a) ``no_follow_up``: a search that found cameras, with no footage request by the same user in the
    same case within ``FOLLOW_UP_DAYS`` days; judged only once those days have passed.
(b) ``many_reveals``: contact details of more than ``MAX_CAMERAS_REVEALED`` different cameras
    revealed in one case (counting the case's reveals up to the end of the period).
(c) ``repeated_point``: ``REPEAT_MIN_SEARCHES`` or more searches by one user centred within
    ``REPEAT_RADIUS_M`` m of the first of them, within ``REPEAT_WINDOW_DAYS`` days, either across
    different cases or with no footage request by that user in the case from the first on.
(d) ``off_hours``: searches, reveals, requests or exports outside the user's usual hours: the
    shortest run of whole hours (UK time) holding ``BASELINE_SHARE`` of their own events in the
    ``BASELINE_DAYS`` days before the period, when they have at least ``BASELINE_MIN_EVENTS`` events on
    ``BASELINE_MIN_DAYS`` days there; otherwise the fixed ``FALLBACK_HOURS``.
(e) ``vague_reason``: a search whose reason is shorter than ``VAGUE_MIN_CHARS`` characters, has
    fewer than ``VAGUE_MIN_WORDS`` words, or says nothing but stock words (``VAGUE_WORDS``, ignoring
    ``FILLER_WORDS``): "enquiries", "crime investigation", "n/a".
(f) ``query_burst``: ``BURST_MIN_QUERIES`` or more aggregate queries or downloads by one user
    (analysts and project leads: ``aggregate_queries``) within ``BURST_WINDOW_MINUTES`` minutes,
    asking the same view with the same value of every parameter but one, that one taking at least
    two values: the same coverage view with only the cell filter changing, the same metrics query
    with one date moving. Differencing near-identical queries is how hidden counts are attacked.
(g) ``refused``: searches, contact reveals, footage requests or case exports the system refused
    (``REFUSAL_ACTIONS``: too many searches, a reason that says nothing, cameras the officer's own
    searches in the case did not find, a case that is not theirs); one flag per user and UK day.

>>> report = review_flags(s, audit_filter, now)  # doctest: +SKIP
>>> [(f.kind, f.users, f.row_ids) for f in report.flags]  # doctest: +SKIP
[('vague_reason', ('officer1',), (17,))]
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import namedtuple
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

from dashboard.geo.search import wgs84_to_bng
from dashboard.registry.models import AuditEvent
from dashboard.security import aggregate_queries
from dashboard.security.audit_review import UK, AuditFilter, action_column, uk_midnight
from dashboard.security.search_places import SearchPlaces

FOLLOW_UP_DAYS = 14
MAX_CAMERAS_REVEALED = 20
REPEAT_RADIUS_M = 150.0
REPEAT_MIN_SEARCHES = 3
REPEAT_WINDOW_DAYS = 30
BASELINE_DAYS = 90
BASELINE_SHARE = 0.95
BASELINE_MIN_EVENTS = 50
BASELINE_MIN_DAYS = 10
FALLBACK_HOURS = (7, 20)  # 07:00 to 20:00 UK time
MAX_PERIOD_DAYS = 92  # a longer period is judged over its last this many days (time to answer)
OFF_HOURS_ACTIONS = ("search", "reveal_contact", "request_created", "export", "audit_export")
BURST_MIN_QUERIES = 20
BURST_WINDOW_MINUTES = 60
BURST_ACTIONS = aggregate_queries.ACTIONS
VAGUE_MIN_CHARS = 20
VAGUE_MIN_WORDS = 4
VAGUE_WORDS = frozenset(
    {
        "enquiries",
        "enquiry",
        "inquiries",
        "inquiry",
        "investigation",
        "investigations",
        "investigating",
        "crime",
        "crimes",
        "test",
        "testing",
        "n/a",
        "na",
        "none",
        "nil",
        "general",
        "routine",
        "check",
        "checks",
        "checking",
        "ongoing",
        "police",
        "policing",
        "intelligence",
        "intel",
        "info",
        "information",
        "incident",
        "incidents",
        "matter",
        "case",
        "misc",
        "tbc",
        "other",
        "various",
        "purposes",
        "work",
        "required",
        "requested",
        "request",
        "search",
        "searching",
        "cctv",
        "camera",
        "cameras",
        "footage",
        "operational",
        "reasons",
        "reason",
        "log",
    }
)
FILLER_WORDS = frozenset(
    {
        "a",
        "an",
        "the",
        "of",
        "for",
        "in",
        "into",
        "on",
        "re",
        "as",
        "per",
        "and",
        "to",
        "with",
        "connection",
        "relation",
        "regarding",
        "see",
        "above",
        "below",
        "my",
        "our",
        "this",
        "is",
    }
)
REFUSAL_ACTIONS = ("search_refused", "reveal_refused", "request_refused", "export_refused", "evidence_refused")
REFUSAL_WHY = {
    "rate_limit": "over the search limit",
    "reason": "a reason that says nothing",
    "not_searched": "cameras their searches in the case did not find",
    "not_your_search": "a search that is not theirs",
    "not_in_search": "cameras not in that search",
    "no_case": "a case with no requests of theirs",
    "not_team": "evidence of a case whose team they are not on",
    "unknown": "evidence that does not exist",
    "role": "evidence their role may not see",
    "login": "evidence without logging in",
    "not_officer": "running a case that is not theirs",
    "expired": "an expired evidence link",
    "not_yours": "another officer's evidence link",
    "bad_link": "a forged evidence link",
    "state": "evidence no longer kept",
    "used": "a used download link",
    "changed": "an export of exhibits that changed since",
}
KINDS = ("no_follow_up", "many_reveals", "repeated_point", "off_hours", "vague_reason", "query_burst", "refused")
RULES = {
    "no_follow_up": (
        "Search with no footage request",
        f"A search that found cameras, with no footage request by the same user in the same case within "
        f"{FOLLOW_UP_DAYS} days. A search is judged only once {FOLLOW_UP_DAYS} days have passed.",
    ),
    "many_reveals": (
        "Many contact reveals in one case",
        f"Owner contact details of more than {MAX_CAMERAS_REVEALED} different cameras revealed in one case "
        f"(the case's reveals up to the end of the period).",
    ),
    "repeated_point": (
        "Searches repeated around one point",
        f"{REPEAT_MIN_SEARCHES} or more searches by one user centred within {REPEAT_RADIUS_M:g} m of the "
        f"first of them within {REPEAT_WINDOW_DAYS} days, in different cases, or in one case with no "
        f"footage request from them.",
    ),
    "off_hours": (
        "Activity outside usual hours",
        f"Searches, reveals, requests or exports outside the user's usual hours: the fewest consecutive hours "
        f"(UK time) holding {BASELINE_SHARE:.0%} of their own events in the {BASELINE_DAYS} days before the "
        f"period, when they have at least {BASELINE_MIN_EVENTS} events on {BASELINE_MIN_DAYS} different days "
        f"there; otherwise {FALLBACK_HOURS[0]:02d}:00 to {FALLBACK_HOURS[1]:02d}:00.",
    ),
    "vague_reason": (
        "Search with a vague reason",
        f"A search whose reason is shorter than {VAGUE_MIN_CHARS} characters, has fewer than "
        f"{VAGUE_MIN_WORDS} words, or says nothing but stock words such as 'enquiries', "
        f"'investigation', 'crime', 'test' or 'n/a'.",
    ),
    "query_burst": (
        "Burst of near-identical figure queries",
        f"{BURST_MIN_QUERIES} or more queries or downloads of figures by one analyst or project lead "
        f"within {BURST_WINDOW_MINUTES} minutes that ask the same view with every setting the same but "
        f"one, that one changing (the same coverage view with only the cell filter changing, or the "
        f"same metrics query with one date moving): comparing such answers is how hidden counts are "
        f"attacked.",
    ),
    "refused": (
        "Refused searches and case actions",
        "Searches, contact reveals, footage requests or case exports the system refused: more searches than "
        "the officer's limit, a reason that says nothing, cameras the officer's own searches in the case did "
        "not find, or a case in which they made no request (a guessed or someone else's case reference). "
        "One flag per user and day.",
    ),
}
_WORD = re.compile(r"[a-z0-9/]+")


@dataclass(frozen=True)
class Flag:
    kind: str
    users: tuple[str, ...]
    roles: tuple[str, ...]
    case_refs: tuple[str, ...]
    first_at: dt.datetime
    last_at: dt.datetime
    why: str
    row_ids: tuple[int, ...]

    @property
    def title(self) -> str:
        return RULES[self.kind][0]


@dataclass(frozen=True)
class FlagReport:
    flags: list[Flag]
    notes: list[str] = field(default_factory=list)


QUERY_COLUMNS = ["id", "at", "user_id", "username", "role", "action", "detail"]
REFUSAL_COLUMNS = ["id", "at", "user_id", "username", "role", "action", "case_ref", "detail"]


@dataclass(frozen=True)
class FlagInputs:
    """What the rules read, as data frames (``at`` columns aware UTC):

    ``searches`` id, at, user_id, username, role, case_ref, reason, lat, lon, results (NaN if not
    logged), from ``REPEAT_WINDOW_DAYS`` days before the period to its end; ``requests`` id, at,
    user_id, case_ref: every footage request from then until now; ``reveals`` id, at, user_id,
    username, role, case_ref, cameras (a tuple of ids): every reveal before the period's end in a
    case with a reveal in the period; ``activity`` id, at, user_id, username, role, action,
    case_ref: the period's ``OFF_HOURS_ACTIONS``; ``history`` user_id, at: every event of a user in
    the ``BASELINE_DAYS`` days before the period; ``queries`` id, at, user_id, username, role,
    action, detail (JSON text or a dict): the ``BURST_ACTIONS`` rows from ``BURST_WINDOW_MINUTES``
    before the period to its end; ``refusals`` id, at, user_id, username, role, action, case_ref,
    detail (JSON text): the period's ``REFUSAL_ACTIONS``.
    """

    searches: pd.DataFrame
    requests: pd.DataFrame
    reveals: pd.DataFrame
    activity: pd.DataFrame
    history: pd.DataFrame
    queries: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=QUERY_COLUMNS))
    refusals: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=REFUSAL_COLUMNS))


def when(at) -> str:
    """A UTC instant as a short UK time, e.g. ``Tue 3 Nov 2026 02:13``.

    >>> when(dt.datetime(2026, 7, 1, 1, 30, tzinfo=dt.timezone.utc))
    'Wed 1 Jul 2026 02:30'
    """
    local = (at.to_pydatetime() if isinstance(at, pd.Timestamp) else at).astimezone(UK)
    return f"{local:%a} {local.day} {local:%b %Y %H:%M}"


def _span(first, last) -> str:
    return f"on {when(first)}" if first == last else f"between {when(first)} and {when(last)}"


def _times(values) -> pd.Series:
    """Aware UTC instants from what ``_time_column`` reads (text on SQLite, datetimes elsewhere)."""
    return pd.to_datetime(pd.Series(values), utc=True, format="ISO8601")


def _time_column():
    # Read as stored (SQLite: UTC text) and parsed in one vectorised step, rather than one
    # Python datetime per row: several times faster on the tens of thousands of rows read here.
    return sa.type_coerce(AuditEvent.occurred_at, sa.String).label("occurred_at")


def _utc_hour(dialect: str):
    """The UTC hour of an event as text, ``YYYY-MM-DD HH``, to count a user's events per hour in SQL
    (a UK hour never straddles two UTC hours: the clocks change on the hour)."""
    if dialect == "postgresql":
        return sa.func.to_char(AuditEvent.occurred_at, "YYYY-MM-DD HH24")
    return sa.func.substr(sa.type_coerce(AuditEvent.occurred_at, sa.String), 1, 13)


def _frame(rows, columns: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame([tuple(r) for r in rows], columns=columns)
    if "at" in frame:
        frame["at"] = _times(frame["at"])
    return frame


def _cameras(subject_ids: str | None) -> tuple[str, ...]:
    try:
        return tuple(str(s) for s in json.loads(subject_ids)) if subject_ids else ()
    except (ValueError, TypeError):
        return ()


def load_inputs(
    session: Session, start: dt.datetime, end: dt.datetime, now: dt.datetime, places: SearchPlaces
) -> FlagInputs:
    """Read what the rules need for the period [start, end) as seen at ``now`` (searches' centres
    and result counts from ``places``, which has parsed them once)."""
    e = AuditEvent
    action = action_column(session.get_bind().dialect.name)  # every read here is bounded by time
    at = _time_column()
    users = e.user_id.is_not(None)
    read = session.connection().execute  # plain rows, not through the ORM
    search_from = start - dt.timedelta(days=REPEAT_WINDOW_DAYS)
    places.update(session)
    searches = _frame(
        read(
            sa.select(e.id, at, e.user_id, e.username, e.role, e.case_ref, e.reason).where(
                action == "search", users, e.occurred_at >= search_from, e.occurred_at < end
            )
        ).all(),
        ["id", "at", "user_id", "username", "role", "case_ref", "reason"],
    )
    facts = places.facts(searches["id"].to_numpy(dtype=np.int64))
    searches["lat"], searches["lon"], searches["results"] = facts[:, 0], facts[:, 1], facts[:, 2]
    requests = _frame(
        read(
            sa.select(e.id, at, e.user_id, e.case_ref).where(
                action == "request_created", users, e.occurred_at >= search_from, e.occurred_at <= now
            )
        ).all(),
        ["id", "at", "user_id", "case_ref"],
    )
    cases = (
        sa.select(e.case_ref)
        .where(action == "reveal_contact", e.occurred_at >= start, e.occurred_at < end, e.case_ref.is_not(None))
        .distinct()
    )
    reveal_rows = read(
        sa.select(e.id, at, e.user_id, e.username, e.role, e.case_ref, e.subject_ids).where(
            action == "reveal_contact", e.occurred_at < end, e.case_ref.in_(cases)
        )
    ).all()
    reveals = _frame([r[:6] for r in reveal_rows], ["id", "at", "user_id", "username", "role", "case_ref"])
    reveals["cameras"] = pd.Series([_cameras(r.subject_ids) for r in reveal_rows], dtype=object)
    activity = _frame(
        read(
            sa.select(e.id, at, e.user_id, e.username, e.role, e.action, e.case_ref).where(
                action.in_(OFF_HOURS_ACTIONS), users, e.occurred_at >= start, e.occurred_at < end
            )
        ).all(),
        ["id", "at", "user_id", "username", "role", "action", "case_ref"],
    )
    hour = _utc_hour(session.get_bind().dialect.name).label("hour")
    per_hour = read(
        sa.select(e.user_id, hour, sa.func.count())
        .where(users, e.occurred_at >= start - dt.timedelta(days=BASELINE_DAYS), e.occurred_at < start)
        .group_by(e.user_id, hour)
    ).all()
    history = pd.DataFrame(
        {
            "user_id": [r[0] for r in per_hour],
            "at": pd.to_datetime(
                pd.Series([f"{r[1]}:00" for r in per_hour], dtype=object), utc=True, format="%Y-%m-%d %H:%M"
            ),
            "n": np.array([r[2] for r in per_hour], dtype=np.int64),
        }
    )
    queries = _frame(
        read(
            sa.select(e.id, at, e.user_id, e.username, e.role, e.action, e.detail).where(
                action.in_(BURST_ACTIONS),
                users,
                e.occurred_at >= start - dt.timedelta(minutes=BURST_WINDOW_MINUTES),
                e.occurred_at < end,
            )
        ).all(),
        QUERY_COLUMNS,
    )
    refusals = _frame(
        read(
            sa.select(e.id, at, e.user_id, e.username, e.role, e.action, e.case_ref, e.detail).where(
                action.in_(REFUSAL_ACTIONS), e.occurred_at >= start, e.occurred_at < end
            )
        ).all(),
        REFUSAL_COLUMNS,
    )
    return FlagInputs(searches, requests, reveals, activity, history, queries, refusals)


def flag_period(f: AuditFilter) -> tuple[dt.datetime, dt.datetime, list[str]]:
    """The span [start, end) the flags of ``f`` are judged over: its period, or for a period longer
    than ``MAX_PERIOD_DAYS`` its last ``MAX_PERIOD_DAYS`` days (with a note saying so)."""
    if f.date_to - f.date_from < dt.timedelta(days=MAX_PERIOD_DAYS):
        return f.start_utc, f.end_utc, []
    first = f.date_to - dt.timedelta(days=MAX_PERIOD_DAYS - 1)
    return (
        uk_midnight(first),
        f.end_utc,
        [
            f"Flags look at up to {MAX_PERIOD_DAYS} days at a time: these cover the period's last {MAX_PERIOD_DAYS} "
            f"days, from {first.day} {first:%b %Y}. Choose an earlier period to see earlier flags."
        ],
    )


def narrow(report: FlagReport, f: AuditFilter, notes: list[str] = ()) -> FlagReport:
    """The flags of ``report`` that concern ``f``'s user, role and case (when chosen)."""
    kept = [
        flag
        for flag in report.flags
        if (not f.username or f.username in flag.users)
        and (not f.role or f.role in flag.roles)
        and (not f.case_ref or f.case_ref in flag.case_refs)
    ]
    return FlagReport(kept, [*notes, *report.notes])


def review_flags(session: Session, f: AuditFilter, now: dt.datetime, places: SearchPlaces) -> FlagReport:
    """The flags of ``f``'s period (``flag_period``) that concern its user, role and case; the action
    and area filters do not apply. Newest first."""
    start, end, notes = flag_period(f)
    return narrow(flags_for(load_inputs(session, start, end, now, places), start, end, now), f, notes)


def flags_for(inputs: FlagInputs, start: dt.datetime, end: dt.datetime, now: dt.datetime) -> FlagReport:
    """Every flag of the period [start, end) as seen at ``now``, newest first, with notes on what
    could not be judged yet."""
    notes: list[str] = []
    flags = [
        *no_follow_up(inputs.searches, inputs.requests, start, end, now, notes),
        *many_reveals(inputs.reveals, start, end),
        *repeated_point(inputs.searches, inputs.requests, start, end),
        *off_hours(inputs.activity, inputs.history, start, end),
        *vague_reasons(inputs.searches, start, end),
        *query_bursts(inputs.queries, start, end),
        *refused(inputs.refusals, start, end),
    ]
    flags.sort(key=lambda fl: (fl.last_at, -KINDS.index(fl.kind)), reverse=True)
    return FlagReport(flags, notes)


def _in(frame: pd.DataFrame, start: dt.datetime, end: dt.datetime) -> pd.Series:
    return (frame["at"] >= pd.Timestamp(start)) & (frame["at"] < pd.Timestamp(end))


def _names(values) -> tuple[str, ...]:
    return tuple(sorted({str(v) for v in values if isinstance(v, str) and v}))


def _records(frame: pd.DataFrame) -> list:
    """The frame's rows as named tuples (built from plain lists: indexing pandas arrays is slow)."""
    Row = namedtuple("Row", list(frame.columns))
    return [Row(*values) for values in zip(*(frame[c].tolist() for c in frame.columns))]


def _groups(frame: pd.DataFrame, keys: list[str]) -> dict[tuple, list]:
    """The frame's rows as named tuples, grouped by ``keys`` in first-seen order (a plain loop over
    the few rows that raise flags is much faster than a pandas group per flag)."""
    groups: dict[tuple, list] = {}
    for row in _records(frame):
        groups.setdefault(tuple(getattr(row, k) for k in keys), []).append(row)
    return groups


def _flag(kind: str, rows: list, why: str) -> Flag:
    times = [r.at for r in rows]
    return Flag(
        kind,
        _names(r.username for r in rows),
        _names(r.role for r in rows),
        _names(r.case_ref for r in rows),
        min(times).to_pydatetime(),
        max(times).to_pydatetime(),
        why,
        tuple(sorted(int(r.id) for r in rows)),
    )


def _plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n} {word if n == 1 else (many or word + 's')}"


# --------------------------------------------------------------------------- (a) no follow-up


def no_follow_up(
    searches: pd.DataFrame,
    requests: pd.DataFrame,
    start: dt.datetime,
    end: dt.datetime,
    now: dt.datetime,
    notes: list[str] | None = None,
) -> list[Flag]:
    """(a) Searches that found cameras with no request by the same user in the same case within
    ``FOLLOW_UP_DAYS`` days after; one flag per user and case."""
    window = pd.Timedelta(days=FOLLOW_UP_DAYS)
    found = searches[_in(searches, start, end) & ~(searches["results"] == 0)]
    ripe = found["at"] + window <= pd.Timestamp(now)
    waiting = int((~ripe).sum())
    if notes is not None and waiting:
        notes.append(
            f"{_plural(waiting, 'search', 'searches')} in this period {'is' if waiting == 1 else 'are'} less "
            f"than {FOLLOW_UP_DAYS} days old, so not yet judged for a follow-up request."
        )
    due = found[ripe]
    if due.empty:
        return []
    pairs = due[["id", "at", "user_id", "case_ref"]].merge(
        requests[["user_id", "case_ref", "at"]].rename(columns={"at": "request_at"}), on=["user_id", "case_ref"]
    )
    followed = pairs.loc[(pairs["request_at"] >= pairs["at"]) & (pairs["request_at"] <= pairs["at"] + window), "id"]
    flags = []
    for (_user, case), rows in _groups(due[~due["id"].isin(set(followed))], ["user_id", "case_ref"]).items():
        n = len(rows)
        flags.append(
            _flag(
                "no_follow_up",
                rows,
                (
                    f"{rows[0].username} made {_plural(n, 'search', 'searches')} that found cameras in case {case} "
                    f"({_span(min(r.at for r in rows), max(r.at for r in rows))}) and sent no footage request in that case "
                    f"within {FOLLOW_UP_DAYS} days of {'it' if n == 1 else 'any of them'}."
                ),
            )
        )
    return flags


# --------------------------------------------------------------------------- (b) many reveals


def many_reveals(reveals: pd.DataFrame, start: dt.datetime, end: dt.datetime) -> list[Flag]:
    """(b) Cases whose reveals up to the period's end cover more than ``MAX_CAMERAS_REVEALED``
    different cameras, for cases with a reveal in the period; one flag per case."""
    before_end = reveals[reveals["at"] < pd.Timestamp(end)]
    cases = set(before_end.loc[_in(before_end, start, end), "case_ref"].dropna())
    flags = []
    for (case,), rows in _groups(before_end[before_end["case_ref"].isin(cases)], ["case_ref"]).items():
        cameras = set().union(*(r.cameras for r in rows))
        if len(cameras) > MAX_CAMERAS_REVEALED:
            flags.append(
                _flag(
                    "many_reveals",
                    rows,
                    (
                        f"Contact details of {len(cameras)} different cameras were revealed in case {case}, more than "
                        f"{MAX_CAMERAS_REVEALED}, in {_plural(len(rows), 'reveal')} by "
                        f"{', '.join(_names(r.username for r in rows))} "
                        f"{_span(min(r.at for r in rows), max(r.at for r in rows))}."
                    ),
                )
            )
    return flags


# --------------------------------------------------------------------------- (c) repeated point


def _near_pairs(placed: pd.DataFrame) -> pd.DataFrame:
    """Pairs (i, j) of positions in ``placed`` (columns user_id, x, y, at, id) by the same user with
    j later than i (by time, then id) by at most ``REPEAT_WINDOW_DAYS`` days and centred within
    ``REPEAT_RADIUS_M`` m of i: candidates are found through a grid of ``REPEAT_RADIUS_M`` cells."""
    cells = placed.assign(
        pos=np.arange(len(placed)),
        cx=np.floor(placed["x"] / REPEAT_RADIUS_M).astype(np.int64),
        cy=np.floor(placed["y"] / REPEAT_RADIUS_M).astype(np.int64),
    )
    left = cells[["pos", "user_id", "cx", "cy", "x", "y", "at", "id"]]
    found = []
    for dx in (-1, 0, 1):
        for dy in (-1, 0, 1):
            right = left.assign(cx=left["cx"] - dx, cy=left["cy"] - dy)
            found.append(left.merge(right, on=["user_id", "cx", "cy"], suffixes=("", "_j")))
    pairs = pd.concat(found, ignore_index=True)
    later = (pairs["at_j"] > pairs["at"]) | ((pairs["at_j"] == pairs["at"]) & (pairs["id_j"] > pairs["id"]))
    close = np.hypot(pairs["x_j"] - pairs["x"], pairs["y_j"] - pairs["y"]) <= REPEAT_RADIUS_M
    soon = pairs["at_j"] - pairs["at"] <= pd.Timedelta(days=REPEAT_WINDOW_DAYS)
    return pairs.loc[later & close & soon, ["pos", "pos_j"]]


def repeated_point(searches: pd.DataFrame, requests: pd.DataFrame, start: dt.datetime, end: dt.datetime) -> list[Flag]:
    """(c) Runs of searches by one user around one point; one flag per run, at least one of whose
    searches is in the period.

    Per user, oldest first, each search not yet in a flagged run starts a candidate run: itself and
    the user's later searches within ``REPEAT_WINDOW_DAYS`` days centred within ``REPEAT_RADIUS_M`` m
    of it (British National Grid metres) that are in no flagged run. A run of
    ``REPEAT_MIN_SEARCHES`` or more is flagged when it spans two or more cases, or when the user sent
    no footage request in its case from its first search on.
    """
    placed = searches[searches["lat"].notna() & searches["lon"].notna() & (searches["at"] < pd.Timestamp(end))]
    if len(placed) < REPEAT_MIN_SEARCHES:
        return []
    x, y = wgs84_to_bng().transform(placed["lon"].to_numpy(), placed["lat"].to_numpy())
    placed = placed.assign(x=x, y=y).sort_values(["at", "id"], ignore_index=True)
    pairs = _near_pairs(placed)
    later: dict[int, list[int]] = {}
    for i, j in zip(pairs["pos"].tolist(), pairs["pos_j"].tolist()):
        later.setdefault(i, []).append(j)
    anchors = sorted(i for i, js in later.items() if len(js) + 1 >= REPEAT_MIN_SEARCHES)
    if not anchors:
        return []
    records = _records(placed)
    in_period = _in(placed, start, end).to_numpy()
    latest_request: dict[tuple, pd.Timestamp] = {}
    for uid, case, at in zip(requests["user_id"], requests["case_ref"], requests["at"]):
        if at > latest_request.get((uid, case), pd.Timestamp.min.tz_localize("UTC")):
            latest_request[(uid, case)] = at
    used = np.zeros(len(placed), dtype=bool)
    flags = []
    for i in anchors:
        if used[i]:
            continue
        run = [i, *sorted(j for j in later[i] if not used[j])]
        if len(run) < REPEAT_MIN_SEARCHES or not in_period[run].any():
            continue
        members = [records[k] for k in run]
        cases = _names(r.case_ref for r in members)
        first, last = members[0].at, max(r.at for r in members)
        asked = any(
            latest_request.get((members[0].user_id, case), first - pd.Timedelta(1, "s")) >= first for case in cases
        )
        if len(cases) < 2 and asked:
            continue
        used[run] = True
        days = (last - first).total_seconds() / 86400
        where = (
            f"in {len(cases)} different cases ({', '.join(cases)})"
            if len(cases) > 1
            else f"all in case {cases[0] if cases else '(none)'}, with no footage request from them in it"
        )
        flags.append(
            _flag(
                "repeated_point",
                members,
                (
                    f"{members[0].username} searched {len(members)} times within {REPEAT_RADIUS_M:g} m of the same point "
                    f"over {days:.1f} days ({when(first)} to {when(last)}), {where}."
                ),
            )
        )
    return flags


# --------------------------------------------------------------------------- (d) off hours


@dataclass(frozen=True)
class UsualHours:
    """A run of whole hours, UK time: ``start`` (0-23) and ``hours`` long (1-24), possibly past midnight."""

    start: int
    hours: int
    own: bool  # from the user's own history, not the fixed default
    events: int  # the history it was worked out from
    days: int

    def covers(self, hour: np.ndarray) -> np.ndarray:
        return (np.asarray(hour) - self.start) % 24 < self.hours

    @property
    def text(self) -> str:
        return f"{self.start:02d}:00 to {(self.start + self.hours) % 24:02d}:00"


def usual_hours(local_hours: np.ndarray, days: int) -> UsualHours:
    """The fewest consecutive whole hours (wrapping past midnight) holding ``BASELINE_SHARE`` of the
    events at ``local_hours``; among equally short runs the one holding most, then the earliest.
    With too little history (``BASELINE_MIN_EVENTS`` events on ``BASELINE_MIN_DAYS`` days) the fixed
    ``FALLBACK_HOURS``.

    >>> usual_hours(np.array([9] * 30 + [10] * 30 + [23]), days=12).text  # 61 events: 60/61 = 98% in 09-11
    '09:00 to 11:00'
    """
    return usual_hours_of(np.bincount(np.asarray(local_hours, dtype=int) % 24, minlength=24), days)


def usual_hours_of(counts: np.ndarray, days: int) -> UsualHours:
    """``usual_hours`` from the number of events in each local hour 0-23."""
    counts = np.asarray(counts, dtype=np.int64)
    total = int(counts.sum())
    if total < BASELINE_MIN_EVENTS or days < BASELINE_MIN_DAYS:
        first, last = FALLBACK_HOURS
        return UsualHours(first, (last - first) % 24 or 24, False, total, days)
    need = BASELINE_SHARE * total
    running = np.concatenate([[0], np.cumsum(np.concatenate([counts, counts]))])
    for length in range(1, 25):
        sums = running[length : length + 24] - running[:24]  # events in the hours [s, s + length) for each s
        if (sums >= need - 1e-9).any():
            return UsualHours(int(np.flatnonzero(sums == sums.max())[0]), length, True, total, days)
    raise AssertionError("24 hours hold every event")


def _baselines(history: pd.DataFrame, start: dt.datetime) -> dict:
    past = history[
        (history["at"] < pd.Timestamp(start))
        & (history["at"] >= pd.Timestamp(start) - pd.Timedelta(days=BASELINE_DAYS))
    ]
    if past.empty:
        return {}
    local = past["at"].dt.tz_convert(UK)
    past = pd.DataFrame(
        {
            "user_id": past["user_id"].to_numpy(),
            "hour": local.dt.hour.to_numpy(),
            "day": local.dt.tz_localize(None).to_numpy().astype("datetime64[D]").astype(np.int64),
            "n": past["n"].to_numpy() if "n" in past else np.ones(len(past), dtype=np.int64),
        }
    )
    counts = past.groupby(["user_id", "hour"])["n"].sum().unstack(fill_value=0).reindex(columns=range(24), fill_value=0)
    days = past.groupby("user_id")["day"].nunique()
    return {uid: usual_hours_of(counts.loc[uid].to_numpy(), int(days[uid])) for uid in counts.index}


def off_hours(activity: pd.DataFrame, history: pd.DataFrame, start: dt.datetime, end: dt.datetime) -> list[Flag]:
    """(d) The period's searches, reveals, requests and exports outside each user's usual hours;
    one flag per user and UK day."""
    acts = activity[_in(activity, start, end) & activity["action"].isin(OFF_HOURS_ACTIONS)]
    if acts.empty:
        return []
    baselines = _baselines(history, start)
    default = usual_hours_of(np.zeros(24), 0)
    usual = [baselines.get(uid, default) for uid in acts["user_id"]]
    local = acts["at"].dt.tz_convert(UK)
    hour = local.dt.hour.to_numpy()
    first = np.array([u.start for u in usual])
    length = np.array([u.hours for u in usual])
    away = (hour - first) % 24 >= length
    outside = acts[away].assign(day=local[away].dt.date.to_numpy(), clock=local[away].dt.strftime("%H:%M").to_numpy())
    flags = []
    for (uid, day), rows in sorted(_groups(outside, ["user_id", "day"]).items(), key=lambda kv: kv[0][1]):
        hours = baselines.get(uid, default)
        counts: dict[str, int] = {}
        for r in rows:
            counts[r.action] = counts.get(r.action, 0) + 1
        what = ", ".join(_plural(n, *ACTION_WORDS.get(a, (a, a + "s"))) for a, n in counts.items())
        times = ", ".join(sorted(r.clock for r in rows))
        if hours.own:
            basis = (
                f"outside their usual hours, {hours.text}, which hold {BASELINE_SHARE:.0%} of their "
                f"{hours.events} events on {hours.days} days in the {BASELINE_DAYS} days before the period"
            )
        else:
            basis = (
                f"outside {hours.text}, the fixed default: they had {_plural(hours.events, 'event')} on "
                f"{_plural(hours.days, 'day')} in the {BASELINE_DAYS} days before the period, fewer than the "
                f"{BASELINE_MIN_EVENTS} events on {BASELINE_MIN_DAYS} days needed to work out their own hours"
            )
        flags.append(
            _flag(
                "off_hours",
                rows,
                (f"{rows[0].username}: {what} at {times} on {day:%a} {day.day} {day:%b %Y} (UK time), {basis}."),
            )
        )
    return flags


ACTION_WORDS = {
    "search": ("search", "searches"),
    "reveal_contact": ("contact reveal", "contact reveals"),
    "request_created": ("footage request", "footage requests"),
    "export": ("case export", "case exports"),
    "audit_export": ("audit log export", "audit log exports"),
}


# --------------------------------------------------------------------------- (e) vague reasons


def vague_because(reason: str | None) -> str | None:
    """Why a search reason is vague, or None when it is specific enough.

    >>> vague_because("Enquiries"), vague_because("in connection with ongoing police enquiries")
    ('shorter than 20 characters', "nothing but stock words ('ongoing', 'police', 'enquiries')")
    >>> vague_because("Burglary at a house on this street overnight") is None
    True
    """
    text = (reason or "").strip()
    words = _WORD.findall(text.lower())
    if len(text) < VAGUE_MIN_CHARS:
        return f"shorter than {VAGUE_MIN_CHARS} characters"
    if len(words) < VAGUE_MIN_WORDS:
        return f"fewer than {VAGUE_MIN_WORDS} words"
    meaningful = [w for w in words if w not in FILLER_WORDS]
    if not meaningful:
        return "nothing but filler words"
    if all(w in VAGUE_WORDS for w in meaningful):
        return "nothing but stock words (" + ", ".join(f"'{w}'" for w in dict.fromkeys(meaningful)) + ")"
    return None


def vague_reasons(searches: pd.DataFrame, start: dt.datetime, end: dt.datetime) -> list[Flag]:
    """(e) The period's searches with a vague reason; one flag per user and case."""
    period = searches[_in(searches, start, end)]
    judged = {reason: vague_because(reason) for reason in period["reason"].fillna("").unique()}
    why = period["reason"].fillna("").map(judged)
    vague = period.assign(why=why)[why.notna()]
    flags = []
    for (_user, case), rows in _groups(vague, ["user_id", "case_ref"]).items():
        quoted = "; ".join(f"'{r}' ({w})" for r, w in dict.fromkeys((r.reason or "", r.why) for r in rows))
        flags.append(
            _flag(
                "vague_reason",
                rows,
                (
                    f"{rows[0].username} gave {'a vague reason' if len(rows) == 1 else 'vague reasons'} for "
                    f"{_plural(len(rows), 'search', 'searches')} in case {case}: {quoted}."
                ),
            )
        )
    return flags


# --------------------------------------------------------------------------- (f) query bursts


_ABSENT = "(not given)"  # a parameter one query has and another has not


def _dense(times: np.ndarray) -> bool:
    """Whether ``BURST_MIN_QUERIES`` of these sorted instants (int64 ns) fall within the window."""
    n = BURST_MIN_QUERIES
    return len(times) >= n and bool(
        ((times[n - 1 :] - times[: len(times) - n + 1]) <= BURST_WINDOW_MINUTES * 60 * 10**9).any()
    )


def _runs(times: np.ndarray) -> list[tuple[int, int]]:
    """Position ranges [first, last] of sorted instants (int64 ns) made of overlapping windows of
    ``BURST_MIN_QUERIES`` consecutive ones spanning at most ``BURST_WINDOW_MINUTES`` minutes."""
    n = BURST_MIN_QUERIES
    if len(times) < n:
        return []
    starts = np.flatnonzero((times[n - 1 :] - times[: len(times) - n + 1]) <= BURST_WINDOW_MINUTES * 60 * 10**9)
    runs: list[list[int]] = []
    for i in starts.tolist():
        if runs and i <= runs[-1][1]:
            runs[-1][1] = i + n - 1
        else:
            runs.append([i, i + n - 1])
    return [(a, b) for a, b in runs]


def _shown_values(values: list[str], most: int = 6) -> str:
    """The distinct values (JSON text) a parameter took, in words, first seen first."""
    texts = [v if v == _ABSENT else aggregate_queries.value_text(json.loads(v)) for v in dict.fromkeys(values)]
    return ", ".join(texts[:most]) + (f" and {len(texts) - most} more" if len(texts) > most else "")


def query_bursts(queries: pd.DataFrame, start: dt.datetime, end: dt.datetime) -> list[Flag]:
    """(f) Runs of ``BURST_MIN_QUERIES`` or more near-identical aggregate queries by one user within
    ``BURST_WINDOW_MINUTES`` minutes; one flag per run, at least one of whose queries is in the period.

    Per user and view (``aggregate_queries.query_shape``: the page and callback, or the route), and
    per parameter p, the queries with the same value of every other parameter are a candidate
    group (a parameter missing from a query counts as a value of its own). A run is the union of
    overlapping windows of ``BURST_MIN_QUERIES`` consecutive queries of a group spanning at most
    ``BURST_WINDOW_MINUTES`` minutes; it is flagged when p takes at least two values in it (the
    same query asked again and again differs in nothing, and yields nothing new).
    """
    if len(queries) < BURST_MIN_QUERIES:
        return []
    frame = queries.sort_values(["at", "id"], ignore_index=True)
    lo, hi = pd.Timestamp(start), pd.Timestamp(end)
    flags = []
    for (_user,), rows in _groups(frame, ["user_id"]).items():
        ns = np.array([r.at.value for r in rows], dtype=np.int64)
        if not _dense(ns):
            continue
        views: dict[tuple, list] = {}
        for r in rows:
            target, params = aggregate_queries.query_shape(r.action, r.detail)
            views.setdefault(target, []).append((r, params))
        for target, items in views.items():
            if not _dense(np.array([r.at.value for r, _ in items], dtype=np.int64)):
                continue
            names = sorted(set().union(*(p.keys() for _, p in items)))
            for p in names:
                groups: dict[tuple, list] = {}
                for r, params in items:
                    rest = tuple(params.get(k, _ABSENT) for k in names if k != p)
                    groups.setdefault(rest, []).append((r, params.get(p, _ABSENT)))
                for members in groups.values():
                    times = np.array([r.at.value for r, _ in members], dtype=np.int64)
                    for a, b in _runs(times):
                        run = members[a : b + 1]
                        values = [v for _, v in run]
                        if len(set(values)) < 2 or not any(lo <= r.at < hi for r, _ in run):
                            continue
                        flags.append(_burst_flag(target, p, run))
    return flags


def _burst_flag(target: tuple, p: str, run: list) -> Flag:
    rows = [r for r, _ in run]
    first, last = rows[0], rows[-1]
    minutes = (last.at - first.at).total_seconds() / 60
    detail = aggregate_queries.parse(first.detail)
    view = aggregate_queries.view_text(first.action, detail)
    name = aggregate_queries.parameter_name(first.action, detail, p)
    values = [v for _, v in run]
    kind = "downloads" if target[0] == aggregate_queries.EXPORT else "queries"
    why = (
        f"{first.username} made {len(rows)} {kind} of '{view}' in {minutes:.0f} minutes ({when(first.at)} to "
        f"{when(last.at)}), every setting the same but '{name}', which took {len(set(values))} values: "
        f"{_shown_values(values)}."
    )
    return Flag(
        "query_burst",
        _names(r.username for r in rows),
        _names(r.role for r in rows),
        (),
        first.at.to_pydatetime(),
        last.at.to_pydatetime(),
        why,
        tuple(sorted(int(r.id) for r in rows)),
    )


# --------------------------------------------------------------------------- (g) refusals


REFUSAL_WORDS = {
    "search_refused": ("search", "searches"),
    "reveal_refused": ("contact reveal", "contact reveals"),
    "request_refused": ("footage request", "footage requests"),
    "export_refused": ("case export", "case exports"),
    "evidence_refused": ("look at evidence", "looks at evidence"),
}


def _why(detail) -> str:
    try:
        code = json.loads(detail).get("why") if isinstance(detail, str) else (detail or {}).get("why")
    except (ValueError, AttributeError):
        code = None
    return REFUSAL_WHY.get(code, code or "no reason recorded")


def refused(refusals: pd.DataFrame, start: dt.datetime, end: dt.datetime) -> list[Flag]:
    """(g) The period's refused searches, reveals, requests and exports; one flag per user and UK day."""
    rows = refusals[_in(refusals, start, end)] if len(refusals) else refusals
    if rows.empty:
        return []
    rows = rows.assign(day=rows["at"].dt.tz_convert(UK).dt.date.to_numpy(), why=[_why(d) for d in rows["detail"]])
    flags = []
    for (_uid, _name, day), group in sorted(
        _groups(rows, ["user_id", "username", "day"]).items(), key=lambda kv: (kv[0][2], str(kv[0][1]))
    ):
        counts: dict[str, int] = {}
        for r in group:
            counts[r.action] = counts.get(r.action, 0) + 1
        what = ", ".join(_plural(n, *REFUSAL_WORDS.get(a, (a, a + "s"))) for a, n in counts.items())
        whys = "; ".join(f"{w} ({n})" for w, n in _counted(r.why for r in group))
        cases = _names(r.case_ref for r in group)
        flags.append(
            _flag(
                "refused",
                group,
                (
                    f"{group[0].username or 'someone'} was refused {what} on {day:%a} {day.day} {day:%b %Y}: {whys}"
                    + (f"; case{'s' if len(cases) > 1 else ''} {', '.join(cases)}." if cases else ".")
                ),
            )
        )
    return flags


def _counted(values) -> list[tuple[str, int]]:
    counts: dict[str, int] = {}
    for v in values:
        counts[v] = counts.get(v, 0) + 1
    return list(counts.items())
