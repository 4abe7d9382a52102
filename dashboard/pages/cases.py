"""My cases: an officer's footage requests by case, their status, and the case's contact list export."""

from __future__ import annotations

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import ClientsideFunction, Input, Output, State, dcc, html, no_update
from flask_login import current_user
from pydantic import ValidationError

from dashboard.api.endpoints import field_errors
from dashboard.api.schemas import CaseContext, validation_context
from dashboard.components.search_views import uk_time
from dashboard.core.vocab import CAMERA_KINDS, REQUEST_STATUSES
from dashboard.delivery.worker import wake
from dashboard.evidence import cases as case_files
from dashboard.evidence import triage
from dashboard.pages import Page, case_evidence
from dashboard.registry import casework, public_ids
from dashboard.registry.channels import Channels
from dashboard.registry.database import transaction
from dashboard.registry.models import utcnow
from dashboard.runtime_access import runtime

PREFIX = "cases-"
CASES, REQUESTS, STATUS, USEFUL, NOTE = "cases-list", "cases-requests", "cases-status", "cases-useful", "cases-note"
UPDATE, UPDATE_MSG = "cases-update", "cases-update-msg"
PRESERVE, PRESERVE_MSG, REFRESH = "cases-preserve", "cases-preserve-msg", "cases-refresh"
REFRESH_MS = 10_000  # the request list follows deliveries and answers without reloading
EXPORT_REASON, EXPORT, EXPORT_MSG, DOWNLOAD = (
    "cases-export-reason",
    "cases-export",
    "cases-export-msg",
    "cases-download",
)
TITLE = "cases-title"
# On a phone the two grids are shown as cards with a radio button each; the grids' selectedRows stay
# the selection every callback reads (assets/js/results.js keeps the two in step).
CASE_CARDS, REQUEST_CARDS = "cases-list-cards", "cases-requests-cards"

CASE_COLUMNS = [
    {"field": "case_ref", "headerName": "Case", "minWidth": 140},
    {
        "field": "officer",
        "headerName": "Case officer",
        "minWidth": 110,
        "headerTooltip": "You, or the officer who added you to the case's team",
    },
    {"field": "state", "headerName": "State", "minWidth": 80},
    {"field": "requests", "headerName": "Requests", "type": "numericColumn", "minWidth": 90},
    {"field": "open", "headerName": "Awaiting reply", "type": "numericColumn", "minWidth": 90},
    {"field": "provided", "headerName": "Footage provided", "type": "numericColumn", "minWidth": 90},
    {
        "field": "to_triage",
        "headerName": "Files to triage",
        "type": "numericColumn",
        "minWidth": 90,
        "headerTooltip": "Files owners sent that await a decision",
    },
    {"field": "last_activity", "headerName": "Last activity", "minWidth": 120},
]
_WRAP = {"wrapText": True, "autoHeight": True}
REQUEST_COLUMNS = [
    {"field": "request_id", "headerName": "Request", "minWidth": 150},
    {"field": "camera_id", "headerName": "Camera", "minWidth": 150},
    {"field": "kind", "headerName": "Kind", "minWidth": 100, **_WRAP},
    {
        "field": "status",
        "headerName": "Status",
        "minWidth": 120,
        **_WRAP,
        "headerTooltip": "The request's status, and when it last changed",
    },
    {"field": "sent_at", "headerName": "Sent", "minWidth": 88, **_WRAP},
    {
        "field": "late",
        "headerName": "Late",
        "minWidth": 58,
        "headerTooltip": "Sent after the footage was likely overwritten",
    },
    {"field": "delivery", "headerName": "Delivery to the owner", "minWidth": 200, **_WRAP},
    {"field": "notice", "headerName": "Urgent notice", "minWidth": 88, **_WRAP},
    {"field": "opened", "headerName": "Link opened", "minWidth": 92, **_WRAP},
    {"field": "answer", "headerName": "Owner's answer", "minWidth": 130, **_WRAP},
    {
        "field": "files",
        "headerName": "Files",
        "type": "numericColumn",
        "minWidth": 60,
        "headerTooltip": "Files the owner uploaded that are stored",
    },
]
ANSWERS = {"footage": "Footage", "nothing": "Nothing recorded", "declined": "Would rather not"}
CHANNEL_WORDS = {"email": "email", "text": "text message"}


