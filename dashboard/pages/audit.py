"""Audit log review (auditors only; nobody else reads the log): who looked at what, when and why.

Filters (period, user, role, actions, case, area), the log a page at a time, activity per user,
searches per area on a map (counts per area only, never a search's point), flags worth a look
with the rule behind each, the chain check, and a CSV export of the filtered period (logged).
Callbacks are thin: ``dashboard.security.audit_review`` and ``audit_flags`` do the work.
"""

from __future__ import annotations

import datetime as dt
import weakref
from urllib.parse import urlencode

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
import dash_leaflet as dl
import sqlalchemy as sa
from dash import Input, Output, State, ctx, dcc, html, no_update
from flask import Blueprint, Response, request
from flask_login import current_user

from dashboard.cache import cache
from dashboard.components.grid_columns import figure, number_column
from dashboard.components.legend import legend
from dashboard.components.loading import loading
from dashboard.components.maps import area_map, choropleth, js
from dashboard.components.retention_view import retention_table
from dashboard.core.vocab import ROLE_LABELS, ROLES
from dashboard.evidence import integrity
from dashboard.evidence import retention as footage_retention
from dashboard.footage.storage import Store
from dashboard.geo.reference import districts_geojson, small_areas_geojson
from dashboard.pages import Page
from dashboard.registry import audit, retention
from dashboard.registry.database import transaction
from dashboard.registry.models import AuditEvent, utcnow
from dashboard.runtime_access import runtime
from dashboard.security import audit_flags, audit_review
from dashboard.security.audit_review import AREA_LEVELS, NO_ROLE, FilterError, uk_text
from dashboard.security.search_places import SearchPlaces

PREFIX = "audit-"
PATH = "/audit"
FROM, TO, USER, ROLE, ACTIONS, CASE = (
    "audit-from",
    "audit-to",
    "audit-user",
    "audit-role",
    "audit-actions",
    "audit-case",
)
LEVEL, AREA, AREA_NOTE, FILTER_MSG, FILTER = (
    "audit-level",
    "audit-area",
    "audit-area-note",
    "audit-filter-msg",
    "audit-filter",
)
LOG, SHOWING, NEWER, OLDER, PAGE_NO, EXPORT = (
    "audit-log",
    "audit-showing",
    "audit-newer",
    "audit-older",
    "audit-page",
    "audit-export",
)
SUMMARY = "audit-summary"
MAP, MAP_LAYER, MAP_LEVEL, MAP_LEGEND, MAP_NOTE = (
    "audit-map",
    "audit-map-layer",
    "audit-map-level",
    "audit-map-legend",
    "audit-map-note",
)
FLAGS, FLAG_NOTES, FLAG_ROWS, FLAG_ROWS_TITLE = (
    "audit-flags",
    "audit-flag-notes",
    "audit-flag-rows",
    "audit-flag-rows-title",
)
CHECK, CHECK_RESULT = "audit-check", "audit-check-result"
RETENTION, RETENTION_REFRESH = "audit-retention", "audit-retention-refresh"
EVIDENCE_LAST, EVIDENCE_CHECK, EVIDENCE_RESULT = "audit-evidence-last", "audit-evidence-check", "audit-evidence-result"
DEFAULT_DAYS = 30
MAX_FLAGS_SHOWN = 500
FLAGS_TTL_S = 120
ANY = "any"

