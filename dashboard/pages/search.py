"""Officer search: from an incident to the cameras most likely to hold footage, then contact and requests.

A case reference and a reason are required before anything is searched; every search, every
reveal of contact details and every request is audit-logged (DPA 2018 s.62). Contacts can be
revealed only for cameras that the officer's own logged search returned.
"""

from __future__ import annotations

import datetime as dt

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
import dash_leaflet as dl
from dash import ClientsideFunction, Input, Output, State, ctx, dcc, html, no_update
from flask_login import current_user
from pydantic import ValidationError

from dashboard.api.endpoints import field_errors
from dashboard.api.schemas import DEFAULT_RADIUS_M, MAX_RADIUS_M, MIN_RADIUS_M, UK, NearQuery, validation_context
from dashboard.components import search_views as views
from dashboard.components.grid_columns import WRAP_HEADERS
from dashboard.components.loading import loading
from dashboard.components.maps import area_map, district_outlines, radius_bounds
from dashboard.delivery.worker import wake
from dashboard.geo.locate import LocationError, parse_location, point_from_map
from dashboard.pages import Page
from dashboard.registry import casework, public_ids
from dashboard.registry.camera_search import NotFromSearch, SearchRequest, check_from_search, find_cameras
from dashboard.registry.channels import Channels
from dashboard.registry.database import transaction
from dashboard.registry.models import utcnow
from dashboard.runtime_access import runtime, search_quota

PREFIX = "search-"
LOCATION, LOCATE, LOCATION_MSG, POINT = "search-location", "search-locate", "search-location-msg", "search-point"
MAP, INCIDENT_LAYER, RESULTS_LAYER = "search-map", "search-incident-layer", "search-results-layer"
WHEN, WHEN_MSG, RADIUS = "search-when", "search-when-msg", "search-radius"
CASE, CASE_MSG, REASON, REASON_MSG = "search-case", "search-case-msg", "search-reason", "search-reason-msg"
SUBMIT, SUMMARY, GRID, CONTEXT = "search-submit", "search-summary", "search-grid", "search-context"
REVEAL, CONTACTS = "search-reveal", "search-contacts"
CARDS = "search-cards"  # the results as cards on a phone; the grid's selectedRows is the selection
CRIME, BEFORE, AFTER, REQUEST, REQUEST_MSG = (
    "search-crime",
    "search-window-before",
    "search-window-after",
    "search-request",
    "search-request-msg",
)
SHARED, PRESERVE, PRESERVE_BOX = "search-shared-detail", "search-preserve", "search-preserve-box"
# The urgent notice is offered when a selected camera's footage may be gone within 48 hours.
AT_RISK_LABELS = frozenset({views.RETENTION_LABELS["at_risk"], views.RETENTION_LABELS["overwritten"]})

CRIME_CATEGORIES = [
    "Anti-social behaviour",
    "Bicycle theft",
    "Burglary",
    "Criminal damage and arson",
    "Drugs",
    "Other crime",
    "Other theft",
    "Possession of weapons",
    "Public order",
    "Robbery",
    "Shoplifting",
    "Theft from the person",
    "Vehicle crime",
    "Violence and sexual offences",
]