def _case_rows(user_id: int) -> list[dict]:
    """The user's own cases and those they are on the team of (issue 17), each with its case file's id."""
    rows = []
    with runtime().sessions() as s:
        seen = case_files.cases_for(s, user_id)
        waiting = triage.awaiting_by_case(s, [c.case_file_id for c in seen])
        frames = {}
        for c in seen:
            if c.officer_id not in frames:
                frames[c.officer_id] = {r.case_ref: r for r in casework.my_cases(s, c.officer_id).itertuples()}
            r = frames[c.officer_id].get(c.case_ref)
            if r is None:
                continue
            rows.append(
                {
                    "case_id": c.public_id,
                    "case_ref": c.case_ref,
                    "officer": "You" if c.own else c.officer,
                    "state": "Closed" if c.closed_at else "Open",
                    "requests": int(r.requests),
                    "open": int(r.open),
                    "provided": int(r.provided),
                    "to_triage": waiting.get(c.case_file_id, 0),
                    "last_activity": uk_time(r.last_activity),
                    "_sort": r.last_activity,
                }
            )
    rows.sort(key=lambda row: (row["officer"] != "You", -row.pop("_sort").timestamp()))
    return rows


def _case_officer(selected, user_id: int) -> tuple[str, int] | None:
    """(case reference, the case officer's id) of the selected case if the user may see it, else None.
    A row names its case file (``case_id``); a row with only a case reference means the user's own."""
    case_id = case_evidence.selected_case_id(selected)
    case_ref = _selected_case(selected) if not case_id else None
    if not case_id and not isinstance(case_ref, str):
        return None
    with runtime().sessions() as s:
        found = [
            c
            for c in case_files.cases_for(s, user_id)
            if (c.public_id == case_id if case_id else (c.own and c.case_ref == case_ref))
        ]
    return (found[0].case_ref, found[0].officer_id) if found else None


def delivery_text(p: casework.RequestProgress) -> str:
    """The delivery column: 'Sent by email at 01 Dec 2026 21:40', 'Failed: ... Retrying at ...', ..."""
    by = CHANNEL_WORDS.get(p.channel or "", p.channel or "")
    if p.delivery == "queued":
        if p.error:
            return f"Not sent yet: {p.error}. Retrying at {uk_time(p.retry_at)}."
        return f"Queued (by {by})"
    if p.delivery == "sending":
        return f"Sending by {by}"
    if p.delivery == "sent":
        return f"Sent by {by} at {uk_time(p.sent_at)}" + (" (not confirmed)" if p.error else "")
    if p.delivery == "failed":
        return f"Failed: {p.error or 'unknown reason'}. Phone the owner."
    if p.delivery == "cancelled":
        return f"Not sent: {p.error or 'cancelled'}"
    if p.delivery == "not_sent":
        if p.not_sent_reason == "phone_preferred":
            return "Not sent: the owner asked to be phoned. Ring them."
        return "Not delivered: no email or text service for this owner. Phone the owner."
    return "–"


def notice_text(p: casework.RequestProgress) -> str:
    if p.preservation is None:
        return "–"
    if p.preservation == "sent":
        return f"Sent {uk_time(p.preservation_sent_at)}"
    return {"queued": "Queued", "sending": "Sending", "failed": "Failed", "cancelled": "Cancelled"}.get(
        p.preservation, p.preservation
    )