# Wrapped cells grow to fit their text, with ordinary line spacing (the grid's is one 40 px line).
WRAP = {
    "wrapText": True,
    "autoHeight": True,
    "cellStyle": {"lineHeight": "1.4", "paddingTop": "8px", "paddingBottom": "8px", "wordBreak": "break-word"},
}
LOG_COLUMNS = [
    {"field": "id", "headerName": "Row", "width": 85, "minWidth": 85, "type": "numericColumn"},  # an id: no separator
    {"field": "when", "headerName": "When (UK)", "width": 185, "minWidth": 185},
    {"field": "username", "headerName": "User", "width": 140, "minWidth": 140, "tooltipField": "username"},
    {"field": "role", "headerName": "Role", "width": 95, "minWidth": 95},
    {"field": "action_label", "headerName": "Action", "width": 170, "tooltipField": "action", **WRAP},
    {"field": "case_ref", "headerName": "Case", "width": 150, **WRAP},
    {"field": "reason", "headerName": "Reason", "flex": 2, "minWidth": 200, **WRAP},
    {"field": "detail", "headerName": "Detail", "flex": 2, "minWidth": 200, **WRAP},
    {"field": "area", "headerName": "Search area", "width": 160, **WRAP},
    {"field": "subjects", "headerName": "Subjects (ids)", "width": 150, **WRAP},
]
SUMMARY_COLUMNS = [
    {"field": "username", "headerName": "User", "minWidth": 140},
    {"field": "roles", "headerName": "Role", "minWidth": 90},
    *[
        number_column(field, header, minWidth=112, **extra)
        for field, header, extra in (  # room for the longest word
            ("searches", "Searches", {}),
            ("reveals", "Contact reveals", {}),
            ("exports", "Exports", {}),
            ("requests_created", "Requests sent", {}),
            ("status_changes", "Status changes", {}),
            ("failed_logins", "Failed logins", {}),
            (
                "aggregate_queries",
                "Figure queries",
                {
                    "headerTooltip": "Figures analysts and project leads asked for: pages opened, filters changed, API calls"
                },
            ),
            (
                "aggregate_exports",
                "Figure exports",
                {"headerTooltip": "Files of figures analysts and project leads downloaded: exports and reports"},
            ),
            ("other", "Other", {}),
            ("total", "All", {}),
        )
    ],
    {"field": "last_activity", "headerName": "Last activity (UK)", "minWidth": 180},
]
FLAG_COLUMNS = [
    {"field": "title", "headerName": "Flag", "width": 190, **WRAP},
    {"field": "users", "headerName": "User", "width": 130, **WRAP},
    {"field": "cases", "headerName": "Case", "width": 150, **WRAP},
    {"field": "when", "headerName": "When (UK)", "width": 170, **WRAP},
    {"field": "why", "headerName": "Why it is shown", "flex": 1, "minWidth": 320, **WRAP},
    {"field": "rows", "headerName": "Rows", "width": 80, "type": "numericColumn", "valueFormatter": figure()},
]

# One index of search places per database (and so per app), built on first use.
_PLACES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def places() -> SearchPlaces:
    rt = runtime()
    found = _PLACES.get(rt.engine)
    if found is None or found.ref is not rt.reference:
        found = _PLACES[rt.engine] = SearchPlaces(rt.reference)
    return found


def _today() -> dt.date:
    return dt.datetime.now(audit_review.UK).date()


def _values(start, end, user, role, actions, case, level, area) -> dict:
    """Page controls as filter values; "any" means no filter, and an area level with no area chosen
    means no area filter."""
    level = None if level == ANY else level
    return {
        "from": start,
        "to": end,
        "user": user,
        "role": None if role == ANY else role,
        "action": actions or [],
        "case": case,
        "level": level if area else None,
        "area": area if level else None,
    }


def _grid(grid_id: str, columns: list[dict], empty: str, **kwargs) -> dag.AgGrid:
    options = {
        "localeText": {"noRowsToShow": empty},
        "animateRows": False,
        "enableCellTextSelection": True,
        "tooltipShowDelay": 300,
        **kwargs.pop("options", {}),
    }
    return dag.AgGrid(
        id=grid_id,
        columnDefs=columns,
        rowData=[],
        # minWidth: on a phone the columns keep a readable width and the grid scrolls
        # sideways in its own box, rather than being fitted to initials.
        defaultColDef={
            "minWidth": 100,
            "resizable": True,
            "sortable": False,
            "wrapHeaderText": True,
            "autoHeaderHeight": True,
        },
        dashGridOptions=options,
        style=kwargs.pop("style", {"height": "520px", "width": "100%"}),
        **kwargs,
    )


def _filters(rt, users: list[str], actions: list[str]) -> dbc.Card:
    today = _today()
    col = lambda width, *children: dbc.Col(list(children), md=width)  # noqa: E731
    return dbc.Card(
        dbc.CardBody(
            [
                dbc.Row(
                    [
                        col(
                            2,
                            dbc.Label("From (UK date)", html_for=FROM),
                            dbc.Input(
                                id=FROM, type="date", value=(today - dt.timedelta(days=DEFAULT_DAYS - 1)).isoformat()
                            ),
                        ),
                        col(
                            2,
                            dbc.Label("To (UK date)", html_for=TO),
                            dbc.Input(id=TO, type="date", value=today.isoformat()),
                        ),
                        col(
                            2,
                            dbc.Label("User", html_for=USER),
                            dcc.Dropdown(id=USER, options=users, placeholder="Anyone", clearable=True),
                        ),
                        col(
                            2,
                            dbc.Label("Role", html_for=ROLE),
                            dbc.Select(
                                id=ROLE,
                                value=ANY,
                                options=[
                                    {"label": "Any", "value": ANY},
                                    *[{"label": ROLE_LABELS[r], "value": r} for r in ROLES],
                                    {"label": "No role (public, system, failed logins)", "value": NO_ROLE},
                                ],
                            ),
                        ),
                        col(
                            4,
                            dbc.Label("Actions", html_for=ACTIONS),
                            dcc.Dropdown(
                                id=ACTIONS,
                                multi=True,
                                placeholder="All actions",
                                options=[{"label": audit_review.ACTION_LABELS.get(a, a), "value": a} for a in actions],
                            ),
                        ),
                    ],
                    className="g-2 mb-2",
                ),
                dbc.Row(
                    [
                        col(
                            3,
                            dbc.Label("Case reference", html_for=CASE),
                            dbc.Input(
                                id=CASE,
                                placeholder=rt.settings.case_ref_example,
                                debounce=True,
                                autoComplete="off",
                                maxLength=40,
                            ),
                        ),
                        col(
                            3,
                            dbc.Label("Area of the search", html_for=LEVEL),
                            dbc.Select(
                                id=LEVEL,
                                value=ANY,
                                options=[
                                    {"label": "Any area", "value": ANY},
                                    *[{"label": v, "value": k} for k, v in AREA_LEVELS.items()],
                                ],
                            ),
                        ),
                        col(
                            6,
                            dbc.Label("Area", html_for=AREA),
                            dcc.Dropdown(id=AREA, options=[], placeholder="Choose an area level first", clearable=True),
                        ),
                    ],
                    className="g-2",
                ),
                html.P(id=AREA_NOTE, className="small text-secondary mt-2 mb-0"),
                html.Div(id=FILTER_MSG, role="status", **{"aria-live": "polite"}),
            ]
        ),
        className="mb-3",
    )


