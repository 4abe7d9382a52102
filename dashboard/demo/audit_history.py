"""The demo registry's audit log: months of work by the demo users that tells the same story as
the demo's registrations, campaigns and footage requests, so that the auditor's page has something
realistic to review and its flags something to find.

What is written (every row in time order, hash-chained exactly as :func:`audit.record` chains it):

* the demo users created from the command line, and their logins and logouts on working days
  (a few failed logins among them, and one night of password guessing at names that do not
  exist); a user who works outside a working session logs in just before;
* per registration ``registration_created``, and where the registrant did so
  ``registration_reconfirmed`` and ``registration_withdrawn`` (the public actor: ids and camera
  counts only, never a name, contact detail or address);
* ``campaign_created`` by the lead for each campaign;
* per demo case (footage requests grouped by case reference): the officer's ``search`` around
  the incident point (sometimes refined once), ``reveal_contact`` of the cameras about to be
  asked, ``request_created`` at each request's ``sent_at``, ``request_status`` at each of the
  case's status events the officer recorded, and sometimes an ``export`` of the case's contacts;
  all with the case reference and the search's reason, as the search and cases pages write them;
* where owners answered through their links with footage (``dashboard.demo.evidence``): the
  public's ``response_opened``, ``footage_uploaded`` per file and ``response_answered``, and the
  officer's ``evidence_viewed`` and ``evidence_accepted``/``evidence_declined`` of the files
  triaged so far;
* the auditor's weekly chain check (``audit_verified``);
* the analyst's and the project lead's figure queries in their working sessions, as
  ``dashboard.security.query_log`` records them (``aggregate_query``: the pages they open, the
  filters they change, now and then an API call; ``aggregate_export``: a download or the weekly
  report), and one planted burst: the lead asking the uptake metrics again and again with only the
  end date moving, a day at a time, in the last 30 days (the ``query_burst`` flag's case);
* a few patterns the flags (``dashboard.security.audit_flags``) are there to catch, a handful
  of each and at least one in the last 30 days: vague search reasons, searches that found
  cameras but led to no request, one user searching again and again around one point, case
  exports in the small hours, one case whose contact reveals cover more than 20 cameras, and the
  burst of near-identical figure queries.

Searches return the cameras that were on the register at the time within the radius (grid
metres; the app measures geodesic distance, which differs by well under 0.1 %), nearest first.

Rows are built in memory (about 1.2 per registration plus a few thousand) and inserted in bulk
with ids and hashes computed here; ``write_history`` chains them after any rows already in the
log. Deterministic for a given random generator and input.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from dashboard.core.audit_rows import GENESIS_HASH, canonical_json, chain_hash, encoded_row, json_text
from dashboard.core.crs import bng_to_wgs84
from dashboard.core.uktime import UK
from dashboard.core.vocab import MOST_LISTED
from dashboard.demo import story
from dashboard.demo.places import LONLAT_DECIMALS
from dashboard.demo.writer import advance_id_sequences, insert_columns
from dashboard.registry.audit import anchor_for, lock_chain
from dashboard.registry.casework import CENTRE_DECIMALS
from dashboard.registry.models import AuditEvent

US_PER_S = 1_000_000
US_PER_MIN = 60 * US_PER_S
US_PER_HOUR = 60 * US_PER_MIN
US_PER_DAY = 24 * US_PER_HOUR
NEVER = np.iinfo(np.int64).max
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

# How each user uses the system: the chance of a working session on a weekday, and when it
# starts (minutes after local midnight, uniform in the range) and how long it lasts (minutes).
SESSION_HABITS = {
    "officer": (0.8, (450, 570), (420, 600)),
    "analyst": (0.5, (480, 570), (300, 540)),
    "lead": (0.35, (510, 600), (180, 420)),
    "auditor": (0.25, (510, 600), (120, 360)),
    "admin": (0.15, (480, 600), (60, 240)),
}
NO_LOGOUT_SHARE = 0.15  # sessions left to expire instead of logging out
TYPO_SHARE = 0.03  # logins preceded by a failed attempt
ADHOC_GAP_MIN = 45  # actions outside a working session this close share one short session
AUDIT_CHECK_EVERY_DAYS = 7
CHAIN_ROWS_PER_S = 82_000  # the chain check's speed, for the seconds it reports

SEARCH_RADII_M = (250, 300, 400, 500)
SEARCH_RADII_P = (0.35, 0.3, 0.2, 0.15)
# Cases whose officer searched twice (a smaller radius first), at most MAX_REFINED: two searches
# in one case and one more nearby within a month draw the repeated-point flag, which in a big demo
# (many cases in the same streets) would otherwise fire dozens of times a month.
REFINE_SHARE, MAX_REFINED = 0.25, 40
REVEAL_SHARE = 0.85  # cases whose officer looked at the owners' contact details before asking
EXPORT_SHARE = 0.3  # cases whose contacts were exported afterwards
MANY_REVEALS_TARGET = (22, 28)  # cameras revealed in a case that draws the "many reveals" flag
RECENT_DAYS = 28  # one of each pattern falls in these last days (the auditor's page shows 30 by default)
GUESSED_NAMES = ("admin", "admin", "administrator", "root", "test", "admin")

# Reasons as officers type them: specific ones per crime category, a few vague ones (which the
# vague-reason flag is for) and those given for exports.
CASE_REASONS = {
    "Burglary": (
        "Dwelling burglary overnight, rear door forced; looking for two suspects seen leaving on foot",
        "Burglary while the occupants were away, jewellery taken; suspect vehicle a dark hatchback",
        "Garage broken into and power tools stolen; checking for a van seen in the road in the early hours",
        "Attempted burglary, front door damaged; suspect disturbed and ran towards the main road",
        "Distraction burglary on an elderly resident by two men claiming to be from the water company",
    ),
    "Vehicle crime": (
        "Theft from a motor vehicle overnight, window smashed and a laptop bag taken",
        "Catalytic converter cut from a car parked on the street; suspects used a silver estate",
        "Car stolen from a driveway in the early hours, keyless relay suspected",
        "Number plates stolen from a parked car and since used in fuel drive-offs",
    ),
    "Criminal damage and arson": (
        "Tyres slashed on three cars parked in the same road overnight",
        "Wheelie bin set alight against a garage wall; looking for the youths seen nearby",
        "Shop window smashed with a brick just after closing time",
        "Graffiti sprayed on a row of garage doors; checking for suspects carrying spray cans",
    ),
    "Anti-social behaviour": (
        "Repeated reports of youths on mopeds riding on the footpath and intimidating residents",
        "Group drinking and shouting outside the parade of shops late evening, residents threatened",
        "Fireworks thrown at passing cars from the footbridge",
    ),
    "Violence and sexual offences": (
        "Assault outside the takeaway, victim punched to the ground; suspect left in a taxi",
        "Woman followed and grabbed by a stranger while walking home; tracing the suspect's route",
        "Fight involving four males after the pub closed, one victim with a head injury",
        "Assault on a bus driver at the stop; suspect got off and walked towards the estate",
    ),
    "Other theft": (
        "Parcels stolen from doorsteps along the road by a man in a high-visibility jacket",
        "Pressure washer and garden tools taken from a front garden during the day",
        "Fuel drive-off from the petrol station; tracing the car's route away",
    ),
    "Theft from the person": (
        "Mobile phone snatched from a pedestrian by a cyclist heading towards the park",
        "Purse taken from a shopping bag at the bus stop; suspect wearing a grey hoodie",
    ),
    "Robbery": (
        "Street robbery: victim threatened with a knife and phone taken; suspects fled on bicycles",
        "Robbery of a delivery driver by two suspects in a dark saloon",
    ),
    "Bicycle theft": (
        "Electric bike stolen from a front garden; thief seen wheeling it towards the canal path",
        "Two bicycles taken from an unlocked shed overnight",
    ),
    "Shoplifting": (
        "Repeat shoplifting at the convenience store; suspect leaves on foot with a rucksack each time",
        "Shop staff threatened during a theft of alcohol; suspect got into a waiting car",
    ),
}
RURAL_REASONS = (
    "Diesel siphoned from a tractor in a farm yard overnight",
    "Fly-tipping of building waste in a lay-by; looking for the tipper lorry",
    "Hare coursing reported on farmland; vehicle left along the lane",
)
VAGUE_REASONS = (
    "Ongoing enquiries",
    "Crime investigation",
    "General enquiries",
    "Police enquiries re incident",
    "In connection with ongoing police enquiries",
    "Routine CCTV check for investigation",
)
COLLEAGUE_REASON = "Assisting the investigating officer: checking which cameras cover the scene"
REPEAT_REASONS = (
    "Report of a man loitering near the same houses over several nights",
    "Suspicious vehicle parked up with the occupants watching houses",
    "Follow-up to an earlier report of someone trying car door handles",
    "Neighbour dispute, damage to a car reported again",
)
EXPORT_REASONS = (
    "Phoning the owners who have not replied to the request yet",
    "Contact list for the PCSO doing house-to-house follow-up",
    "Case file preparation: list of owners asked for footage",
    "Arranging collection of footage from owners who agreed to share it",
    "Handover of the case to the day shift investigator",
)


@dataclass(frozen=True)
class DemoUser:
    id: int
    username: str
    role: str


@dataclass(frozen=True)
class HistoryInput:
    """What the history is made from (arrays in the generator's orders; times naive UTC ``datetime64[us]``).

    Registration ``i`` has registrant and site id ``i + 1``; ``camera_site`` is each camera's site
    position (sorted); ``easting_m``/``northing_m`` are every site's place, withdrawn ones included
    (they were on the register until they withdrew). ``requests`` and ``events`` are
    ``footage.build_requests``' frames (request ``i`` has id ``i + 1``).
    """

    phases: story.Phases
    users: tuple[DemoUser, ...]
    new_users: tuple[str, ...]  # usernames this build created (logged as created from the command line)
    users_created_at: np.datetime64
    consent_at: np.ndarray
    withdrawn_at: np.ndarray  # NaT where still registered
    last_confirmed_at: np.ndarray
    easting_m: np.ndarray
    northing_m: np.ndarray
    camera_site: np.ndarray
    campaign_created_at: np.ndarray  # one per story.CAMPAIGNS entry (campaign id i + 1)
    requests: pd.DataFrame
    events: pd.DataFrame
    # Rows of the owners' answers through their links and the officer's triage of the files
    # (``dashboard.demo.evidence.audit_rows``): (µs, user id or None for the owner, action,
    # case reference, reason, subject ids, detail).
    evidence_rows: tuple = ()


@dataclass
class AuditRows:
    """Audit rows in time order, without ids and hashes (``write_history`` adds them).

    ``detail`` holds the canonical JSON text as ``audit.record`` stores it; ``CHAIN_CHECK`` marks
    an ``audit_verified`` row whose detail (rows checked so far) is known only once its place in
    the log is.
    """

    occurred_at: np.ndarray  # naive UTC datetime64[us]
    user_id: list
    username: list
    role: list
    action: list
    case_ref: list
    reason: list
    subject_ids: list
    detail: list
    last_login: dict[int, np.datetime64] = field(default_factory=dict)  # user id -> last login

    def __len__(self) -> int:
        return len(self.action)


CHAIN_CHECK = "<chain check>"


def _ids_text(ids) -> str:
    """``subject_ids`` as ``audit.record`` stores them: ``json.dumps`` of the ids as strings (for
    whole-number ids, which need no escaping, built directly; searches may list thousands)."""
    ids = [str(int(i)) for i in ids]
    return '["' + '", "'.join(ids) + '"]' if ids else "[]"


def _iso(us: int) -> str:
    """A time as casework's ``_iso`` writes it (UTC, whole seconds)."""
    return (EPOCH + dt.timedelta(microseconds=int(us))).isoformat(timespec="seconds")


def _us(values: np.ndarray) -> np.ndarray:
    """Naive UTC datetime64 to int64 microseconds (NaT to ``NEVER``)."""
    values = np.asarray(values).astype("datetime64[us]")
    return np.where(np.isnat(values), NEVER, values.astype(np.int64))


def _local_us(local: np.ndarray) -> np.ndarray:
    """Naive UK local datetime64 values as UTC microseconds."""
    return story.local_to_utc(np.asarray(local).astype("datetime64[us]")).astype(np.int64)


def _local_day(us: int) -> dt.date:
    """The UK date at a time (one value: zoneinfo, far quicker than pandas for a scalar)."""
    return (EPOCH + dt.timedelta(microseconds=int(us))).astimezone(UK).date()


def _at_local(day: dt.date, minute: int) -> int:
    """The time ``minute`` minutes after UK midnight starting ``day``, in UTC microseconds."""
    local = dt.datetime.combine(day, dt.time(minute // 60 % 24, minute % 60), tzinfo=UK)
    return (local - EPOCH) // dt.timedelta(microseconds=1)


class _Register:
    """Which cameras a search found: the register as it stood at a time, by grid distance.

    Sites are bucketed in square cells of ``CELL_M`` (sorted by cell, columns of cells being
    runs of keys), so a search reads only the few cells its circle overlaps."""

    CELL_M = 250.0
    ROWS = 1 << 20  # cell key = column * ROWS + row

    def __init__(self, h: HistoryInput):
        self.e, self.n = np.asarray(h.easting_m, float), np.asarray(h.northing_m, float)
        keys = self._key(np.floor(self.e / self.CELL_M), np.floor(self.n / self.CELL_M))
        self.order = np.argsort(keys, kind="stable")
        self.keys = keys[self.order]
        self.since = _us(h.consent_at)
        self.until = _us(h.withdrawn_at)
        self.to_wgs84 = bng_to_wgs84().transform
        sites = np.arange(len(self.e))
        self.cam_start = np.searchsorted(h.camera_site, sites, side="left")
        self.cam_count = np.searchsorted(h.camera_site, sites, side="right") - self.cam_start

    def _key(self, column, row):
        return (np.asarray(column, dtype=np.int64) * self.ROWS) + np.asarray(row, dtype=np.int64)

    def on_register(self, sites: np.ndarray, at: int) -> np.ndarray:
        return (self.since[sites] < at) & (self.until[sites] > at)

    def _near(self, e: float, n: float, radius_m: float) -> np.ndarray:
        """Sites in the cells a circle overlaps (a superset of those within it)."""
        c0, c1 = int(np.floor((e - radius_m) / self.CELL_M)), int(np.floor((e + radius_m) / self.CELL_M))
        r0, r1 = int(np.floor((n - radius_m) / self.CELL_M)), int(np.floor((n + radius_m) / self.CELL_M))
        columns = np.arange(c0, c1 + 1)
        lo = np.searchsorted(self.keys, self._key(columns, r0), side="left")
        hi = np.searchsorted(self.keys, self._key(columns, r1), side="right")
        return np.concatenate([self.order[a:b] for a, b in zip(lo.tolist(), hi.tolist())])

    def found(self, e: float, n: float, radius_m: float, at: int) -> np.ndarray:
        """Camera ids within ``radius_m`` of (e, n) on the register at ``at``, nearest site first."""
        cand = self._near(e, n, radius_m)
        d = np.hypot(self.e[cand] - e, self.n[cand] - n)
        keep = (d <= radius_m) & self.on_register(cand, at)
        cand, d = cand[keep], d[keep]
        sites = cand[np.lexsort((cand, d))]
        if not len(sites):
            return np.zeros(0, dtype=np.int64)
        starts, counts = self.cam_start[sites], self.cam_count[sites]
        offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        return np.repeat(starts, counts) + offsets + 1

    def lat_lon(self, e: float, n: float) -> tuple[float, float]:
        """A grid point in WGS84, rounded as the demo's places are (``places.to_wgs84``)."""
        lon, lat = self.to_wgs84(e, n)
        return round(lat, LONLAT_DECIMALS), round(lon, LONLAT_DECIMALS)

    def random_site(self, rng: np.random.Generator, at: int) -> int | None:
        """A site on the register at ``at`` (registered before it and not withdrawn by then)."""
        registered = int(np.searchsorted(self.since, at))  # sites are in consent order
        for _ in range(50):
            if registered == 0:
                return None
            site = int(rng.integers(0, registered))
            if self.until[site] > at:
                return site
        return None


class _Log:
    """Rows as they are made, in no particular order (``_sorted`` puts them in time order)."""

    def __init__(self, users: dict[int, DemoUser]):
        self.users = users
        self.rows: list[tuple] = []
        self.last_login: dict[int, np.datetime64] = {}

    def add(
        self,
        at: int,
        user: DemoUser | None,
        action: str,
        *,
        case_ref: str | None = None,
        reason: str | None = None,
        subject_ids=None,
        detail: dict | str | None = None,
        username: str | None = None,
    ) -> None:
        name = user.username if user else username
        self.rows.append(
            (
                int(at),
                user.id if user else None,
                name,
                user.role if user else None,
                action,
                case_ref,
                reason,
                _ids_text(subject_ids) if subject_ids is not None else None,
                detail if isinstance(detail, str) or detail is None else canonical_json(detail),
            )
        )


# --------------------------------------------------------------------------- building


def build_history(rng: np.random.Generator, h: HistoryInput) -> AuditRows:
    """Every audit row of the demo, in time order (see the module docstring)."""
    users = {u.id: u for u in h.users}
    by_name = {u.username: u for u in h.users}
    log = _Log(users)
    end = int(h.phases.end_utc.astype("datetime64[us]").astype(np.int64)) - US_PER_S
    created = int(np.datetime64(h.users_created_at, "us").astype(np.int64))
    for username in h.new_users:
        u = by_name[username]
        log.add(
            created,
            None,
            "user_created",
            subject_ids=[u.id],
            username="system",
            detail={"username": u.username, "role": u.role, "via": "command line"},
        )
    lead = next((u for u in h.users if u.role == "lead"), None)
    if lead is not None:
        for i, (spec, at) in enumerate(zip(story.CAMPAIGNS, _us(h.campaign_created_at))):
            log.add(
                int(at),
                lead,
                "campaign_created",
                subject_ids=[i + 1],
                detail={"slug": spec.slug, "channel": spec.channel},
            )
    officers = [u for u in h.users if u.role == "officer"]
    if officers:
        _casework(rng, h, log, officers, end)
    for at, user_id, action, case_ref, reason, subject_ids, detail in h.evidence_rows:
        log.add(
            at,
            users[user_id] if user_id is not None else None,
            action,
            case_ref=case_ref,
            reason=reason,
            subject_ids=subject_ids,
            detail=detail,
            username=None if user_id is not None else "public",
        )
    sessions = _sessions(rng, h, log, created, end)
    # From a generator of their own, so that the rows above and below stay as they were without them.
    _figure_queries(rng.spawn(1)[0], h, log, sessions, end)
    _adhoc_sessions(rng, log, sessions, end)
    _password_guessing(rng, log, created, end)
    rows = _registration_rows(h)
    return _sorted(log, rows)


def _registration_rows(h: HistoryInput) -> tuple:
    """The public's rows as columns: (times µs, action, subject_ids, detail)."""
    n = len(h.consent_at)
    ids = np.arange(1, n + 1)
    cameras = np.bincount(np.asarray(h.camera_site, dtype=np.int64), minlength=n)
    consent = _us(h.consent_at)
    confirmed = _us(h.last_confirmed_at)
    withdrawn = _us(h.withdrawn_at)
    again = np.flatnonzero(confirmed > consent)
    gone = np.flatnonzero(withdrawn < NEVER)
    subject = [f'["{i}"]' for i in ids.tolist()]
    made = [canonical_json({"cameras": c, "via": "form"}) for c in range(int(cameras.max(initial=0)) + 1)]
    via = canonical_json({"via": "form"})
    times = np.concatenate([consent, confirmed[again], withdrawn[gone]])
    action = (
        ["registration_created"] * n
        + ["registration_reconfirmed"] * len(again)
        + ["registration_withdrawn"] * len(gone)
    )
    subject_ids = subject + [subject[i] for i in again.tolist()] + [subject[i] for i in gone.tolist()]
    detail = [made[c] for c in cameras.tolist()] + [None] * len(again) + [via] * len(gone)
    return times, action, subject_ids, detail


def _sorted(log: _Log, public: tuple) -> AuditRows:
    """The users' rows and the public's columns merged in time order (ties: the public first,
    then the users' rows in the order they were made)."""
    times_p, action_p, subject_p, detail_p = public
    small = log.rows
    times = np.concatenate([times_p, np.fromiter((r[0] for r in small), dtype=np.int64, count=len(small))])
    order = np.argsort(times, kind="stable").tolist()
    n_p = len(times_p)
    npub = [None] * n_p
    cols = [
        npub,
        ["public"] * n_p,
        npub,
        action_p,
        npub,
        npub,
        subject_p,
        detail_p,
    ]
    merged = [cols[k] + [r[k + 1] for r in small] for k in range(8)]
    pick = [[col[i] for i in order] for col in merged]
    return AuditRows(
        occurred_at=times[order].astype("datetime64[us]"),
        user_id=pick[0],
        username=pick[1],
        role=pick[2],
        action=pick[3],
        case_ref=pick[4],
        reason=pick[5],
        subject_ids=pick[6],
        detail=pick[7],
        last_login=log.last_login,
    )


# --------------------------------------------------------------------------- casework


@dataclass
class _Case:
    ref: str
    officer: DemoUser
    category: str
    requests: list[tuple]  # (request id, camera id, sent µs, likely overwritten, site), by request id
    incident_from: int
    incident_to: int
    first_sent: int
    last_sent: int
    e: float
    n: float
    lat: float
    lon: float
    incident_at: int
    reason: str = ""
    search_at: int = 0


def _cases(h: HistoryInput, users: dict[int, DemoUser]) -> list[_Case]:
    """The requests grouped by case reference, in order of each case's first request (plain lists:
    a pandas group per case costs more than all the rest of a case's work)."""
    req = h.requests
    if req.empty:
        return []
    camera_index = req["camera_index"].to_numpy(np.int64)
    requests = zip(
        range(1, len(req) + 1),
        (camera_index + 1).tolist(),
        _us(req["sent_at"].to_numpy()).tolist(),
        req["footage_likely_overwritten"].to_numpy(bool).tolist(),
        np.asarray(h.camera_site)[camera_index].tolist(),
    )
    by_case: dict[str, list[tuple]] = {}
    first_of: dict[str, int] = {}
    for i, (ref, r) in enumerate(zip(req["case_ref"].tolist(), requests)):
        by_case.setdefault(ref, []).append(r)
        first_of.setdefault(ref, i)
    columns = {
        name: req[name].tolist()
        for name in ("requested_by_id", "crime_category", "ie", "in", "incident_lat", "incident_lon")
    }
    start = _us(req["incident_from"].to_numpy()).tolist()
    stop = _us(req["incident_to"].to_numpy()).tolist()
    cases = []
    for ref, rows in by_case.items():
        i = first_of[ref]
        middle = start[i] + (stop[i] - start[i]) // 2
        sent = [r[2] for r in rows]
        cases.append(
            _Case(
                ref=str(ref),
                officer=users[int(columns["requested_by_id"][i])],
                category=str(columns["crime_category"][i]),
                requests=rows,
                incident_from=start[i],
                incident_to=stop[i],
                first_sent=min(sent),
                last_sent=max(sent),
                e=float(columns["ie"][i]),
                n=float(columns["in"][i]),
                lat=float(columns["incident_lat"][i]),
                lon=float(columns["incident_lon"][i]),
                incident_at=middle - middle % US_PER_MIN,
            )
        )
    return cases


def _search_detail(
    lat: float, lon: float, radius_m: float, incident_at: int | None, results: int, within: int | None = None
) -> dict:
    """The ``search`` event's detail exactly as ``casework.log_search`` writes it."""
    detail = {
        "centre": {"lat": round(float(lat), CENTRE_DECIMALS), "lon": round(float(lon), CENTRE_DECIMALS)},
        "radius_m": float(radius_m),
        "incident_at": _iso(incident_at) if incident_at is not None else None,
        "results": int(results),
        "source": "page",
    }
    if within is not None and within != results:
        detail["within_radius"] = int(within)
    return detail


def _listed(found: np.ndarray, must: list[int] | tuple = ()) -> np.ndarray:
    """The cameras a search lists of those it ``found`` (nearest first): all, or where more than
    ``MOST_LISTED`` were within the radius, that many: the product lists the best-ranked, the demo
    the nearest, keeping ``must`` (the cameras the case went on to reveal or ask for) among them."""
    if len(found) <= MOST_LISTED:
        return found
    keep = np.isin(found, np.asarray(list(must), dtype=np.int64))
    keep |= np.cumsum(~keep) <= MOST_LISTED - int(keep.sum())
    return found[keep]


def _add_search(log: _Log, at: int, who, found: np.ndarray, lat, lon, radius, incident_at, must=(), **kw) -> np.ndarray:
    """Log one search as ``casework.log_search`` would: the listed cameras and how many were
    within the radius; returns the listed cameras."""
    listed = _listed(found, must)
    log.add(
        at,
        who,
        "search",
        subject_ids=listed.tolist(),
        detail=_search_detail(lat, lon, radius, incident_at, len(listed), len(found)),
        **kw,
    )
    return listed


def _pick(rng: np.random.Generator, pool: list[int], k: int, must: list[int]) -> list[int]:
    """``k`` of ``pool`` (positions), the ``must`` ones first."""
    chosen = list(dict.fromkeys(m for m in must if m in pool))[:k]
    rest = [p for p in pool if p not in chosen]
    if k > len(chosen) and rest:
        chosen += rng.choice(rest, size=min(k - len(chosen), len(rest)), replace=False).tolist()
    return sorted(int(c) for c in chosen)


def _share(n: int, share: float, lo: int, hi: int) -> int:
    return int(min(hi, max(lo, round(share * n))))


def _casework(rng: np.random.Generator, h: HistoryInput, log: _Log, officers: list[DemoUser], end: int) -> None:
    """Each case's search(es), reveal, requests, status changes and export, then the searches
    that led to no request; the patterns for the flags among them (module docstring)."""
    register = _Register(h)
    cases = _cases(h, log.users)
    recent = end - RECENT_DAYS * US_PER_DAY
    n = len(cases)
    positions = list(range(n))
    in_window = [i for i, c in enumerate(cases) if c.first_sent >= recent]
    first_recent = [in_window[int(rng.integers(0, len(in_window)))]] if in_window else []
    vague = set(_pick(rng, positions, _share(n, 0.04, 1, 20), first_recent))
    night = set(_pick(rng, positions, _share(n, 1 / 50, 1, 8), first_recent))
    refine = set(_pick(rng, positions, _share(n, REFINE_SHARE, 0, MAX_REFINED), []))
    many = _many_reveals_case(register, cases, in_window)
    used_refs = {c.ref for c in cases}

    for i, case in enumerate(cases):
        case.reason = (
            VAGUE_REASONS[int(rng.integers(0, len(VAGUE_REASONS)))]
            if i in vague
            else _choice(rng, CASE_REASONS.get(case.category, RURAL_REASONS))
        )
        lead_min = (40, 70) if i == many else (4, 35)
        case.search_at = case.first_sent - int(rng.integers(lead_min[0] * 60, lead_min[1] * 60)) * US_PER_S
        if i in refine and i != many:
            earlier = case.search_at - int(rng.integers(120, 720)) * US_PER_S
            radius = float(rng.choice([100, 150, 200]))
            found = register.found(case.e, case.n, radius, earlier)
            _add_search(
                log,
                earlier,
                case.officer,
                found,
                case.lat,
                case.lon,
                radius,
                case.incident_at,
                case_ref=case.ref,
                reason=case.reason,
            )
        radius = _many_radius(register, case) if i == many else float(rng.choice(SEARCH_RADII_M, p=SEARCH_RADII_P))
        asked = list(dict.fromkeys(r[1] for r in case.requests))
        found = _add_search(
            log,
            case.search_at,
            case.officer,
            register.found(case.e, case.n, radius, case.search_at),
            case.lat,
            case.lon,
            radius,
            case.incident_at,
            must=asked,
            case_ref=case.ref,
            reason=case.reason,
        )
        if i == many:
            _reveal_many(rng, log, case, asked, found)
        elif rng.random() < REVEAL_SHARE:
            gap_s = (case.first_sent - case.search_at) // US_PER_S
            at = case.search_at + int(rng.integers(30, max(31, min(240, gap_s - 20)))) * US_PER_S
            log.add(
                at,
                case.officer,
                "reveal_contact",
                case_ref=case.ref,
                reason=case.reason,
                subject_ids=asked,
                detail={"cameras": len(asked)},
            )
        batches: dict[int, list[tuple]] = {}
        for r in case.requests:
            batches.setdefault(r[2], []).append(r)
        for sent, batch in sorted(batches.items()):  # one create_requests call per sending
            log.add(
                sent,
                case.officer,
                "request_created",
                case_ref=case.ref,
                reason=case.reason,
                subject_ids=[r[1] for r in batch],
                detail={
                    "request_ids": [r[0] for r in batch],
                    "likely_overwritten_camera_ids": [r[1] for r in batch if r[3]],
                    "incident_from": _iso(case.incident_from),
                    "incident_to": _iso(case.incident_to),
                    "sent_at": _iso(sent),
                },
            )
        if i in night:
            _export(rng, register, log, case, end, night=True)
        elif rng.random() < EXPORT_SHARE:
            _export(rng, register, log, case, end, night=False)
    _status_changes(h, log)
    _searches_without_requests(rng, h, log, register, cases, officers, used_refs, end)
    _repeated_point(rng, log, register, cases, officers, used_refs, end)
    _refused_searches(rng, log, cases, officers, used_refs, end)


JUNK_REASONS = ("aaaaaaaaaa", "asdfghjkl test", "checking checking")  # refused: a reason that says nothing
REFUSED_RUNS = (1, 3)  # days on which an officer was refused searches (the ``refused`` flag's case)


def _refused_searches(
    rng: np.random.Generator, log: _Log, cases: list[_Case], officers: list[DemoUser], used: set[str], end: int
) -> None:
    """An officer refused searches: a few with a reason that says nothing, then, with a real reason,
    more than the search limit allows in a minute; one such day in the last 30 days, and up to two
    before it. What ``casework.admit_search`` logs (``search_refused`` with why and message)."""
    if not cases:
        return
    who = officers[0]
    runs = _share(len(cases), 1 / 150, *REFUSED_RUNS)
    for k in range(runs):
        lo, hi = (
            (end - RECENT_DAYS * US_PER_DAY, end - US_PER_DAY)
            if k == 0
            else (cases[0].first_sent, end - RECENT_DAYS * US_PER_DAY)
        )
        if hi <= lo:
            continue
        at = _when(rng, cases, lo, hi)
        ref = _new_ref(rng, used, at)
        for _j in range(int(rng.integers(2, 5))):
            at += int(rng.integers(5, 40)) * US_PER_S
            log.add(
                at,
                who,
                "search_refused",
                case_ref=ref,
                reason=_choice(rng, JUNK_REASONS),
                detail={"why": "reason", "message": "Give the reason in a few words that say why you are searching."},
            )
        reason = _choice(rng, REPEAT_REASONS)
        for _j in range(int(rng.integers(1, 4))):
            at += int(rng.integers(2, 8)) * US_PER_S
            log.add(
                at,
                who,
                "search_refused",
                case_ref=ref,
                reason=reason,
                detail={
                    "why": "rate_limit",
                    "limit": "10 per 1 minute",
                    "message": "You have reached the limit of 10 per 1 minute searches; wait and search again. "
                    "Refused searches are recorded.",
                },
            )


def _choice(rng: np.random.Generator, options) -> str:
    return options[int(rng.integers(0, len(options)))]


def _many_reveals_case(register: _Register, cases: list[_Case], in_window: list[int]) -> int | None:
    """The case whose officer reveals more than 20 owners' details: among the last 30 days' cases
    (or else all) the one with the most cameras near its incident point, if any has enough."""
    low, high = MANY_REVEALS_TARGET
    for pool in (in_window[::-1], range(len(cases) - 1, -1, -1)):  # the latest first
        best, best_n = None, 0
        for i in pool:
            c = cases[i]
            count = len(register.found(c.e, c.n, 1000.0, c.first_sent - 70 * US_PER_MIN))
            if count >= high:
                return i
            if count > best_n:
                best, best_n = i, count
        if best is not None and best_n >= low:
            return best
    return None


def _many_radius(register: _Register, case: _Case) -> float:
    """The smallest radius on the search page's scale that finds enough cameras to reveal."""
    for radius in (300.0, 500.0, 750.0, 1000.0):
        if len(register.found(case.e, case.n, radius, case.search_at)) >= MANY_REVEALS_TARGET[1]:
            return radius
    return 1000.0


def _reveal_many(rng: np.random.Generator, log: _Log, case: _Case, asked: list[int], found: np.ndarray) -> None:
    """Contact details of 22 to 28 cameras (those asked among them), in three reveals."""
    others = [c for c in found.tolist() if c not in asked]
    want = int(rng.integers(MANY_REVEALS_TARGET[0], MANY_REVEALS_TARGET[1] + 1))
    extra = others[: max(0, want - len(asked))]
    shown = asked + extra
    at = case.search_at
    for part in np.array_split(np.array(shown, dtype=np.int64), 3):
        if not len(part):
            continue
        at += int(rng.integers(2 * 60, 9 * 60)) * US_PER_S
        log.add(
            min(at, case.first_sent - US_PER_S),
            case.officer,
            "reveal_contact",
            case_ref=case.ref,
            reason=case.reason,
            subject_ids=part.tolist(),
            detail={"cameras": len(part)},
        )


def _export(rng: np.random.Generator, register: _Register, log: _Log, case: _Case, end: int, *, night: bool) -> None:
    """The case's contacts exported after its last request: in office hours a day or so later, or
    (``night``) in the small hours; as ``casework.export_case_csv`` logs it."""
    day = _local_day(case.last_sent) + dt.timedelta(days=int(rng.integers(0 if not night else 1, 4)))
    minute = int(rng.integers(90, 210)) if night else int(rng.integers(9 * 60, 18 * 60))  # 01:30-03:30
    at = _at_local(day, minute) + int(rng.integers(0, 60)) * US_PER_S
    if at <= case.last_sent:
        at += US_PER_DAY
    if at >= end:
        return
    withdrawn = register.until
    disclosed = list(dict.fromkeys(r[1] for r in case.requests if withdrawn[r[4]] > at))
    erased = sum(1 for r in case.requests if withdrawn[r[4]] <= at)
    log.add(
        at,
        case.officer,
        "export",
        case_ref=case.ref,
        reason=_choice(rng, EXPORT_REASONS),
        subject_ids=disclosed,
        detail={"rows": len(case.requests), "erased_rows": erased, "request_ids": [r[0] for r in case.requests]},
    )


def _status_changes(h: HistoryInput, log: _Log) -> None:
    """One ``request_status`` row per officer's status event after "sent", at its time, with its note
    (an owner's answer through their link is logged as ``response_answered``, among the evidence rows)."""
    req = h.requests.reset_index(drop=True)
    ev = h.events[(h.events["status"] != "sent") & h.events["by_user_id"].notna()]
    case_ref = req["case_ref"].tolist()
    camera = (req["camera_index"].to_numpy(np.int64) + 1).tolist()
    useful = req["footage_useful"].tolist()
    for index, status, at, by, note in zip(
        ev["request_index"].tolist(),
        ev["status"].tolist(),
        _us(ev["at"].to_numpy()).tolist(),
        ev["by_user_id"].tolist(),
        ev["note"].tolist(),
    ):
        value = useful[index] if status == "footage_provided" else None
        value = None if value is None or pd.isna(value) else bool(value)
        log.add(
            int(at),
            log.users[int(by)],
            "request_status",
            case_ref=case_ref[index],
            reason=note,
            subject_ids=[camera[index]],
            detail={
                "request_id": index + 1,
                "from": "sent",
                "to": status,
                "footage_useful": value,
                "at": _iso(int(at)),
            },
        )


def _new_ref(rng: np.random.Generator, used: set[str], at: int) -> str:
    year = pd.Timestamp(at, unit="us").year
    while True:
        ref = f"CR-{year}-{int(rng.integers(1000, 999_999)):06d}"
        if ref not in used:
            used.add(ref)
            return ref


def _working_time(rng: np.random.Generator, day: dt.date, lo_hour: int = 9, hi_hour: int = 18) -> int:
    """A time between ``lo_hour`` and ``hi_hour`` UK time on ``day`` (UTC microseconds)."""
    return _at_local(day, int(rng.integers(lo_hour * 60, hi_hour * 60))) + int(rng.integers(0, 60)) * US_PER_S


def _when(rng: np.random.Generator, cases: list[_Case], lo: int, hi: int) -> int:
    """A working-hours time near a random case (so busier months have more), on a day wholly
    within [lo, hi) when there is one."""
    base = cases[int(rng.integers(0, len(cases)))].first_sent + int(rng.integers(-10, 11)) * US_PER_DAY
    first, last = _local_day(lo) + dt.timedelta(days=1), _local_day(hi) - dt.timedelta(days=1)
    day = min(max(_local_day(base), first), last) if first <= last else _local_day(lo)
    return int(min(max(_working_time(rng, day), lo), hi - US_PER_S))


def _searches_without_requests(
    rng: np.random.Generator,
    h: HistoryInput,
    log: _Log,
    register: _Register,
    cases: list[_Case],
    officers: list[DemoUser],
    used: set[str],
    end: int,
) -> None:
    """Searches that led to no request: some found nothing (no flag), some found cameras in a case
    of their own, and some were a colleague's look at another officer's case (these the
    no-follow-up flag is for; one of them in the last 30 days and old enough to be judged)."""
    if not cases:
        return
    launch = _at_local(h.phases.public_launch, 0) + 2 * US_PER_DAY
    n = len(cases)
    for k in range(_share(n, 0.03, 1, 15)):  # found nothing: rural, or far from any registered camera
        at = _when(rng, cases, launch, end)
        site = register.random_site(rng, at)
        if site is None:
            continue
        for _ in range(10):
            theta, dist = rng.random() * 2 * np.pi, rng.uniform(1500, 6000)
            e, nn = register.e[site] + dist * np.cos(theta), register.n[site] + dist * np.sin(theta)
            radius = float(rng.choice([100, 150, 200]))
            if not len(register.found(e, nn, radius, at)):
                lat, lon = register.lat_lon(e, nn)
                log.add(
                    at,
                    officers[k % len(officers)],
                    "search",
                    case_ref=_new_ref(rng, used, at),
                    reason=_choice(rng, RURAL_REASONS),
                    subject_ids=[],
                    detail=_search_detail(lat, lon, radius, at - int(rng.integers(2, 48)) * US_PER_HOUR, 0),
                )
                break
    judged_lo, judged_hi = end - RECENT_DAYS * US_PER_DAY, end - 15 * US_PER_DAY
    for k in range(_share(n, 0.03, 1, 15)):  # found cameras, asked none
        lo, hi = (judged_lo, judged_hi) if k == 0 else (launch, end)
        at = _when(rng, cases, lo, hi)
        colleague = k % 2 == 1 and len(officers) > 1
        case = cases[int(rng.integers(0, n))] if colleague else None
        if case is not None:
            who = next(o for o in officers if o.id != case.officer.id)
            at = _working_time(rng, _local_day(case.search_at) + dt.timedelta(days=int(rng.integers(0, 4))))
            if not case.search_at < at < end:
                continue
            e, nn, lat, lon, ref, reason, when = (
                case.e,
                case.n,
                case.lat,
                case.lon,
                case.ref,
                COLLEAGUE_REASON,
                case.incident_at,
            )
        else:
            site = register.random_site(rng, at)
            if site is None:
                continue
            who = officers[int(rng.integers(0, len(officers)))]
            theta, dist = rng.random() * 2 * np.pi, rng.uniform(10, 120)
            e, nn = register.e[site] + dist * np.cos(theta), register.n[site] + dist * np.sin(theta)
            lat, lon = register.lat_lon(e, nn)
            ref, when = _new_ref(rng, used, at), at - int(rng.integers(3, 72)) * US_PER_HOUR
            reason = _choice(rng, CASE_REASONS[_choice(rng, list(CASE_REASONS))])
        radius = float(rng.choice([200, 300, 400]))
        _add_search(
            log, at, who, register.found(e, nn, radius, at), lat, lon, radius, when, case_ref=ref, reason=reason
        )


def _repeated_point(
    rng: np.random.Generator,
    log: _Log,
    register: _Register,
    cases: list[_Case],
    officers: list[DemoUser],
    used: set[str],
    end: int,
) -> None:
    """One officer searching around the same point again and again: three searches in three
    cases, or four in one case that never led to a request; one run in the last 30 days."""
    if not cases:
        return
    who = officers[-1]
    runs = _share(len(cases), 1 / 120, 1, 4)
    for k in range(runs):
        recent = end - RECENT_DAYS * US_PER_DAY, end - 16 * US_PER_DAY  # its searches all in the last days
        lo, hi = recent if k == 0 else (cases[0].first_sent, recent[0])
        if hi <= lo:
            lo, hi = recent
        first = _when(rng, cases, lo, hi)
        site = register.random_site(rng, first)
        if site is None:
            continue
        e0 = register.e[site] + rng.uniform(-40, 40)
        n0 = register.n[site] + rng.uniform(-40, 40)
        one_case = k % 2 == 1
        count = 4 if one_case else 3
        days = np.sort(rng.choice(np.arange(1, 12), size=count - 1, replace=False))
        ref = _new_ref(rng, used, first) if one_case else None
        for j in range(count):
            day = _local_day(first) + dt.timedelta(days=int(days[j - 1]) if j else 0)
            at = first if j == 0 else _working_time(rng, day)
            if at >= end:
                break
            e, nn = e0 + rng.uniform(-60, 60), n0 + rng.uniform(-60, 60)
            lat, lon = register.lat_lon(e, nn)
            radius = float(rng.choice([100, 150, 200]))
            case_ref = ref or _new_ref(rng, used, at)  # the random draws in the order they always were
            reason = _choice(rng, REPEAT_REASONS)
            incident_at = at - int(rng.integers(4, 96)) * US_PER_HOUR
            found = register.found(e, nn, radius, at)
            _add_search(log, at, who, found, lat, lon, radius, incident_at, case_ref=case_ref, reason=reason)


# --------------------------------------------------------------------------- figure queries


QUERY, EXPORT = "aggregate_query", "aggregate_export"
FIGURE_QUERIES_PER_SESSION = (1, 7)  # page visits in one working session of an analyst or a lead (at most)
API_SHARE, DOWNLOAD_SHARE = 0.12, 0.1  # visits that are an API call, or a download, instead
BURST_QUERIES = (22, 27)  # the planted burst: this many uptake queries...
BURST_STEP_S = (50, 110)  # ...this far apart
COVERAGE_CAMERAS = (
    "all",
    "all",
    "all",
    "kind:doorbell",
    "kind:fixed",
    "placement:outdoor",
    "placement:indoor",
    "direction:known",
)
HOME_METRICS = ("registrations_per_1000", "cameras_per_1000")
GAP_TYPES = ("all", "all", "Burglary", "Vehicle crime", "Criminal damage and arson", "Anti-social behaviour")


def _months(h: HistoryInput, end: int) -> list[str]:
    last = _local_day(end)
    first = h.phases.pilot_start.replace(day=1)
    months = []
    while first < last.replace(day=1):  # whole months before the current one
        months.append(f"{first:%Y-%m}")
        first = (first + dt.timedelta(days=32)).replace(day=1)
    return months or [f"{last:%Y-%m}"]


def _camera_args(choice: str, api: bool) -> dict:
    """The coverage page's camera choice as URL arguments: the export's (kind, placement, direction)
    or the API's (kind, placement, direction_known)."""
    if choice == "all":
        return {}
    name, value = choice.split(":")
    if name == "direction":
        return {"direction_known": "true" if value == "known" else "false"} if api else {"direction": value}
    return {name: value}


def _visit(
    rng: np.random.Generator, role: str, day: dt.date, months: list[str], pilot_start: dt.date
) -> list[tuple[str, dict, int]]:
    """One look at the figures, as (action, detail, seconds after the first) rows: a page opened and
    its filters used, an API call or a download, each with the parameters ``query_log`` records
    (periods start no earlier than the pilot)."""
    draw = rng.random()
    monday = day - dt.timedelta(days=day.weekday())
    months = [m for m in months if m < f"{day:%Y-%m}"] or ["all"]  # whole months before this one

    def weeks_back(n: int) -> str:
        return max(monday - dt.timedelta(weeks=n), pilot_start).isoformat()

    yesterday = max(day - dt.timedelta(days=1), pilot_start).isoformat()
    if draw < API_SHARE:
        if role == "lead" and rng.random() < 0.6:
            return [
                (
                    QUERY,
                    {
                        "route": "/api/v1/metrics/uptake",
                        "params": {"from": weeks_back(int(rng.integers(4, 13))), "to": yesterday},
                        "status": 200,
                    },
                    0,
                )
            ]
        route = _choice(rng, ["/api/v1/coverage/cells", "/api/v1/coverage/areas", "/api/v1/summary"])
        params = (
            {"res": _choice(rng, ["7", "8", "8", "9"]), **_camera_args(_choice(rng, COVERAGE_CAMERAS), True)}
            if route.endswith("cells")
            else {"level": _choice(rng, ["district", "lsoa"]), "near_m": _choice(rng, ["50", "100", "200"])}
            if route.endswith("areas")
            else {}
        )
        return [(QUERY, {"route": route, "params": params, "status": 200}, 0)]
    if draw < API_SHARE + DOWNLOAD_SHARE:
        if role == "lead" and rng.random() < 0.5:
            week = monday - dt.timedelta(days=7)
            return [(EXPORT, {"route": "/uptake/report", "params": {"week": week.isoformat()}, "status": 200}, 0)]
        fmt = _choice(rng, ["csv", "csv", "geojson", "gpkg"])
        if rng.random() < 0.5:
            return [
                (
                    EXPORT,
                    {
                        "route": f"/coverage/export/cells.{fmt}",
                        "params": {
                            "res": _choice(rng, ["7", "8", "9"]),
                            **_camera_args(_choice(rng, COVERAGE_CAMERAS), False),
                        },
                        "status": 200,
                    },
                    0,
                )
            ]
        return [
            (
                EXPORT,
                {
                    "route": f"/gaps/export/areas.{fmt}",
                    "params": {
                        "period": _choice(rng, months),
                        "type": _choice(rng, GAP_TYPES),
                        "radius": "100",
                        "level": "lsoa",
                    },
                    "status": 200,
                },
                0,
            )
        ]
    pages = ["/", "/coverage", "/coverage", "/gaps"] + (["/uptake", "/uptake", "/campaigns"] if role == "lead" else [])
    page = _choice(rng, pages)
    rows = [(QUERY, {"page": page, "callback": "page", "inputs": {}, "status": 200}, 0)]
    at = 0
    for _ in range(int(rng.integers(0, 4)) + (page != "/campaigns")):
        at += int(rng.integers(2, 90))
        if page == "/":
            callback, inputs = "home-districts.data", {"home-metric": _choice(rng, HOME_METRICS)}
        elif page == "/coverage" and rng.random() < 0.7:
            callback, inputs = (
                "coverage-cells.data",
                {
                    "coverage-res": _choice(rng, ["7", "8", "8", "9"]),
                    "coverage-cameras": _choice(rng, COVERAGE_CAMERAS),
                },
            )
        elif page == "/coverage":
            callback, inputs = (
                "coverage-areas.rowData",
                {
                    "coverage-level": _choice(rng, ["district", "lsoa"]),
                    "coverage-near": _choice(rng, ["50", "100", "200"]),
                },
            )
        elif page == "/gaps":
            callback, inputs = (
                "gaps-headline.children",
                {
                    "gaps-period": _choice(rng, ["all", *months[-6:]]),
                    "gaps-type": _choice(rng, GAP_TYPES),
                    "gaps-radius": _choice(rng, ["50", "100", "100", "200", "500"]),
                    "gaps-level": _choice(rng, ["lsoa", "district"]),
                },
            )
        elif page == "/uptake":
            callback, inputs = (
                "uptake-headline.children",
                {
                    "uptake-first": weeks_back(int(rng.integers(1, 27))),
                    "uptake-last": yesterday,
                    "uptake-district": "all",
                    "uptake-period": _choice(rng, ["week", "week", "day"]),
                },
            )
        else:
            break
        rows.append((QUERY, {"page": page, "callback": callback, "inputs": inputs, "status": 200}, at))
    return rows


def _figure_queries(rng: np.random.Generator, h: HistoryInput, log: _Log, sessions: dict[int, list], end: int) -> None:
    """The analysts' and the lead's figure queries inside their working sessions, and the lead's
    planted burst of uptake queries with only the end date moving (module docstring)."""
    months = _months(h, end)
    askers = [u for u in h.users if u.role in ("analyst", "lead")]
    pilot = _at_local(h.phases.pilot_start, 0)
    for user in askers:
        for start, stop in sessions.get(user.id, []):
            span = stop - start - 10 * US_PER_MIN
            if span <= 0 or start < pilot:  # before the pilot there are no figures to look at
                continue
            visits = int(rng.integers(*FIGURE_QUERIES_PER_SESSION))
            for offset in np.sort(rng.integers(0, span, visits)).tolist():
                at = start + 2 * US_PER_MIN + offset
                for action, detail, after_s in _visit(rng, user.role, _local_day(at), months, h.phases.pilot_start):
                    if at + after_s * US_PER_S < stop:
                        log.add(at + after_s * US_PER_S, user, action, detail=detail)
    lead = next((u for u in askers if u.role == "lead"), None)
    if lead is None:
        return
    recent = end - RECENT_DAYS * US_PER_DAY
    long_enough = [(a, b) for a, b in sessions.get(lead.id, []) if a >= recent and b - a >= 90 * US_PER_MIN]
    n = int(rng.integers(*BURST_QUERIES))
    if long_enough:
        start, _ = long_enough[int(rng.integers(0, len(long_enough)))]
        at = start + int(rng.integers(10, 30)) * US_PER_MIN
    else:  # no session of the lead's long enough lately: an extra one is made around it (_adhoc_sessions)
        at = _working_time(rng, _local_day(end - 10 * US_PER_DAY), 10, 15)
    first = _local_day(at) - dt.timedelta(days=n + 40)
    for i in range(n):
        to = first + dt.timedelta(days=20 + i)
        log.add(
            at,
            lead,
            QUERY,
            detail={
                "route": "/api/v1/metrics/uptake",
                "status": 200,
                "params": {"from": first.isoformat(), "to": to.isoformat()},
            },
        )
        at += int(rng.integers(*BURST_STEP_S)) * US_PER_S


# --------------------------------------------------------------------------- sessions


def _sessions(rng: np.random.Generator, h: HistoryInput, log: _Log, created: int, end: int) -> dict[int, list]:
    """Working sessions on weekdays from the day after the users were created: a login, mostly a
    logout, now and then a mistyped password first; the auditor checks the chain about weekly.
    Returns each user's sessions as [start, end] pairs (µs)."""
    first_day = np.datetime64(_local_day(created) + dt.timedelta(days=1), "D")
    last_day = np.datetime64(_local_day(end), "D")
    days = np.arange(first_day, last_day)
    weekdays = days[((days.astype(np.int64) + 3) % 7) < 5]
    sessions: dict[int, list] = {}
    last_check = -NEVER
    for user in h.users:
        share, (start_lo, start_hi), (len_lo, len_hi) = SESSION_HABITS.get(user.role, SESSION_HABITS["admin"])
        on = weekdays[rng.random(len(weekdays)) < share]
        start_min = rng.integers(start_lo, start_hi, len(on))
        length_min = rng.integers(len_lo, len_hi, len(on))
        starts = (
            _local_us(on.astype("datetime64[m]") + start_min.astype("timedelta64[m]"))
            + rng.integers(0, 60, len(on)) * US_PER_S
        )
        stops = starts + length_min * US_PER_MIN + rng.integers(0, 60, len(on)) * US_PER_S
        logout = rng.random(len(on)) >= NO_LOGOUT_SHARE
        typo = rng.random(len(on)) < TYPO_SHARE
        spans = sessions.setdefault(user.id, [])
        for start, stop, out, mistyped in zip(starts.tolist(), stops.tolist(), logout.tolist(), typo.tolist()):
            if stop >= end:
                continue
            if mistyped:
                name = user.username if rng.random() < 0.7 else user.username.replace(".", "", 1)
                log.add(start - int(rng.integers(15, 90)) * US_PER_S, None, "login_failed", username=name)
            log.add(start, user, "login")
            if out:
                log.add(stop, user, "logout")
            spans.append([start, stop])
            if user.role == "auditor" and start - last_check >= (AUDIT_CHECK_EVERY_DAYS - 1) * US_PER_DAY:
                at = start + int(rng.integers(3 * 60, 25 * 60)) * US_PER_S
                if at < stop:
                    log.add(at, user, "audit_verified", detail=CHAIN_CHECK)
                    last_check = start
    return sessions


def _adhoc_sessions(rng: np.random.Generator, log: _Log, sessions: dict[int, list], end: int) -> None:
    """A short session around each run of a user's actions that falls outside their working
    sessions (an officer back at a screen in the evening to send requests)."""
    acts: dict[int, list[int]] = {}
    for r in log.rows:
        if r[1] is not None and r[4] not in ("login", "logout", "login_failed"):
            acts.setdefault(r[1], []).append(r[0])
    last_login: dict[int, int] = {}
    for uid in sorted(set(acts) | set(sessions)):
        spans = sorted(sessions.get(uid, []))
        starts = np.array([s for s, _ in spans], dtype=np.int64)
        stops = np.array([e for _, e in spans], dtype=np.int64)
        times = np.sort(np.array(acts.get(uid, []), dtype=np.int64))
        inside = np.zeros(len(times), dtype=bool)
        if len(spans):
            k = np.searchsorted(starts, times, side="right") - 1  # the last session started before
            inside = (k >= 0) & (times <= stops[np.maximum(k, 0)])
        outside = times[~inside].tolist()
        user = log.users[uid]
        groups: list[list[int]] = []
        for t in outside:
            if groups and t - groups[-1][-1] <= ADHOC_GAP_MIN * US_PER_MIN:
                groups[-1].append(t)
            else:
                groups.append([t])
        for g in groups:
            # after the session before has ended, and logging out (mostly) before the next begins
            k = int(np.searchsorted(starts, g[0], side="right"))
            ended = int(stops[:k].max()) if k else -NEVER
            begins = int(starts[k]) if k < len(starts) else NEVER
            start = max(g[0] - int(rng.integers(60, 300)) * US_PER_S, ended + US_PER_S)
            log.add(start, user, "login")
            stop = g[-1] + int(rng.integers(120, 900)) * US_PER_S
            if rng.random() >= NO_LOGOUT_SHARE and stop < min(end, begins):
                log.add(stop, user, "logout")
            spans.append([start, stop])
        logins = [s for s, _ in spans]
        if logins:
            last_login[uid] = max(logins)
    log.last_login = {uid: np.datetime64(int(t), "us") for uid, t in last_login.items()}


def _password_guessing(rng: np.random.Generator, log: _Log, created: int, end: int) -> None:
    """One night of failed logins at names that are not accounts, in the last month or so."""
    lo = max(created + US_PER_DAY, end - 40 * US_PER_DAY)
    if lo >= end - 2 * US_PER_DAY:
        return
    day = _local_day(int(rng.integers(lo, end - 2 * US_PER_DAY))) + dt.timedelta(days=1)
    at = _working_time(rng, day, 2, 4)
    for name in GUESSED_NAMES:
        at += int(rng.integers(8, 40)) * US_PER_S
        if at < end:
            log.add(at, None, "login_failed", username=name)


# --------------------------------------------------------------------------- writing


def _json_texts(values: list) -> list[str]:
    """Each value (text or None) as JSON, as ``canonical_json`` writes it (``json_text``); repeated values once."""
    done: dict = {}
    out = []
    for v in values:
        t = done.get(v)
        if t is None:
            t = done[v] = json_text(v)
        out.append(t)
    return out


def write_history(conn: Connection, rows: AuditRows) -> int:
    """Append ``rows`` to the audit log after any rows already there, hash-chained as
    ``audit.record`` chains them, in one bulk insert in id order; returns the number written.

    Runs in the caller's transaction, holding the log's write lock first (``audit.lock_chain``,
    as ``audit.record`` does), so no other writer can chain onto the same row meanwhile.
    """
    n = len(rows)
    if n == 0:
        return 0
    table = AuditEvent.__table__
    lock_chain(conn)
    last = conn.execute(sa.select(table.c.id, table.c.row_hash).order_by(table.c.id.desc()).limit(1)).first()
    before = int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())
    first_id = (int(last.id) if last else 0) + 1
    prev = last.row_hash if last else GENESIS_HASH
    times = [t + "+00:00" for t in np.datetime_as_string(rows.occurred_at, unit="us").tolist()]
    detail = list(rows.detail)
    for i, d in enumerate(detail):
        if d == CHAIN_CHECK:
            checked = before + i
            detail[i] = canonical_json(
                {
                    "rows_checked": checked,
                    "intact": True,
                    "first_broken_id": None,
                    "problem": None,
                    "last_id": first_id + i - 1 if checked else None,
                    "seconds": round(checked / CHAIN_ROWS_PER_S + 0.05, 3),
                }
            )
    prevs, hashes = [], []
    key = anchor_for(conn).chain_key
    users = ["null" if u is None else str(int(u)) for u in rows.user_id]
    # encoded_row, column by column (each value encoded once, not per row)
    for when, uid, name, role, action, case, reason, subjects, text in zip(
        times,
        users,
        *(
            _json_texts(c)
            for c in (rows.username, rows.role, rows.action, rows.case_ref, rows.reason, rows.subject_ids, detail)
        ),
    ):
        digest = chain_hash(prev, encoded_row(when, uid, name, role, action, case, reason, subjects, text), key)
        prevs.append(prev)
        hashes.append(digest)
        prev = digest
    insert_columns(
        conn,
        table,
        {
            "id": np.arange(first_id, first_id + n),
            "occurred_at": rows.occurred_at,
            "user_id": rows.user_id,
            "username": rows.username,
            "role": rows.role,
            "action": rows.action,
            "case_ref": rows.case_ref,
            "reason": rows.reason,
            "subject_ids": rows.subject_ids,
            "detail": detail,
            "prev_hash": prevs,
            "row_hash": hashes,
        },
    )
    advance_id_sequences(conn, [table])
    return n