def _request_rows(case_ref: str, user_id: int) -> list[dict]:
    with runtime().sessions() as s:
        frame = casework.case_requests(s, case_ref, user_id=user_id)
        progress = {p.request_id: p for p in casework.request_progress(s, user_id, case_ref=case_ref)}
    rows = []
    # Random public ids only: the integer ids are sequential and would date the registrations.
    for r in frame.itertuples():
        p = progress.get(int(r.request_id))
        rows.append(
            {
                "request_id": str(r.request_public_id),
                "camera_id": str(r.camera_public_id),
                "kind": CAMERA_KINDS.get(r.kind, r.kind) if isinstance(r.kind, str) else "Withdrawn (erased)",
                "status": REQUEST_STATUSES.get(r.status, r.status)
                + (f" ({uk_time(r.status_changed_at)})" if r.status_changed_at != r.sent_at else ""),
                "sent_at": uk_time(r.sent_at),
                "status_changed_at": uk_time(r.status_changed_at),
                "late": "Yes" if bool(r.footage_likely_overwritten) else "No",
                "delivery": delivery_text(p) if p else "–",
                "notice": notice_text(p) if p else "–",
                "opened": uk_time(p.opened_at) if p and p.opened_at else "–",
                "answer": f"{ANSWERS.get(p.answer, p.answer)} ({uk_time(p.answered_at)})" if p and p.answer else "–",
                "files": p.files_stored if p else 0,
            }
        )
    return rows


def _cards(cards_id: str, legend: str) -> html.Fieldset:
    return html.Fieldset(
        [
            html.Legend(legend, className="visually-hidden"),
            dbc.RadioItems(
                id=cards_id, options=[], value=None, className="result-cards", label_class_name="result-card-label"
            ),
        ],
        className="results-cards",
    )


def case_cards(rows: list[dict]) -> list[dict]:
    """The cases grid's rows as radio options (a phone's view of the grid), value the case file's id."""
    return [
        {
            "value": r["case_id"],
            "label": html.Span(
                [
                    html.Span(
                        [
                            html.Strong(str(r.get("case_ref", ""))),
                            html.Span(str(r.get("state", "")), className="ms-auto"),
                        ],
                        className="d-flex gap-2",
                    ),
                    html.Span(f"Case officer: {r.get('officer', '–')}", className="d-block"),
                    html.Span(
                        f"Requests {r.get('requests', 0)} · awaiting reply {r.get('open', 0)} · footage provided "
                        f"{r.get('provided', 0)} · files to triage {r.get('to_triage', 0)}",
                        className="d-block",
                    ),
                    html.Span(f"Last activity {r.get('last_activity', '–')}", className="d-block small text-secondary"),
                ],
                className="result-card-body",
            ),
        }
        for r in rows
        if isinstance(r, dict) and isinstance(r.get("case_id"), str)
    ]


def request_cards(rows: list[dict]) -> list[dict]:
    """The requests grid's rows as radio options, value the request's public id."""
    return [
        {
            "value": r["request_id"],
            "label": html.Span(
                [
                    html.Span(
                        [
                            html.Strong(str(r.get("kind", ""))),
                            html.Span(str(r.get("status", "")), className="ms-auto text-end"),
                        ],
                        className="d-flex gap-2",
                    ),
                    html.Span(
                        f"Sent {r.get('sent_at', '–')}" + (" · late" if r.get("late") == "Yes" else ""),
                        className="d-block",
                    ),
                    html.Span(f"Delivery: {r.get('delivery', '–')}", className="d-block"),
                    html.Span(
                        f"Urgent notice: {r.get('notice', '–')} · link opened {r.get('opened', '–')}",
                        className="d-block",
                    ),
                    html.Span(
                        f"Owner's answer: {r.get('answer', '–')} · files {r.get('files', 0)}", className="d-block"
                    ),
                    html.Span(
                        [
                            "Request ",
                            html.Span(str(r["request_id"]), className="text-nowrap"),
                            " · camera ",
                            html.Span(str(r.get("camera_id", "")), className="text-nowrap"),
                        ],
                        className="d-block small text-secondary",
                    ),
                ],
                className="result-card-body",
            ),
        }
        for r in rows
        if isinstance(r, dict) and isinstance(r.get("request_id"), str)
    ]


def _grid(grid_id: str, columns: list[dict], rows: list[dict], row_id: str, empty: str) -> dag.AgGrid:
    return dag.AgGrid(
        id=grid_id,
        columnDefs=columns,
        rowData=rows,
        getRowId=f"params.data.{row_id}.toString()",
        columnSize="responsiveSizeToFit",
        # minWidth: on a phone the columns keep a readable width and the grid scrolls
        # sideways in its own box, rather than being fitted to initials.
        defaultColDef={
            "minWidth": 110,
            "wrapHeaderText": True,
            "autoHeaderHeight": True,
            "cellStyle": {"lineHeight": "1.35", "paddingTop": "6px", "paddingBottom": "6px"},
        },
        dashGridOptions={
            "rowSelection": {"mode": "singleRow", "enableClickSelection": True},
            "domLayout": "autoHeight",
            "pagination": True,
            "paginationPageSize": 10,
            "paginationPageSizeSelector": False,
            "localeText": {"noRowsToShow": empty},
        },
        style={"width": "100%"},
    )