def _rules() -> html.Ul:
    return html.Ul(
        [html.Li([html.Strong(title + ": "), text]) for title, text in audit_flags.RULES.values()], className="small"
    )


def layout(rt, _user) -> html.Div:
    with rt.sessions() as s:
        users, actions = audit_review.filter_choices(s)
        last_evidence_check = integrity.last_check(s)
    return html.Div(
        [
            html.H1("Audit log", className="h3 mb-1"),
            html.P(
                "Who looked at what, when and why: every search, contact reveal, footage request and export, with its "
                "case reference and reason; every figure an analyst or project lead asked for or downloaded, with "
                "its filters; and every login. Times are UK time.",
                className="text-secondary",
            ),
            _filters(rt, users, actions),
            dcc.Store(id=FILTER),
            dcc.Store(id=PAGE_NO, data=0),
            dbc.Card(
                dbc.CardBody(
                    [
                        html.H2("Log", className="h5"),
                        dbc.Row(
                            [
                                dbc.Col(html.P(id=SHOWING, className="mb-2", role="status"), md=True),
                                dbc.Col(
                                    [
                                        dbc.Button(
                                            "Newer",
                                            id=NEWER,
                                            color="secondary",
                                            outline=True,
                                            size="sm",
                                            n_clicks=0,
                                            className="me-2",
                                        ),
                                        dbc.Button(
                                            "Older", id=OLDER, color="secondary", outline=True, size="sm", n_clicks=0
                                        ),
                                    ],
                                    md="auto",
                                ),
                            ],
                            className="align-items-center",
                        ),
                        loading(
                            _grid(
                                LOG,
                                LOG_COLUMNS,
                                "No rows match these filters.",
                                getRowId="params.data.id.toString()",
                                columnSize="responsiveSizeToFit",
                            )
                        ),
                        html.P(
                            [
                                html.A(
                                    "Download these rows as CSV",
                                    id=EXPORT,
                                    href=f"{PATH}/export.csv",
                                    download="",
                                    className="me-2",
                                ),
                                html.Span(
                                    "(the whole filtered period, oldest first, with each row's hashes; the download is "
                                    "itself recorded in the log)",
                                    className="text-secondary",
                                ),
                            ],
                            className="small mt-2 mb-0",
                        ),
                    ]
                ),
                className="mb-3",
            ),
            dbc.Card(
                dbc.CardBody(
                    [
                        html.H2("Activity by user", className="h5"),
                        _grid(
                            SUMMARY,
                            SUMMARY_COLUMNS,
                            "Nobody did anything that matches.",
                            style={"height": "320px", "width": "100%"},
                            columnSize="responsiveSizeToFit",
                        ),
                    ]
                ),
                className="mb-3",
            ),
            dbc.Card(
                dbc.CardBody(
                    [
                        html.H2("Searches by area", className="h5"),
                        dbc.RadioItems(
                            id=MAP_LEVEL,
                            inline=True,
                            value="district",
                            options=[{"label": v, "value": k} for k, v in AREA_LEVELS.items()],
                        ),
                        html.Div(
                            [
                                loading(
                                    area_map(
                                        MAP,
                                        rt.reference,
                                        rt.settings,
                                        [
                                            dl.GeoJSON(
                                                id=MAP_LAYER,
                                                data={"type": "FeatureCollection", "features": []},
                                                style=js("districtStyle"),
                                                hoverStyle=js("districtHover"),
                                            )
                                        ],
                                        height="440px",
                                    )
                                ),
                                html.Div(id=MAP_LEGEND),
                            ],
                            className="map-wrap mt-2",
                        ),
                        html.P(id=MAP_NOTE, className="small text-secondary mt-2 mb-0"),
                    ]
                ),
                className="mb-3",
            ),
            dbc.Card(
                dbc.CardBody(
                    [
                        html.H2("Flags worth a look", className="h5"),
                        html.P(
                            "Patterns that may be innocent but deserve a question. The period and the user, role and case "
                            "filters apply; the action and area filters do not.",
                            className="small text-secondary mb-1",
                        ),
                        _rules(),
                        html.Div(id=FLAG_NOTES, className="small text-secondary"),
                        _grid(
                            FLAGS,
                            FLAG_COLUMNS,
                            "No flags in this period.",
                            getRowId="params.data.key",
                            columnSize="responsiveSizeToFit",
                            style={"height": "420px", "width": "100%"},
                            options={
                                "rowSelection": {"mode": "singleRow", "enableClickSelection": True, "checkboxes": False}
                            },
                        ),
                        html.H3("Select a flag to see the rows behind it", id=FLAG_ROWS_TITLE, className="h6 mt-3"),
                        _grid(
                            FLAG_ROWS,
                            LOG_COLUMNS,
                            "Select a flag above.",
                            getRowId="params.data.id.toString()",
                            columnSize="responsiveSizeToFit",
                            style={"height": "300px", "width": "100%"},
                        ),
                    ]
                ),
                className="mb-3",
            ),
            dbc.Card(
                dbc.CardBody(
                    [
                        html.H2("Integrity of the log", className="h5"),
                        html.P(
                            "Each row carries a hash of its content chained to the row before, so an edit, a deletion or an "
                            "insertion anywhere breaks the chain from there on. Removing the newest rows leaves no break: "
                            "compare the row count with earlier checks, which are themselves in the log.",
                            className="small text-secondary",
                        ),
                        dbc.Button("Check the log's integrity", id=CHECK, color="primary", n_clicks=0),
                        dcc.Loading(html.Div(id=CHECK_RESULT, className="mt-3", role="status"), type="dot"),
                    ]
                ),
                className="mb-3",
            ),
            dbc.Card(
                dbc.CardBody(
                    [
                        dbc.Row(
                            [
                                dbc.Col(html.H2("Retention and erasure", className="h5"), md=True),
                                dbc.Col(
                                    dbc.Button(
                                        "Refresh",
                                        id=RETENTION_REFRESH,
                                        color="secondary",
                                        outline=True,
                                        size="sm",
                                        n_clicks=0,
                                    ),
                                    md="auto",
                                ),
                            ],
                            className="align-items-center",
                        ),
                        html.P(
                            f"Registrations are kept while their owners confirm them every {rt.settings.retention_months} "
                            f"months; the nightly retention run reminds, then erases after {rt.settings.retention_grace_days} "
                            f"days. Owners' footage: declined files are deleted {rt.settings.evidence_declined_days} days "
                            f"after the decision, files of closed cases {rt.settings.evidence_closed_case_days} days after "
                            "closing. Counts as of now, for the whole register (the filters above do not apply).",
                            className="small text-secondary",
                        ),
                        dcc.Loading(html.Div(id=RETENTION), type="dot"),
                    ]
                ),
                className="mb-3",
            ),
            dbc.Card(
                dbc.CardBody(
                    [
                        html.H2("Evidence integrity", className="h5"),
                        html.P(
                            "Every stored footage file is re-hashed and compared with the SHA-256 recorded when it arrived "
                            "(nightly by 'python -m dashboard evidence check', or now). Counts and file ids only: no footage "
                            "is shown. A large store takes minutes.",
                            className="small text-secondary",
                        ),
                        html.Div(_evidence_last(last_evidence_check), id=EVIDENCE_LAST, className="mb-2"),
                        dbc.Button("Check all stored evidence now", id=EVIDENCE_CHECK, color="primary", n_clicks=0),
                        dcc.Loading(html.Div(id=EVIDENCE_RESULT, className="mt-3", role="status"), type="dot"),
                    ]
                ),
                className="mb-3",
            ),
        ]
    )


