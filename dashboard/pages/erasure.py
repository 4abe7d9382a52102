"""Erasure on request (administrators): erase one registration's personal data when its owner
asks by another route than the management link (letter, phone, email to the force).

The administrator types the reference the owner quotes and the request's reference; nothing of
the registration is shown here, before or after. ``retention.erase_on_request`` checks, erases
and logs it.
"""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import Input, Output, State, dcc, html, no_update
from flask_login import current_user

from dashboard.pages import Page
from dashboard.registry import retention
from dashboard.registry.database import transaction
from dashboard.runtime_access import runtime

PREFIX = "erasure-"
REFERENCE, REASON, ERASE, CONFIRM, RESULT = "erasure-reference", "erasure-reason", "erasure-erase", \
    "erasure-confirm", "erasure-result"


def layout(_rt=None, _user=None) -> html.Div:
    settings = runtime().settings
    return html.Div([
        html.H1("Erasure on request", className="h3 mb-1"),
        html.P(["When an owner asks to be removed by letter, phone or email, erase their registration here. Owners "
                "can also withdraw themselves at any time from the link they were sent. Erasure is immediate and "
                "cannot be undone: the name, contact details, address and exact position are deleted and the "
                "cameras leave the register. What is left (the reference, dates, district and small area) "
                "identifies nobody."], className="text-secondary"),
        dbc.Card(dbc.CardBody([
            dbc.Row([
                dbc.Col([dbc.Label("Registration reference", html_for=REFERENCE),
                         dbc.Input(id=REFERENCE, maxLength=20, autoComplete="off",
                                   placeholder=retention.REFERENCE_EXAMPLE)], md=4),
                dbc.Col([dbc.Label("Reason (quote the owner's request, e.g. its ticket number)", html_for=REASON),
                         dbc.Input(id=REASON, maxLength=retention.MAX_REASON_LENGTH, autoComplete="off",
                                   placeholder="e.g. erasure request IG-2026-0412 by letter")], md=6),
                dbc.Col(dcc.ConfirmDialogProvider(
                    dbc.Button("Erase", id=ERASE, color="danger", className="w-100"),
                    id=CONFIRM, message="Erase this registration's personal data now? This cannot be undone."),
                    md=2, className="d-flex align-items-end"),
            ], className="g-3"),
            html.P("Do not put the owner's name or contact details in the reason: the audit log keeps the reason "
                   "after the registration is erased.", className="small text-secondary mt-2 mb-0"),
            html.Div(id=RESULT, className="mt-3", role="status", **{"aria-live": "polite"}),
        ]), className="mb-3"),
        html.P(f"Registrations not confirmed for {settings.retention_months} months are erased automatically "
               f"{settings.retention_grace_days} days after their owners are reminded; the auditor's page shows "
               "how many are due.", className="small text-secondary"),
    ])


def register_callbacks(app) -> None:
    @app.callback(
        Output(RESULT, "children"), Output(REFERENCE, "value"), Output(REASON, "value"),
        Input(CONFIRM, "submit_n_clicks"), State(REFERENCE, "value"), State(REASON, "value"),
        prevent_initial_call=True,
    )
    def erase(_clicks, reference, reason):
        try:
            with transaction(runtime().sessions) as s:
                done = retention.erase_on_request(s, current_user.actor, reference or "", reason or "")
        except retention.ErasureError as exc:
            return dbc.Alert(str(exc), color="danger", className="mb-0"), no_update, no_update
        cameras = f"{done.cameras_switched_off} camera{'s' if done.cameras_switched_off != 1 else ''}"
        return (dbc.Alert(f"Registration {done.reference} erased; {cameras} left the register. The erasure is "
                          "recorded in the audit log without the erased details.", color="success",
                          className="mb-0", id=f"{PREFIX}done"), "", "")


PAGE = Page(path="/erasure", title="Erasure", roles=frozenset({"admin"}), id_prefix=PREFIX, layout=layout,
            register_callbacks=register_callbacks)
