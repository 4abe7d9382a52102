"""Evidence storage (administrators): space the owners' footage takes, by where each file stands, the
disk's free space, and what the next retention run will free. Nothing of any file is shown (no name,
caption, case or owner): counts and sizes only. ``evidence.retention.storage_report`` does the work.
"""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import Input, Output, dcc, html

from dashboard.components.storage_view import storage_view
from dashboard.evidence.retention import Periods, storage_report
from dashboard.footage.storage import Store
from dashboard.pages import Page
from dashboard.registry.models import utcnow
from dashboard.runtime_access import runtime

PREFIX = "storage-"
PATH = "/storage"
REFRESH, BODY, PERIODS = "storage-refresh", "storage-body", "storage-periods"


def layout(_rt=None, _user=None) -> html.Div:
    periods = Periods.from_settings(runtime().settings)
    return html.Div(
        [
            dbc.Row(
                [
                    dbc.Col(html.H1("Evidence storage", className="h3 mb-1"), md=True),
                    dbc.Col(
                        dbc.Button("Count again", id=REFRESH, color="secondary", outline=True, size="sm", n_clicks=0),
                        md="auto",
                    ),
                ],
                className="align-items-center",
            ),
            html.P(
                "Space the owners' footage takes on the evidence disk, by where each file stands, and what the next "
                "retention run will free. Counts and sizes only.",
                className="text-secondary",
            ),
            dbc.Alert(periods.in_words(), color="light", className="small", id=PERIODS),
            dcc.Loading(html.Div(id=BODY), type="dot"),
        ]
    )


def count_storage(_clicks):
    """The storage report as it stands now: space by where each file stands, free space, and what the
    next retention run frees (counted again on every press of "Count again", and when the page opens)."""
    rt = runtime()
    store = Store(rt.settings.evidence_dir, rt.settings.evidence_min_free_bytes)
    with rt.sessions() as s:
        report = storage_report(s, store, utcnow(), Periods.from_settings(rt.settings))
    return storage_view(report)


def register_callbacks(app) -> None:
    app.callback(Output(BODY, "children"), Input(REFRESH, "n_clicks"))(count_storage)


PAGE = Page(
    path=PATH,
    title="Storage",
    roles=frozenset({"admin"}),
    id_prefix=PREFIX,
    layout=layout,
    register_callbacks=register_callbacks,
)