def _gigabytes(n: int) -> str:
    return f"{n / 1e9:,.2f} GB" if n >= 1e8 else f"{n / 1e6:,.1f} MB"


def _evidence_summary(detail: dict) -> str:
    """'12 files (10 distinct contents, 3.20 GB): 11 match, 1 changed, 0 missing.' from a check's detail."""
    number = lambda key: detail.get(key) if isinstance(detail.get(key), int) else 0  # noqa: E731
    return (
        f"{_count(number('files'), 'file')} ({_count(number('contents'), 'distinct content')}, "
        f"{_gigabytes(number('bytes'))}): {number('ok'):,} match, {number('mismatch'):,} changed, "
        f"{number('missing'):,} missing."
    )


def _bad_ids(detail: dict) -> list:
    out = []
    for key, label in (
        ("mismatch_ids", "Changed (bytes no longer match their hash)"),
        ("missing_ids", "Missing from the store"),
    ):
        ids = [str(i) for i in detail.get(key) or [] if isinstance(i, str)]
        if ids:
            out.append(html.P([html.Strong(label + ": "), ", ".join(ids)], className="mb-1 small"))
    return out


def _evidence_last(last: integrity.LastCheck | None) -> html.Div:
    if last is None:
        return html.P("No check of the stored evidence has been run yet.", className="mb-0", id="audit-evidence-never")
    bad = bool(last.detail.get("mismatch") or last.detail.get("missing"))
    return html.Div(
        [
            html.P(
                [
                    html.Strong("Last check: "),
                    f"{uk_text(last.when, seconds=False)} (UK) by {last.username or 'system'}: ",
                    _evidence_summary(last.detail),
                ],
                className="mb-1" + (" text-danger" if bad else ""),
            ),
            *_bad_ids(last.detail),
        ]
    )


