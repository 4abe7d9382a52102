"""Campaigns (project leads and admins): create a recruitment campaign and download its QR code.

Each campaign's QR code points at ``<PUBLIC_BASE_URL>/r/<slug>``. Its funnel is kept only as
daily counts; the totals so far pass the disclosure-control layer (promise 4, ``runtime().disclosure``):
completions (registrations) adjusted with their keys and not shown below K, scans and form starts
(page visits, about no person) through ``Disclosure.exact``.
"""

from __future__ import annotations

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
import pandas as pd
from dash import Input, Output, State, html, no_update
from flask import Blueprint, Response, abort
from flask_login import current_user

from dashboard.analytics.uptake import campaign_totals
from dashboard.components.grid_columns import WRAP_HEADERS, figure
from dashboard.components.qr import qr_png, qr_svg
from dashboard.components.search_views import uk_time
from dashboard.core.vocab import CAMPAIGN_CHANNELS
from dashboard.pages import Page
from dashboard.registry import campaigns
from dashboard.registry.database import transaction
from dashboard.runtime_access import runtime

PREFIX = "campaigns-"
NAME, CHANNEL, CREATE = "campaigns-name", "campaigns-channel", "campaigns-create"
NAME_MSG, CHANNEL_MSG, RESULT, TABLE = (
    "campaigns-name-msg",
    "campaigns-channel-msg",
    "campaigns-result",
    "campaigns-table",
)
PATH = "/campaigns"

files = Blueprint("campaign_files", __name__)


def link_for(slug: str) -> str:
    return f"{runtime().settings.public_base_url}/r/{slug}"


@files.get(f"{PATH}/<slug>/qr.<fmt>")
def qr_file(slug: str, fmt: str):
    """The campaign's QR code (the access guard lets only this page's roles reach it)."""
    if fmt not in ("png", "svg"):
        abort(404)
    with runtime().sessions() as s:
        campaign = campaigns.campaign_by_slug(s, slug)
    if campaign is None:
        abort(404)
    body = qr_png(link_for(slug)) if fmt == "png" else qr_svg(link_for(slug))
    return Response(
        body,
        mimetype="image/png" if fmt == "png" else "image/svg+xml",
        headers={"Content-Disposition": f'attachment; filename="qr-{slug}.{fmt}"'},
    )


CAMPAIGN_COLUMNS = [
    {"field": "name", "headerName": "Campaign", "flex": 2, "minWidth": 180},
    {"field": "channel", "headerName": "Channel", "flex": 1, "minWidth": 120},
    {
        "field": "link",
        "headerName": "Link in the QR code",
        "flex": 2,
        "minWidth": 220,
        "wrapText": True,
        "autoHeight": True,
        "cellStyle": {"wordBreak": "break-all", "lineHeight": "1.4"},
    },
    {"field": "scans", "headerName": "Scans", "type": "numericColumn", "valueFormatter": figure(), "width": 100},
    {
        "field": "form_starts",
        "headerName": "Forms started",
        "type": "numericColumn",
        "valueFormatter": figure(),
        "width": 130,
    },
    {
        "field": "registrations",
        "headerName": "Registrations",
        "type": "numericColumn",
        "valueFormatter": figure(),
        "width": 130,
        "sortable": False,
    },
    {"field": "created", "headerName": "Created", "width": 175},
    # The slug is made by the server from [a-z0-9-] only; the campaign's name never goes through markdown.
    {"field": "qr", "headerName": "QR code", "cellRenderer": "markdown", "sortable": False, "width": 130},
]


def _table():
    """All campaigns in one grid (the grid draws hundreds of rows at once where a Dash table
    of components took many seconds in the browser)."""
    rt = runtime()
    with rt.sessions() as s:
        frame = campaigns.campaign_totals(s)
    if frame.empty:
        return html.P("No campaigns yet. Create one above to get its link and QR code.", className="text-secondary")
    layer = rt.disclosure
    k = layer.k
    shown = campaign_totals(frame, layer)
    number = lambda v: None if pd.isna(v) else int(v)  # noqa: E731
    rows = [
        {
            "slug": r.slug,
            "name": r.name,
            "channel": CAMPAIGN_CHANNELS.get(r.channel, r.channel),
            "link": link_for(r.slug),
            "scans": number(r.scans),
            "form_starts": number(r.form_starts),
            "registrations": f"fewer than {k}" if pd.isna(r.completions) else f"{int(r.completions):,}",
            "created": uk_time(r.created_at),
            "qr": f"[PNG]({PATH}/{r.slug}/qr.png) · [SVG]({PATH}/{r.slug}/qr.svg)",
        }
        for r in shown.itertuples()
    ]
    return html.Div(
        [
            dag.AgGrid(
                id=f"{PREFIX}grid",
                columnDefs=CAMPAIGN_COLUMNS,
                rowData=rows,
                getRowId="params.data.slug",
                defaultColDef={"minWidth": 110, "sortable": True, "resizable": True, **WRAP_HEADERS},
                dashGridOptions={"domLayout": "autoHeight", "suppressCellFocus": True},
                style={"width": "100%"},
            ),
            html.P(
                [
                    layer.describe(),
                    f" Registrations under {k} are shown as 'fewer than {k}'; scans and forms started "
                    "count page visits, not people, and are exact. Counts are kept per campaign and day only; nothing on "
                    "a registration says which campaign it came from. Figures for different campaigns, ranges or "
                    "channels (on the uptake page) need not add up exactly: each is adjusted on its own.",
                ],
                className="small text-secondary mt-2",
                id=f"{PREFIX}method-note",
            ),
        ]
    )