def layout(rt, user) -> html.Div:
    statuses = [{"label": v, "value": k} for k, v in REQUEST_STATUSES.items() if k != "sent"]
    return html.Div(
        [
            html.H1("My cases", className="h3 mb-3"),
            dbc.Card(
                dbc.CardBody(
                    [
                        html.H2("Cases with footage requests", className="h5"),
                        html.Div(
                            _grid(CASES, CASE_COLUMNS, _case_rows(user.id), "case_id", "No footage requests yet."),
                            className="results-grid",
                        ),
                        _cards(CASE_CARDS, "Choose a case"),
                    ]
                ),
                className="mb-3",
            ),
            dbc.Card(
                dbc.CardBody(
                    [
                        html.H2("Select a case above", className="h5", id=TITLE),
                        html.Div(
                            _grid(REQUESTS, REQUEST_COLUMNS, [], "request_id", "Select a case to see its requests."),
                            className="results-grid",
                        ),
                        _cards(REQUEST_CARDS, "Choose a request"),
                        dbc.Row(
                            [
                                dbc.Col(
                                    [
                                        dbc.Label("New status of the selected request", html_for=STATUS),
                                        dcc.Dropdown(id=STATUS, options=statuses, placeholder="Choose"),
                                    ],
                                    md=4,
                                ),
                                dbc.Col(
                                    [dbc.Label("Note (optional)", html_for=NOTE), dbc.Input(id=NOTE, maxLength=500)],
                                    md=4,
                                ),
                                dbc.Col(
                                    dbc.Checkbox(id=USEFUL, label="Footage was useful", value=False, className="mt-4"),
                                    md=2,
                                ),
                                dbc.Col(
                                    dbc.Button(
                                        "Update status", id=UPDATE, color="primary", n_clicks=0, className="mt-4"
                                    ),
                                    md=2,
                                ),
                            ],
                            className="g-2 mt-2",
                        ),
                        html.Div(id=UPDATE_MSG, className="mt-2", role="status", **{"aria-live": "polite"}),
                        dbc.Row(
                            [
                                dbc.Col(
                                    html.P(
                                        "Footage may be overwritten soon? Ask the owner of the selected request to keep "
                                        "it: a short urgent notice goes by email or text before (or after) the request.",
                                        className="small text-secondary mb-0",
                                    ),
                                    md=8,
                                ),
                                dbc.Col(
                                    dbc.Button(
                                        "Send urgent 'keep your footage' notice",
                                        id=PRESERVE,
                                        color="warning",
                                        outline=True,
                                        n_clicks=0,
                                    ),
                                    md=4,
                                    className="text-md-end",
                                ),
                            ],
                            className="g-2 mt-2 align-items-center",
                        ),
                        html.Div(id=PRESERVE_MSG, className="mt-2", role="status", **{"aria-live": "polite"}),
                        dcc.Interval(id=REFRESH, interval=REFRESH_MS, n_intervals=0),
                        html.Hr(),
                        html.H2("Contact list for the case", className="h6"),
                        dbc.Row(
                            [
                                dbc.Col(
                                    [
                                        dbc.Label("Reason for this export", html_for=EXPORT_REASON),
                                        dbc.Input(
                                            id=EXPORT_REASON, placeholder="e.g. to phone owners who have not replied"
                                        ),
                                    ],
                                    md=8,
                                ),
                                dbc.Col(
                                    dbc.Button(
                                        "Download CSV", id=EXPORT, color="secondary", n_clicks=0, className="mt-4"
                                    ),
                                    md=4,
                                ),
                            ],
                            className="g-2",
                        ),
                        html.Div(id=EXPORT_MSG, className="mt-2", role="status", **{"aria-live": "polite"}),
                        dcc.Download(id=DOWNLOAD),
                    ]
                ),
                className="mb-3",
            ),
            case_evidence.layout(rt.settings),
        ]
    )