def _evidence_view(result: integrity.StoreCheck) -> dbc.Alert:
    detail = result.as_detail()
    head = (
        "Every stored file matches its hash. "
        if result.intact
        else "Some stored files are not the ones their owners gave. "
    )
    return dbc.Alert(
        [
            html.Strong(head),
            _evidence_summary(detail),
            f" Checked in {result.seconds:.1f} s; recorded in the log (row {result.audit_id}).",
            *_bad_ids(detail),
        ],
        color="success" if result.intact else "danger",
        className="mb-0",
        id="audit-evidence-ok" if result.intact else "audit-evidence-bad",
    )


def _check_view(result: audit.LogCheck, previous: dict | None) -> html.Div:
    check = result.chain
    speed = (
        f"{_count(check.rows_checked, 'row')} checked in {check.elapsed_s:.2f} s "
        f"({check.rows_per_s:,.0f} rows a second)"
    )
    before = []
    if previous:
        d = previous["detail"]
        before = [
            html.P(
                f"Previous check: {previous['when']} by {previous['username']}: "
                f"{d.get('rows_checked', '?'):,} rows, "
                f"{'intact' if d.get('intact') else 'broken at row ' + str(d.get('first_broken_id'))}"
                f"{', newest row ' + str(d['last_id']) if d.get('last_id') else ''}.",
                className="small mb-0",
            )
        ]
    anchored = (
        f" It agrees with {_count(result.checkpoints_checked, 'signed checkpoint')} kept outside the database."
        if result.checkpoints_checked
        else ""
    )
    if result.intact:
        return html.Div(
            [
                dbc.Alert(
                    [html.Strong("The chain is intact. "), f"{speed}; newest row {check.last_id or '–'}.", anchored],
                    color="success",
                    id="audit-check-ok",
                    className="mb-2",
                ),
                *before,
            ]
        )
    anchor_problems = [html.Li(p) for p in result.problems]
    if check.intact:
        return html.Div(
            [
                dbc.Alert(
                    [
                        html.Strong("The log does not match its checkpoints. "),
                        html.Span(
                            "Every row links to the one before, but what is kept outside the database says otherwise:",
                            id="audit-check-broken",
                        ),
                        html.Ul(anchor_problems, className="mb-1"),
                        html.Span(f"{speed}.", className="small"),
                    ],
                    color="danger",
                    className="mb-2",
                ),
                *before,
            ]
        )
    content = audit.BROKEN_CONTENT in (check.problem or "")
    link = audit.BROKEN_LINK in (check.problem or "")
    what = []
    if content:
        what.append(html.Li("Its content no longer gives its stored hash: this row was edited after it was written."))
    if link:
        prior = f"row {check.previous_id}" if check.previous_id else "the start of the log"
        what.append(
            html.Li(
                f"Its link to the previous row ({prior}) "
                "does not match that row's hash: a row was deleted or inserted just before it, or the "
                "previous row was rewritten with a new hash."
            )
        )
    return html.Div(
        [
            dbc.Alert(
                [
                    html.Strong("The chain is broken. "),
                    html.Span(f"First broken row: {check.first_broken_id}", id="audit-check-broken"),
                    f" ({uk_text(check.broken_at)}, {check.broken_username or 'no user'}, {check.broken_action}). ",
                    "What does not match:",
                    html.Ul(what + anchor_problems, className="mb-1"),
                    html.Span(f"{speed}; the check stops at the first break.", className="small"),
                ],
                color="danger",
                className="mb-2",
            ),
            *before,
        ]
    )