def _default_when() -> str:
    return (dt.datetime.now(UK) - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")


def _form(settings) -> dbc.Card:
    return dbc.Card(
        dbc.CardBody(
            [
                html.H2("Incident", className="h5"),
                dbc.Label("Where", html_for=LOCATION),
                dbc.InputGroup(
                    [
                        dbc.Input(
                            id=LOCATION,
                            placeholder="Postcode, lat, lon or grid ref (SJ 88 45)",
                            type="text",
                            debounce=True,
                            autoComplete="off",
                        ),
                        dbc.Button("Find", id=LOCATE, color="secondary", n_clicks=0),
                    ]
                ),
                html.Div(id=LOCATION_MSG, className="form-text mb-2", role="status", **{"aria-live": "polite"}),
                dbc.Label("When (UK time)", html_for=WHEN),
                dbc.Input(id=WHEN, type="datetime-local", value=_default_when()),
                dbc.FormFeedback(id=WHEN_MSG, type="invalid"),
                dbc.Label(
                    ["Radius ", html.Span(f"{DEFAULT_RADIUS_M} m", id="search-radius-label")],
                    html_for=RADIUS,
                    className="mt-2",
                ),
                dcc.Slider(
                    id=RADIUS,
                    min=MIN_RADIUS_M,
                    max=MAX_RADIUS_M,
                    step=50,
                    value=DEFAULT_RADIUS_M,
                    marks={50: "50", 200: "200", 500: "500", 1000: "1,000 m"},
                ),
                html.Hr(),
                html.H2("Case", className="h5"),
                dbc.Label("Case reference", html_for=CASE),
                dbc.Input(id=CASE, placeholder=settings.case_ref_example, autoComplete="off"),
                dbc.FormFeedback(id=CASE_MSG, type="invalid"),
                dbc.Label("Reason for this search", html_for=REASON, className="mt-2"),
                dbc.Textarea(id=REASON, placeholder="What happened and why these cameras may help", rows=2),
                dbc.FormFeedback(id=REASON_MSG, type="invalid"),
                dbc.Button("Search cameras", id=SUBMIT, color="primary", className="w-100 mt-3", n_clicks=0),
                html.P(
                    "Searches, contact look-ups and requests are recorded with the case reference and reason.",
                    className="small text-secondary mt-2 mb-0",
                ),
            ]
        )
    )


def layout(rt, user) -> html.Div:
    return html.Div(
        [
            html.H1("Find cameras near an incident", className="h3 mb-3"),
            dbc.Row(
                [
                    dbc.Col(_form(rt.settings), lg=4, className="mb-3"),
                    dbc.Col(
                        [
                            dbc.Card(
                                dbc.CardBody(
                                    [
                                        html.P(
                                            "Click the map to set the incident point, or type where it happened.",
                                            className="small text-secondary mb-2",
                                        ),
                                        loading(
                                            area_map(
                                                MAP,
                                                rt.reference,
                                                rt.settings,
                                                [
                                                    district_outlines(rt.reference, "search-districts"),
                                                    dl.LayerGroup(id=RESULTS_LAYER),
                                                    dl.LayerGroup(id=INCIDENT_LAYER),
                                                ],
                                                height="480px",
                                            ),
                                            target_components={RESULTS_LAYER: "children"},
                                        ),
                                    ]
                                )
                            ),
                        ],
                        lg=8,
                        className="mb-3",
                    ),
                ]
            ),
            html.Div(id=SUMMARY, role="status", **{"aria-live": "polite"}),
            dbc.Card(
                dbc.CardBody(
                    [
                        html.H2("Cameras that may hold footage", className="h5"),
                        html.P(
                            "Ranked: incident in the camera's view first, then footage still kept, then nearest.",
                            className="small text-secondary",
                        ),
                        loading(
                            html.Div(
                                dag.AgGrid(
                                    id=GRID,
                                    columnDefs=views.GRID_COLUMNS,
                                    rowData=[],
                                    getRowId="params.data.camera_id",
                                    columnSize="responsiveSizeToFit",
                                    defaultColDef=WRAP_HEADERS,
                                    dashGridOptions={
                                        "rowSelection": {"mode": "multiRow"},
                                        # Tab leaves the grid (arrows move inside it), not cell by cell across every row
                                        "tabToNextCell": {"function": "false"},
                                        "domLayout": "autoHeight",
                                        "pagination": True,
                                        "paginationPageSize": 20,
                                    },
                                    style={"width": "100%"},
                                ),
                                className="results-grid",
                            ),
                            target_components={GRID: "rowData"},
                        ),
                        html.Fieldset(
                            [
                                html.Legend("Select the cameras to ask about", className="visually-hidden"),
                                loading(
                                    dbc.Checklist(
                                        id=CARDS,
                                        options=[],
                                        value=[],
                                        className="result-cards",
                                        label_class_name="result-card-label",
                                    ),
                                    target_components={CARDS: "options"},
                                ),
                            ],
                            className="results-cards",
                        ),
                        dbc.Row(
                            [
                                dbc.Col(
                                    dbc.Button(
                                        "Show contact details of selected",
                                        id=REVEAL,
                                        color="secondary",
                                        n_clicks=0,
                                        className="mt-3",
                                    ),
                                    md="auto",
                                ),
                            ]
                        ),
                        html.Div(id=CONTACTS, className="mt-3"),
                        html.Hr(),
                        html.H2("Ask the owners of the selected cameras for footage", className="h6"),
                        dbc.Row(
                            [
                                dbc.Col(
                                    [
                                        dbc.Label("Crime category", html_for=CRIME),
                                        dcc.Dropdown(
                                            id=CRIME, options=CRIME_CATEGORIES, placeholder="Choose", clearable=True
                                        ),
                                    ],
                                    md=4,
                                ),
                                dbc.Col(
                                    [
                                        dbc.Label("Minutes before", html_for=BEFORE),
                                        dbc.Input(id=BEFORE, type="number", min=0, max=720, value=30),
                                    ],
                                    md=2,
                                ),
                                dbc.Col(
                                    [
                                        dbc.Label("Minutes after", html_for=AFTER),
                                        dbc.Input(id=AFTER, type="number", min=0, max=720, value=30),
                                    ],
                                    md=2,
                                ),
                            ],
                            className="g-2",
                        ),
                        dbc.Row(
                            [
                                dbc.Col(
                                    [
                                        dbc.Label(
                                            "What the owner is told about the incident (optional)", html_for=SHARED
                                        ),
                                        dbc.Textarea(
                                            id=SHARED,
                                            maxLength=300,
                                            rows=2,
                                            placeholder="e.g. A bicycle was taken from a front garden. Nothing else is "
                                            "said about the crime.",
                                        ),
                                        html.Div(
                                            "At most 300 characters; no names, links or addresses.",
                                            className="form-text",
                                        ),
                                    ],
                                    md=8,
                                ),
                                dbc.Col(
                                    html.Div(
                                        [
                                            dbc.Checkbox(
                                                id=PRESERVE,
                                                value=False,
                                                className="mt-4",
                                                label="Send an urgent 'please keep your footage' notice first",
                                            ),
                                            html.Div(
                                                "Footage from a selected camera may be overwritten within 48 hours. "
                                                "The notice goes only to those owners.",
                                                className="form-text",
                                            ),
                                        ],
                                        id=PRESERVE_BOX,
                                        hidden=True,
                                    ),
                                    md=4,
                                ),
                            ],
                            className="g-2 mt-1",
                        ),
                        dbc.Button("Send footage requests", id=REQUEST, color="primary", n_clicks=0, className="mt-3"),
                        html.Div(id=REQUEST_MSG, className="mt-2", role="status", **{"aria-live": "polite"}),
                    ]
                ),
                className="mb-3",
            ),
            dcc.Store(id=POINT),
            dcc.Store(id=CONTEXT),
        ]
    )


def _incident(point: dict | None, radius) -> list:
    if not point:
        return []
    return views.incident_layers(point["lat"], point["lon"], float(radius or DEFAULT_RADIUS_M))


def _fit(point: dict | None, radius) -> dict:
    if not point:
        return no_update
    bounds = radius_bounds(point["lat"], point["lon"], float(radius or DEFAULT_RADIUS_M) * 1.15)
    return {"bounds": bounds, "transition": "fitBounds", "options": {"animate": False}}


def _search_id(context: dict) -> int | None:
    """The search id the page stored (a forged one that is not a whole number: None, refused)."""
    value = context.get("search_id") if isinstance(context, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _chosen(selected) -> list:
    """The public ids of the selected rows, as the browser sent them (checked by ``_internal``)."""
    rows = selected if isinstance(selected, list) else []
    return [r.get("camera_id") if isinstance(r, dict) else r for r in rows]


def _internal(s, chosen: list) -> list[int]:
    """The internal ids of cameras named by their public ids; anything else is refused with a message."""
    shown = [public_ids.normalise(c, public_ids.CAMERA_PREFIX) for c in chosen]
    found = public_ids.cameras_to_internal(s, [c for c in shown if c is not None])
    unknown = [str(c)[:20] for c, n in zip(chosen, shown) if n not in found]
    if unknown:
        raise casework.CaseworkError(
            "camera_ids",
            f"No camera with the id{'s' if len(unknown) > 1 else ''} "
            f"{', '.join(unknown[:5])} is on the register; search again.",
        )
    return [found[n] for n in shown]


def place_incident(_clicks, _submit, click, radius, text, point, trigger=None) -> dict:
    """Where the incident is: a click on the map (``trigger`` MAP) or the typed place (Find, Enter),
    drawn with its search radius; a new radius (``trigger`` RADIUS) only redraws the circle. A place
    that cannot be found clears the point and says why."""
    rt = runtime()
    label = f"{int(radius or DEFAULT_RADIUS_M):,} m"
    if trigger == RADIUS:
        return {
            "point": no_update,
            "message": no_update,
            "invalid": no_update,
            "incident": _incident(point, radius),
            "radius_label": label,
            "viewport": _fit(point, radius),
        }
    try:
        if trigger == MAP and click:
            latlng = click.get("latlng")
            lat, lon = (latlng["lat"], latlng["lng"]) if isinstance(latlng, dict) else latlng[:2]
            found = point_from_map(float(lat), float(lon), rt.reference)
        else:
            found = parse_location(text or "", rt.reference)
    except LocationError as exc:
        return {
            "point": None,
            "message": html.Span(str(exc), className="text-danger"),
            "invalid": True,
            "incident": [],
            "radius_label": label,
            "viewport": no_update,
        }
    new_point = {
        "lat": found.lat,
        "lon": found.lon,
        "easting_m": found.easting_m,
        "northing_m": found.northing_m,
        "district": found.district_code,
        "label": found.label,
    }
    return {
        "point": new_point,
        "message": f"Incident point: {found.label}",
        "invalid": False,
        "incident": _incident(new_point, radius),
        "radius_label": label,
        "viewport": no_update if trigger == MAP else _fit(new_point, radius),
    }


def _search_answer(rows=None, markers=None, summary=None, context=None, bad: dict | None = None) -> dict:
    """The search callback's outputs: the results (none when refused), the fields marked invalid by
    ``bad`` (field -> message), and the contacts and selection of any earlier search cleared."""
    bad = bad or {}
    return {
        "rows": [] if rows is None else rows,
        "markers": [] if markers is None else markers,
        "summary": summary,
        "case_invalid": "case_ref" in bad,
        "case_msg": bad.get("case_ref", ""),
        "reason_invalid": "reason" in bad,
        "reason_msg": bad.get("reason", ""),
        "when_invalid": "at" in bad,
        "when_msg": bad.get("at", ""),
        "context": context,
        "contacts": None,
        "selected": [],
    }


def search_cameras(_clicks, point, when, radius, case_ref, reason) -> dict:
    """Run the officer's logged search (case reference and reason required) from the incident point:
    the ranked cameras for the grid and the map, a summary, and the search's context for contacts and
    requests; or, when anything is missing or refused, every reason and nothing found."""
    rt = runtime()
    errors: dict[str, str] = {}
    if not point:
        errors["location"] = "Set the incident point: click the map or type a postcode, lat/lon or grid reference."
    query = None
    try:
        query = NearQuery.model_validate(
            {
                "lat": (point or {}).get("lat", 0),
                "lon": (point or {}).get("lon", 0),
                "radius_m": radius,
                "at": when or "",
                "case_ref": case_ref or "",
                "reason": reason or "",
            },
            context=validation_context(rt.settings),
        )
    except ValidationError as exc:
        for err in field_errors(exc):
            errors.setdefault(err["field"], err["message"])
    if errors:
        names = {
            "location": "Where",
            "at": "When",
            "case_ref": "Case reference",
            "reason": "Reason",
            "radius_m": "Radius",
        }
        summary = dbc.Alert(
            [
                html.Strong("The search was not run:"),
                html.Ul([html.Li(f"{names.get(f, f)}: {m}") for f, m in errors.items()]),
            ],
            color="danger",
            id="search-error-summary",
        )
        return _search_answer(summary=summary, bad=errors)
    req = SearchRequest(
        point["lat"],
        point["lon"],
        point["easting_m"],
        point["northing_m"],
        query.radius_m,
        query.at,
        query.case_ref,
        query.reason,
    )
    now = utcnow()
    try:
        with transaction(rt.sessions) as s:
            outcome = find_cameras(rt.finder, s, current_user.actor, req, source="page", now=now, quota=search_quota())
            # Shown (and selected) by their random public ids: the integer ids date the registrations.
            shown = outcome.shown(s)
    except casework.CaseworkError as exc:  # a reason that says nothing, or too many searches: logged
        summary = dbc.Alert(
            [html.Strong("The search was not run: "), str(exc)], color="danger", id="search-error-summary"
        )
        return _search_answer(summary=summary, bad={"reason": str(exc)} if exc.field == "reason" else {})
    results = outcome.results
    summary = dbc.Alert(
        views.result_summary(results, outcome.within_radius, query.radius_m, point["label"], query.case_ref),
        color="success" if len(results) else "secondary",
        id="search-result-summary",
    )
    context = {
        "search_id": outcome.search_id,
        "case_ref": query.case_ref,
        "lat": point["lat"],
        "lon": point["lon"],
        "district": point.get("district"),
        "at": query.at.isoformat(),
    }
    return _search_answer(views.grid_rows(shown), views.camera_layers(results), summary, context)


def cards_for_rows(rows) -> list:
    """The results as cards on a phone, one per grid row."""
    return views.result_cards(rows if isinstance(rows, list) else [])


def show_contacts(_clicks, selected, context):
    """The contact details of the selected cameras, only for cameras the officer's own logged search
    returned (logged as a reveal under that search's case reference and reason)."""
    if not context:
        return dbc.Alert("Search first: contact details are shown only for a logged search.", color="warning")
    chosen = _chosen(selected)
    if not chosen:
        return dbc.Alert("Select one or more cameras in the table first.", color="warning")
    rt = runtime()
    try:
        with transaction(rt.sessions) as s:
            ids = _internal(s, chosen)
            case_ref, reason = check_from_search(s, current_user.actor, _search_id(context), ids, "reveal")
            contacts = casework.reveal_contacts(
                s,
                current_user.actor,
                case_ref=case_ref,
                reason=reason,
                camera_ids=ids,
                search_valid_days=rt.settings.search_valid_days,
            )
            contacts = contacts.assign(camera_id=public_ids.shown_cameras(s, contacts["camera_id"]))
    except (NotFromSearch, casework.CaseworkError) as exc:
        return dbc.Alert(str(exc), color="danger")
    return views.contacts_panel(contacts, case_ref)


def hide_preservation_notice(selected) -> bool:
    """Whether the urgent 'please keep your footage' offer stays hidden: unless a selected camera's
    footage may be gone within 48 hours."""
    rows = selected if isinstance(selected, list) else []
    return not any(isinstance(r, dict) and r.get("retention") in AT_RISK_LABELS for r in rows)


def send_footage_requests(_clicks, selected, context, crime, before, after, shared, preserve):
    """Ask the owners of the selected cameras (from the officer's own logged search) for the footage
    of the incident's window, and say what was sent and what could not be."""
    if not context:
        return dbc.Alert("Search first: requests are made from a logged search.", color="warning")
    chosen = _chosen(selected)
    if not chosen:
        return dbc.Alert("Select one or more cameras in the table first.", color="warning")
    try:
        before_min, after_min = int(before if before is not None else 30), int(after if after is not None else 30)
    except (TypeError, ValueError):
        return dbc.Alert("Minutes before and after must be whole numbers.", color="danger")
    if not (0 <= before_min <= 720 and 0 <= after_min <= 720):
        return dbc.Alert("Minutes before and after must be between 0 and 720.", color="danger")
    rt = runtime()
    at = dt.datetime.fromisoformat(context["at"])
    now = utcnow()
    try:
        with transaction(rt.sessions) as s:
            ids = _internal(s, chosen)
            case_ref, reason = check_from_search(s, current_user.actor, _search_id(context), ids, "request")
            created = casework.create_requests(
                s,
                current_user.actor,
                case_ref=case_ref,
                reason=reason,
                camera_ids=ids,
                incident_lat=float(context["lat"]),
                incident_lon=float(context["lon"]),
                incident_district_code=context.get("district"),
                crime_category=crime,
                incident_from=at - dt.timedelta(minutes=before_min),
                incident_to=min(at + dt.timedelta(minutes=after_min), now),
                now=now,
                search_valid_days=rt.settings.search_valid_days,
                channels=Channels.from_settings(rt.settings),
                shared_detail=shared if isinstance(shared, str) else None,
                preservation=preserve is True,
            )
            late = sum(1 for r in created if r.footage_likely_overwritten)
            delivery = created.delivery
    except (NotFromSearch, casework.CaseworkError) as exc:
        return dbc.Alert(str(exc), color="danger")
    wake()
    text = f"Case {case_ref}: {delivery.text_for_officer()}"
    if late:
        text += f" {late} of them came after the footage was likely overwritten."
    return dbc.Alert(
        [text, " ", dcc.Link("Open my cases", href="/cases")],
        color="warning" if late or delivery.undelivered else "success",
        id="search-request-done",
    )


def register_callbacks(app) -> None:
    app.callback(
        output={
            "point": Output(POINT, "data"),
            "message": Output(LOCATION_MSG, "children"),
            "invalid": Output(LOCATION, "invalid"),
            "incident": Output(INCIDENT_LAYER, "children"),
            "radius_label": Output("search-radius-label", "children"),
            "viewport": Output(MAP, "viewport"),
        },
        inputs=[
            Input(LOCATE, "n_clicks"),
            Input(LOCATION, "n_submit"),
            Input(MAP, "clickData"),
            Input(RADIUS, "value"),
            State(LOCATION, "value"),
            State(POINT, "data"),
        ],
        prevent_initial_call=True,
    )(lambda *values: place_incident(*values, trigger=ctx.triggered_id))

    app.callback(
        output={
            "rows": Output(GRID, "rowData"),
            "markers": Output(RESULTS_LAYER, "children"),
            "summary": Output(SUMMARY, "children"),
            "case_invalid": Output(CASE, "invalid"),
            "case_msg": Output(CASE_MSG, "children"),
            "reason_invalid": Output(REASON, "invalid"),
            "reason_msg": Output(REASON_MSG, "children"),
            "when_invalid": Output(WHEN, "invalid"),
            "when_msg": Output(WHEN_MSG, "children"),
            "context": Output(CONTEXT, "data"),
            "contacts": Output(CONTACTS, "children"),
            "selected": Output(GRID, "selectedRows"),
        },
        inputs=[
            Input(SUBMIT, "n_clicks"),
            State(POINT, "data"),
            State(WHEN, "value"),
            State(RADIUS, "value"),
            State(CASE, "value"),
            State(REASON, "value"),
        ],
        prevent_initial_call=True,
    )(search_cameras)

    app.callback(Output(CARDS, "options"), Input(GRID, "rowData"))(cards_for_rows)

    # The grid's selection and the phone's cards are one selection, kept in step in the browser.
    app.clientside_callback(
        ClientsideFunction(namespace="ccr_results", function_name="syncSelection"),
        Output(GRID, "selectedRows", allow_duplicate=True),
        Output(CARDS, "value"),
        Input(GRID, "selectedRows"),
        Input(CARDS, "value"),
        State(GRID, "rowData"),
        prevent_initial_call=True,
    )

    app.callback(
        Output(CONTACTS, "children", allow_duplicate=True),
        Input(REVEAL, "n_clicks"),
        State(GRID, "selectedRows"),
        State(CONTEXT, "data"),
        prevent_initial_call=True,
    )(show_contacts)

    app.callback(Output(PRESERVE_BOX, "hidden"), Input(GRID, "selectedRows"), prevent_initial_call=True)(
        hide_preservation_notice
    )

    app.callback(
        Output(REQUEST_MSG, "children"),
        Input(REQUEST, "n_clicks"),
        State(GRID, "selectedRows"),
        State(CONTEXT, "data"),
        State(CRIME, "value"),
        State(BEFORE, "value"),
        State(AFTER, "value"),
        State(SHARED, "value"),
        State(PRESERVE, "value"),
        prevent_initial_call=True,
    )(send_footage_requests)


PAGE = Page(
    path="/search",
    title="Search",
    roles=frozenset({"officer"}),
    id_prefix=PREFIX,
    layout=layout,
    register_callbacks=register_callbacks,
)