def layout(_rt=None, _user=None) -> html.Div:
    return html.Div(
        [
            html.H1("Campaigns", className="h3 mb-1"),
            html.P(
                "A campaign has its own QR code for a poster, leaflet or message; scans, started forms and "
                "registrations are counted per campaign.",
                className="text-secondary",
            ),
            dbc.Card(
                dbc.CardBody(
                    [
                        html.H2("New campaign", className="h5"),
                        dbc.Row(
                            [
                                dbc.Col(
                                    [
                                        dbc.Label("Name", html_for=NAME),
                                        dbc.Input(id=NAME, maxLength=120, type="text"),
                                        dbc.FormFeedback(id=NAME_MSG, type="invalid"),
                                    ],
                                    md=6,
                                ),
                                dbc.Col(
                                    [
                                        dbc.Label("Channel", html_for=CHANNEL),
                                        dbc.Select(
                                            id=CHANNEL,
                                            options=[{"label": v, "value": k} for k, v in CAMPAIGN_CHANNELS.items()],
                                            value="internal_message",
                                        ),
                                        dbc.FormFeedback(id=CHANNEL_MSG, type="invalid"),
                                    ],
                                    md=4,
                                ),
                                dbc.Col(
                                    dbc.Button("Create", id=CREATE, color="primary", className="w-100"),
                                    md=2,
                                    className="d-flex align-items-end",
                                ),
                            ],
                            className="g-3",
                        ),
                        html.Div(id=RESULT, className="mt-3", role="status"),
                    ]
                ),
                className="mb-4",
            ),
            html.Div(_table(), id=TABLE),
        ]
    )


def create_campaign(_clicks, name, channel) -> dict:
    """Create a campaign with its own link and QR code and redraw the table; a bad name or channel is
    marked on its field and nothing is created."""
    try:
        with transaction(runtime().sessions) as s:
            made = campaigns.create_campaign(s, current_user.actor, name=name or "", channel=channel or "")
            slug = made.slug
    except campaigns.CampaignError as exc:
        bad_name, bad_channel = exc.field == "name", exc.field == "channel"
        return {
            "table": no_update,
            "result": "",
            "name_invalid": bad_name,
            "name_msg": str(exc) if bad_name else "",
            "channel_invalid": bad_channel,
            "channel_msg": str(exc) if bad_channel else "",
            "name": no_update,
        }
    done = dbc.Alert(
        ["Campaign created. Its link is ", html.Code(link_for(slug)), "."],
        color="success",
        className="mb-0",
        id=f"{PREFIX}created",
    )
    return {
        "table": _table(),
        "result": done,
        "name_invalid": False,
        "name_msg": "",
        "channel_invalid": False,
        "channel_msg": "",
        "name": "",
    }


def register_callbacks(app) -> None:
    app.callback(
        output={
            "table": Output(TABLE, "children"),
            "result": Output(RESULT, "children"),
            "name_invalid": Output(NAME, "invalid"),
            "name_msg": Output(NAME_MSG, "children"),
            "channel_invalid": Output(CHANNEL, "invalid"),
            "channel_msg": Output(CHANNEL_MSG, "children"),
            "name": Output(NAME, "value"),
        },
        inputs=[Input(CREATE, "n_clicks"), State(NAME, "value"), State(CHANNEL, "value")],
        prevent_initial_call=True,
    )(create_campaign)


PAGE = Page(
    path=PATH,
    title="Campaigns",
    roles=frozenset({"lead", "admin"}),
    id_prefix=PREFIX,
    layout=layout,
    register_callbacks=register_callbacks,
)