def _flag_rows(report: audit_flags.FlagReport) -> list[dict]:
    rows = []
    for i, flag in enumerate(report.flags[:MAX_FLAGS_SHOWN]):
        first, last = uk_text(flag.first_at, seconds=False), uk_text(flag.last_at, seconds=False)
        span = first if first == last else f"{first} to {last[11:] if last[:10] == first[:10] else last}"
        rows.append(
            {
                "key": f"{flag.kind}-{i}",
                "title": flag.title,
                "users": ", ".join(flag.users),
                "cases": ", ".join(flag.case_refs),
                "when": span,
                "why": flag.why,
                "rows": len(flag.row_ids),
                "row_ids": list(flag.row_ids),
            }
        )
    return rows


def _flags(f: audit_review.AuditFilter) -> audit_flags.FlagReport:
    """The flags of ``f``: every flag of its period is worked out once per state of the log (newest
    row) and minute, so choosing a user, role or case after it only narrows the list."""
    rt = runtime()
    start, end, notes = audit_flags.flag_period(f)
    now = utcnow()
    with rt.sessions() as s:
        newest = s.scalar(sa.select(sa.func.max(AuditEvent.id)))
        key = f"audit-flags:{id(rt.engine)}:{start.isoformat()}:{end.isoformat()}:{newest}:{now:%Y%m%d%H%M}"
        report = cache.get(key)
        if report is None:
            inputs = audit_flags.load_inputs(s, start, end, now, places())
            report = audit_flags.flags_for(inputs, start, end, now)
            cache.set(key, report, timeout=FLAGS_TTL_S)
    return audit_flags.narrow(report, f, notes)


def _count(n: int, word: str, many: str | None = None) -> str:
    return f"{n:,} {word if n == 1 else many or word + 's'}"


def _filter_or_none(data) -> audit_review.AuditFilter | None:
    if not isinstance(data, dict):
        return None
    try:
        return audit_review.parse_filter(data, runtime().reference)
    except FilterError:
        return None


def retention_now(_clicks):
    """The retention summary as it stands now: registrations and footage kept, and what the next runs delete."""
    rt = runtime()
    now = utcnow()
    with rt.sessions() as s:
        summary = retention.retention_summary(s, now, rt.settings.retention_months, rt.settings.retention_grace_days)
        footage = footage_retention.holdings(s, now, footage_retention.Periods.from_settings(rt.settings))
    return retention_table(summary, footage)


def check_evidence(clicks):
    """Check every evidence file against its recorded digest (the check is logged as the auditor's), and
    show the result and the last check; nothing before a press."""
    if not clicks:
        return no_update, no_update
    rt = runtime()
    result = integrity.check_store(rt.sessions, Store(rt.settings.evidence_dir), current_user.actor, utcnow())
    with rt.sessions() as s:
        last = integrity.last_check(s)
    return _evidence_view(result), _evidence_last(last)


def area_options(level) -> dict:
    """The areas to choose from at ``level`` (districts, or LSOAs named with their district), the choice
    cleared; no areas for a level that is not offered."""
    ref = runtime().reference
    if level not in AREA_LEVELS:
        return {"options": [], "value": None, "placeholder": "Choose an area level first"}
    if level == "district":
        options = [{"label": n, "value": c} for c, n in zip(ref.districts["code"], ref.districts["name"])]
    else:
        names = dict(zip(ref.districts["code"], ref.districts["name"]))
        options = [
            {"label": f"{c} {n} ({names.get(d, d)})", "value": c}
            for c, n, d in zip(ref.small_areas["code"], ref.small_areas["name"], ref.small_areas["district_code"])
        ]
    return {"options": options, "value": None, "placeholder": f"Choose a {AREA_LEVELS[level].lower()}"}