def _selected_case(selected) -> str | None:
    row = selected[0] if isinstance(selected, list) and selected and isinstance(selected[0], dict) else {}
    value = row.get("case_ref")
    return value if isinstance(value, str) else None


def case_card_options(rows) -> list[dict]:
    """The cases grid's rows as the phone's radio cards (whatever the grid holds, cards for valid rows only)."""
    return case_cards(rows if isinstance(rows, list) else [])


def request_card_options(rows) -> list[dict]:
    """The requests grid's rows as the phone's radio cards."""
    return request_cards(rows if isinstance(rows, list) else [])


def show_case_requests(selected):
    """The requests of the selected case and the card's title; an empty list and the prompt when no case
    the user may see is selected (a team member sees the case officer's requests)."""
    found = _case_officer(selected, current_user.id)
    if not found:
        return [], "Select a case above"
    case_ref, officer_id = found
    whose = "" if officer_id == current_user.id else " (the case officer's requests)"
    return _request_rows(case_ref, officer_id), f"Requests in case {case_ref}{whose}"


def change_request_status(_clicks, selected, status, note, useful, case_selected) -> dict:
    """Sets the selected request's status (with the note, and whether the footage was useful when it was
    provided), logged by ``casework.change_status``: the message, and both grids redrawn. A missing
    selection or status, or a refusal, gives a message and changes nothing."""
    if not selected:
        return {
            "message": dbc.Alert("Select a request first.", color="warning"),
            "requests": no_update,
            "cases": no_update,
        }
    if status not in REQUEST_STATUSES or status == "sent":
        return {
            "message": dbc.Alert("Choose the new status.", color="warning"),
            "requests": no_update,
            "cases": no_update,
        }
    row = selected[0] if isinstance(selected, list) and isinstance(selected[0], dict) else {}
    try:
        with transaction(runtime().sessions) as s:
            internal = casework.own_request(s, current_user.actor, row.get("request_id"), admin_too=True)
            request = casework.change_status(
                s,
                current_user.actor,
                request_id=internal,
                new_status=status,
                note=(note or "").strip() or None,
                footage_useful=bool(useful) if status == "footage_provided" else None,
                now=utcnow(),
            )
            request_id, new_status = request.public_id, request.status
    except casework.CaseworkError as exc:
        return {"message": dbc.Alert(str(exc), color="danger"), "requests": no_update, "cases": no_update}
    case_ref = _selected_case(case_selected)
    return {
        "message": dbc.Alert(
            f"Request {request_id} is now: {REQUEST_STATUSES[new_status]}.", color="success", id="cases-update-done"
        ),
        "requests": _request_rows(case_ref, current_user.id) if case_ref else no_update,
        "cases": _case_rows(current_user.id),
    }


def refresh_requests(_n, selected):
    """The selected case's requests again (deliveries and owners' answers change them), or no change."""
    found = _case_officer(selected, current_user.id)
    return _request_rows(*found) if found else no_update


def ask_owner_to_keep_footage(_clicks, selected, case_selected):
    """Queues the urgent 'keep your footage' notice to the owner of the selected request (logged by
    ``casework.send_preservation_notice``) and wakes the outbox: the message and the requests redrawn."""
    if not selected:
        return dbc.Alert("Select a request first.", color="warning"), no_update
    row = selected[0] if isinstance(selected, list) and isinstance(selected[0], dict) else {}
    shown = public_ids.normalise(row.get("request_id"), public_ids.REQUEST_PREFIX)
    rt = runtime()
    try:
        with transaction(rt.sessions) as s:
            internal = public_ids.requests_to_internal(s, [shown]).get(shown) if shown else None
            if internal is None:
                raise casework.CaseworkError("request_id", "There is no such footage request among yours.")
            message = casework.send_preservation_notice(
                s,
                current_user.actor,
                request_id=internal,
                now=utcnow(),
                channels=Channels.from_settings(rt.settings),
            )
            by = CHANNEL_WORDS[message.channel]
    except casework.CaseworkError as exc:
        return dbc.Alert(str(exc), color="danger"), no_update
    wake()
    case_ref = _selected_case(case_selected)
    rows = _request_rows(case_ref, current_user.id) if case_ref else no_update
    return (
        dbc.Alert(
            f"The urgent notice for request {shown} is queued and goes by {by} before anything else to this owner.",
            color="success",
            id="cases-preserve-done",
        ),
        rows,
    )