def show_log(start, end, user, role, actions, case, level, area, _newer, _older, page, trigger=None) -> dict:
    """One page of the log rows the filters choose, newest first, with the paging buttons' state, the
    export link and the filter the other panels draw from. ``trigger`` is the id of the control that
    changed: the "newer"/"older" buttons turn the page (``page`` is the page shown) and leave the other
    panels as they are; any other change starts again at the newest page. Filters that cannot be read
    get a message, and every panel is emptied."""
    rt = runtime()
    values = _values(start, end, user, role, actions, case, level, area)
    note = (
        "Only searches carry a place (their centre), so with an area chosen only searches are shown: "
        "reveals, requests, exports and logins are not. Clear the area to see them."
        if values["area"]
        else ""
    )
    try:
        f = audit_review.parse_filter(values, rt.reference)
    except FilterError as exc:
        message = dbc.Alert(
            f"Cannot show the log: {exc}.", color="warning", id="audit-filter-error", className="mt-2 mb-0"
        )
        return {
            "rows": [],
            "showing": "",
            "page": 0,
            "newer_disabled": True,
            "older_disabled": True,
            "message": message,
            "area_note": note,
            "export": f"{PATH}/export.csv",
            "filter": None,
        }
    paging = trigger in (NEWER, OLDER)
    page = int(page or 0) if paging and isinstance(page, int) else 0
    page += {NEWER: -1, OLDER: 1}.get(trigger, 0)
    with rt.sessions() as s:
        shown = audit_review.log_page(s, f, places(), page)
    showing = (
        f"Rows {shown.first:,}–{shown.last:,} of {shown.total:,}, newest first"
        if shown.total
        else "No rows match these filters."
    )
    return {
        "rows": shown.rows,
        "showing": showing,
        "page": shown.page,
        "newer_disabled": shown.page == 0,
        "older_disabled": shown.page >= shown.pages - 1,
        "message": None,
        "area_note": note,
        "export": f"{PATH}/export.csv?{urlencode(f.args(), doseq=True)}",
        "filter": no_update if paging else f.args(),
    }


def summarise_users(data):
    """Each user's activity under the filter ``data`` (as ``show_log`` stored it); none without one."""
    f = _filter_or_none(data)
    if f is None:
        return []
    with runtime().sessions() as s:
        return audit_review.user_summary(s, f, places()).to_dict("records")


def map_searches(data, level) -> dict:
    """How many searches under the filter ``data`` were centred in each area at ``level`` (districts unless
    "lsoa"), as a map with its legend and a note of those outside the force or without a centre. Counts
    per area only: no search's point is drawn."""
    f = _filter_or_none(data)
    level = level if level in AREA_LEVELS else "district"
    if f is None:
        return {"layer": {"type": "FeatureCollection", "features": []}, "legend": None, "note": ""}
    rt = runtime()
    with rt.sessions() as s:
        table, missing = audit_review.searches_by_area(s, f, places(), level)
    base = small_areas_geojson(rt.reference) if level == "lsoa" else districts_geojson(rt.reference)
    counts = {r.code: float(r.searches) for r in table.itertuples() if r.searches > 0}
    tips = {
        r.code: f"{_count(r.searches, 'search', 'searches')} by {_count(r.users, 'user')} in {_count(r.cases, 'case')}"
        if r.searches
        else "no searches"
        for r in table.itertuples()
    }
    layer, breaks = choropleth(base, counts, tips)
    key = legend("Searches in the period", breaks, min(counts.values(), default=0.0), "no searches")
    total = int(table["searches"].sum())
    note = (
        f"{_count(total, 'search', 'searches')} placed by {'its centre' if total == 1 else 'their centres'} "
        f"in {sum(1 for v in counts.values() if v):,} of {len(table):,} areas"
    )
    extra = [
        f"{missing['outside']:,} centred outside the force area" if missing["outside"] else "",
        f"{missing['no_centre']:,} logged without a centre" if missing["no_centre"] else "",
    ]
    note += "".join(f"; {e}" for e in extra if e)
    return {"layer": layer, "legend": key, "note": note + ". Counts per area only: no search's point is drawn."}


def list_flags(data):
    """The flags raised under the filter ``data`` (the newest MAX_FLAGS_SHOWN) and a note of how many."""
    f = _filter_or_none(data)
    if f is None:
        return [], ""
    report = _flags(f)
    n = len(report.flags)
    text = f"{n:,} flag{'s' if n != 1 else ''} in this period."
    if n > MAX_FLAGS_SHOWN:
        text += (
            f" The newest {MAX_FLAGS_SHOWN:,} are listed: choose a user, a case or a shorter period to see the rest."
        )
    notes = [html.P(note, className="mb-1") for note in report.notes]
    return _flag_rows(report), [html.P(text, className="mb-1", id="audit-flag-count"), *notes]


def show_flag_rows(selected):
    """The log rows behind the flag selected (only whole-number row ids are looked up), and the title."""
    if not selected or not isinstance(selected, list) or not isinstance(selected[0], dict):
        return [], "Select a flag to see the rows behind it"
    ids = [i for i in selected[0].get("row_ids") or [] if isinstance(i, int) and not isinstance(i, bool)]
    with runtime().sessions() as s:
        rows = audit_review.rows_by_id(s, ids, places())
    return rows, f"Rows behind the flag ({len(rows):,}{' shown' if len(rows) < len(ids) else ''})"