def export_contact_list(_clicks, selected, reason):
    """The selected case's contact list as a CSV download, with its reason checked and the export logged
    (``casework.export_case_csv``), and the message; a refusal gives a message and no file."""
    case_ref = _selected_case(selected)
    if not case_ref:
        return no_update, dbc.Alert("Select a case first.", color="warning")
    rt = runtime()
    try:
        checked = CaseContext.model_validate(
            {"case_ref": case_ref, "reason": reason or ""}, context=validation_context(rt.settings)
        )
    except ValidationError as exc:
        return no_update, dbc.Alert(field_errors(exc)[0]["message"], color="danger")
    try:
        with transaction(rt.sessions) as s:
            text = casework.export_case_csv(s, current_user.actor, case_ref=checked.case_ref, reason=checked.reason)
    except casework.CaseworkError as exc:
        return no_update, dbc.Alert(str(exc), color="danger")
    filename = f"{checked.case_ref}-contacts.csv"
    return (
        dcc.send_string(text, filename, type="text/csv"),
        dbc.Alert(f"Downloaded {filename}; the export has been recorded.", color="success", id="cases-export-done"),
    )


def register_callbacks(app) -> None:
    app.callback(Output(CASE_CARDS, "options"), Input(CASES, "rowData"))(case_card_options)
    app.callback(Output(REQUEST_CARDS, "options"), Input(REQUESTS, "rowData"))(request_card_options)

    for grid, cards, key in ((CASES, CASE_CARDS, "case_id"), (REQUESTS, REQUEST_CARDS, "request_id")):
        app.clientside_callback(
            ClientsideFunction(namespace="ccr_results", function_name=f"syncOne_{key}"),
            Output(grid, "selectedRows", allow_duplicate=True),
            Output(cards, "value"),
            Input(grid, "selectedRows"),
            Input(cards, "value"),
            State(grid, "rowData"),
            prevent_initial_call=True,
        )

    app.callback(
        Output(REQUESTS, "rowData"), Output(TITLE, "children"), Input(CASES, "selectedRows"), prevent_initial_call=True
    )(show_case_requests)
    app.callback(
        output={
            "message": Output(UPDATE_MSG, "children"),
            "requests": Output(REQUESTS, "rowData", allow_duplicate=True),
            "cases": Output(CASES, "rowData"),
        },
        inputs=[Input(UPDATE, "n_clicks")],
        state=[
            State(REQUESTS, "selectedRows"),
            State(STATUS, "value"),
            State(NOTE, "value"),
            State(USEFUL, "value"),
            State(CASES, "selectedRows"),
        ],
        prevent_initial_call=True,
    )(change_request_status)
    app.callback(
        Output(REQUESTS, "rowData", allow_duplicate=True),
        Input(REFRESH, "n_intervals"),
        State(CASES, "selectedRows"),
        prevent_initial_call=True,
    )(refresh_requests)
    app.callback(
        Output(PRESERVE_MSG, "children"),
        Output(REQUESTS, "rowData", allow_duplicate=True),
        Input(PRESERVE, "n_clicks"),
        State(REQUESTS, "selectedRows"),
        State(CASES, "selectedRows"),
        prevent_initial_call=True,
    )(ask_owner_to_keep_footage)
    app.callback(
        Output(DOWNLOAD, "data"),
        Output(EXPORT_MSG, "children"),
        Input(EXPORT, "n_clicks"),
        State(CASES, "selectedRows"),
        State(EXPORT_REASON, "value"),
        prevent_initial_call=True,
    )(export_contact_list)

    case_evidence.register_callbacks(app)


PAGE = Page(
    path="/cases",
    title="My cases",
    roles=frozenset({"officer"}),
    id_prefix=PREFIX,
    layout=layout,
    register_callbacks=register_callbacks,
)