def verify_chain(clicks):
    """Verify the audit log's hash chain and checkpoints, record the check (``audit_verified``, as the
    auditor), and show the result beside the previous check; nothing before a press."""
    if not clicks:
        return no_update
    rt = runtime()
    with rt.sessions() as s:
        previous = audit_review.last_check(s)
        result = audit.verify_log(s)
    chain = result.chain
    with transaction(rt.sessions) as s:
        audit.record(
            s,
            current_user.actor,
            "audit_verified",
            detail={
                "rows_checked": chain.rows_checked,
                "intact": result.intact,
                "first_broken_id": chain.first_broken_id,
                "problem": chain.problem,
                "last_id": chain.last_id,
                "seconds": round(chain.elapsed_s, 3),
                "checkpoints": result.checkpoints_checked,
                "checkpoint_problems": list(result.problems[:20]),
            },
        )
    return _check_view(result, previous)


def register_callbacks(app) -> None:
    app.callback(Output(RETENTION, "children"), Input(RETENTION_REFRESH, "n_clicks"))(retention_now)
    app.callback(
        Output(EVIDENCE_RESULT, "children"),
        Output(EVIDENCE_LAST, "children"),
        Input(EVIDENCE_CHECK, "n_clicks"),
        prevent_initial_call=True,
    )(check_evidence)
    app.callback(
        output={
            "options": Output(AREA, "options"),
            "value": Output(AREA, "value"),
            "placeholder": Output(AREA, "placeholder"),
        },
        inputs=[Input(LEVEL, "value")],
        prevent_initial_call=True,
    )(area_options)
    app.callback(
        output={
            "rows": Output(LOG, "rowData"),
            "showing": Output(SHOWING, "children"),
            "page": Output(PAGE_NO, "data"),
            "newer_disabled": Output(NEWER, "disabled"),
            "older_disabled": Output(OLDER, "disabled"),
            "message": Output(FILTER_MSG, "children"),
            "area_note": Output(AREA_NOTE, "children"),
            "export": Output(EXPORT, "href"),
            "filter": Output(FILTER, "data"),
        },
        inputs=[
            Input(FROM, "value"),
            Input(TO, "value"),
            Input(USER, "value"),
            Input(ROLE, "value"),
            Input(ACTIONS, "value"),
            Input(CASE, "value"),
            Input(LEVEL, "value"),
            Input(AREA, "value"),
            Input(NEWER, "n_clicks"),
            Input(OLDER, "n_clicks"),
        ],
        state=[State(PAGE_NO, "data")],
    )(lambda *values: show_log(*values, trigger=ctx.triggered_id))
    app.callback(Output(SUMMARY, "rowData"), Input(FILTER, "data"), prevent_initial_call=True)(summarise_users)
    app.callback(
        output={
            "layer": Output(MAP_LAYER, "data"),
            "legend": Output(MAP_LEGEND, "children"),
            "note": Output(MAP_NOTE, "children"),
        },
        inputs=[Input(FILTER, "data"), Input(MAP_LEVEL, "value")],
        prevent_initial_call=True,
    )(map_searches)
    app.callback(
        Output(FLAGS, "rowData"), Output(FLAG_NOTES, "children"), Input(FILTER, "data"), prevent_initial_call=True
    )(list_flags)
    app.callback(
        Output(FLAG_ROWS, "rowData"),
        Output(FLAG_ROWS_TITLE, "children"),
        Input(FLAGS, "selectedRows"),
        prevent_initial_call=True,
    )(show_flag_rows)
    app.callback(Output(CHECK_RESULT, "children"), Input(CHECK, "n_clicks"), prevent_initial_call=True)(verify_chain)


files = Blueprint("audit_files", __name__)


@files.get(f"{PATH}/export.csv")
def export():
    """The filtered period's rows as CSV (auditors only: the access guard admits this page's roles).
    The export is recorded (``audit_export``) with its filters and row count before it is sent."""
    rt = runtime()
    args = request.args.to_dict(flat=False)
    try:
        audit_review.check_export_args(args)
        f = audit_review.parse_filter(args, rt.reference)
    except FilterError as exc:
        return Response(f"Cannot export: {exc}.", status=400, mimetype="text/plain")
    with transaction(rt.sessions) as s:
        count, upto = audit_review.export_size(s, f, places())
        audit.record(
            s, current_user.actor, "audit_export", detail={"filters": f.args(), "rows": count, "upto_id": upto}
        )
    found = places()

    def body():
        with rt.sessions() as s:
            yield from audit_review.export_lines(s, f, found, upto)

    name = f"audit-log-{f.date_from.isoformat()}-to-{f.date_to.isoformat()}.csv"
    return Response(
        body(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )


PAGE = Page(
    path=PATH,
    title="Audit log",
    roles=frozenset({"auditor"}),
    id_prefix=PREFIX,
    layout=layout,
    register_callbacks=register_callbacks,
)
