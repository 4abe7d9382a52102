"""Erasure on request (administrators): erase one registration's personal data when its owner
asks by another route than the management link (letter, phone, email to the force).

The administrator types the reference the owner quotes and the request's reference; nothing of
the registration is shown here, before or after. ``retention.erase_on_request`` checks, erases
and logs it. An owner who no longer has their reference is found by the email address and postcode
they registered with: the page says only how many registrations match, and erases them all
(``retention.find_for_erasure``, ``retention.erase_by_email_and_postcode``; both logged).
"""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import Input, Output, State, ctx, dcc, html, no_update
from flask_login import current_user

from dashboard.pages import Page
from dashboard.registry import retention
from dashboard.registry.database import transaction
from dashboard.runtime_access import runtime

PREFIX = "erasure-"
REFERENCE, REASON, ERASE, CONFIRM, RESULT = (
    "erasure-reference",
    "erasure-reason",
    "erasure-erase",
    "erasure-confirm",
    "erasure-result",
)
# Finding an owner's registrations by the email address and postcode they registered with.
EMAIL, POSTCODE, BY_REASON, FIND, FOUND = (
    "erasure-email",
    "erasure-postcode",
    "erasure-by-reason",
    "erasure-find",
    "erasure-found",
)
ERASE_FOUND, CONFIRM_FOUND, MATCHES = "erasure-erase-found", "erasure-confirm-found", "erasure-matches"
ERASE_FOUND_LABEL = "Erase the registrations found"


def _by_contact_card() -> dbc.Card:
    return dbc.Card(
        dbc.CardBody(
            [
                html.H2("No reference? Find by email address and postcode", className="h5"),
                html.P(
                    "For an owner who no longer has their reference: every active registration made with this email "
                    "address at this postcode. You see only how many match, never what they hold.",
                    className="small text-secondary",
                ),
                dbc.Row(
                    [
                        dbc.Col(
                            [
                                dbc.Label("Email address the owner registered with", html_for=EMAIL),
                                dbc.Input(id=EMAIL, type="email", maxLength=254, autoComplete="off"),
                            ],
                            md=4,
                        ),
                        dbc.Col(
                            [
                                dbc.Label("Postcode of their cameras", html_for=POSTCODE),
                                dbc.Input(id=POSTCODE, maxLength=10, autoComplete="off"),
                            ],
                            md=2,
                        ),
                        dbc.Col(
                            [
                                dbc.Label(
                                    "Reason (quote the owner's request, e.g. its ticket number)", html_for=BY_REASON
                                ),
                                dbc.Input(
                                    id=BY_REASON,
                                    maxLength=retention.MAX_REASON_LENGTH,
                                    autoComplete="off",
                                    placeholder="e.g. erasure request IG-2026-0412 by letter",
                                ),
                            ],
                            md=4,
                        ),
                        dbc.Col(
                            dbc.Button("Find", id=FIND, color="primary", outline=True, className="w-100"),
                            md=2,
                            className="d-flex align-items-end",
                        ),
                    ],
                    className="g-3",
                ),
                html.Div(id=FOUND, className="mt-3", role="status", **{"aria-live": "polite"}),
                dcc.ConfirmDialogProvider(
                    dbc.Button(ERASE_FOUND_LABEL, id=ERASE_FOUND, color="danger", disabled=True, className="mt-1"),
                    id=CONFIRM_FOUND,
                    message="Erase every registration found, now? This cannot be undone.",
                ),
                # How many were found, and the email address and postcode as the administrator typed them (so
                # that Erase erases what was found): nothing of the registrations themselves.
                dcc.Store(id=MATCHES, data=None),
            ]
        ),
        className="mb-3",
    )


def layout(_rt=None, _user=None) -> html.Div:
    settings = runtime().settings
    return html.Div(
        [
            html.H1("Erasure on request", className="h3 mb-1"),
            html.P(
                [
                    "When an owner asks to be removed by letter, phone or email, erase their registration here. Owners "
                    "can also withdraw themselves at any time from the link they were sent. Erasure is immediate and "
                    "cannot be undone: the name, contact details, address and exact position are deleted and the "
                    "cameras leave the register. What is left (the reference, dates, district and small area) "
                    "identifies nobody."
                ],
                className="text-secondary",
            ),
            dbc.Card(
                dbc.CardBody(
                    [
                        dbc.Row(
                            [
                                dbc.Col(
                                    [
                                        dbc.Label("Registration reference", html_for=REFERENCE),
                                        dbc.Input(
                                            id=REFERENCE,
                                            maxLength=20,
                                            autoComplete="off",
                                            placeholder=retention.REFERENCE_EXAMPLE,
                                        ),
                                    ],
                                    md=4,
                                ),
                                dbc.Col(
                                    [
                                        dbc.Label(
                                            "Reason (quote the owner's request, e.g. its ticket number)",
                                            html_for=REASON,
                                        ),
                                        dbc.Input(
                                            id=REASON,
                                            maxLength=retention.MAX_REASON_LENGTH,
                                            autoComplete="off",
                                            placeholder="e.g. erasure request IG-2026-0412 by letter",
                                        ),
                                    ],
                                    md=6,
                                ),
                                dbc.Col(
                                    dcc.ConfirmDialogProvider(
                                        dbc.Button("Erase", id=ERASE, color="danger", className="w-100"),
                                        id=CONFIRM,
                                        message="Erase this registration's personal data now? This cannot be undone.",
                                    ),
                                    md=2,
                                    className="d-flex align-items-end",
                                ),
                            ],
                            className="g-3",
                        ),
                        html.P(
                            "Do not put the owner's name or contact details in the reason: the audit log keeps the reason "
                            "after the registration is erased.",
                            className="small text-secondary mt-2 mb-0",
                        ),
                        html.Div(id=RESULT, className="mt-3", role="status", **{"aria-live": "polite"}),
                    ]
                ),
                className="mb-3",
            ),
            _by_contact_card(),
            html.P(
                f"Registrations not confirmed for {settings.retention_months} months are erased automatically "
                f"{settings.retention_grace_days} days after their owners are reminded; the auditor's page shows "
                "how many are due.",
                className="small text-secondary",
            ),
        ]
    )


def erase_by_reference(_clicks, reference, reason) -> dict:
    """Erase the registration whose reference the owner quoted (checked, erased and logged by
    ``retention.erase_on_request``) and empty the fields; a refusal says why and keeps them."""
    try:
        with transaction(runtime().sessions) as s:
            done = retention.erase_on_request(s, current_user.actor, reference or "", reason or "")
    except retention.ErasureError as exc:
        return {
            "result": dbc.Alert(str(exc), color="danger", className="mb-0"),
            "reference": no_update,
            "reason": no_update,
        }
    cameras = f"{done.cameras_switched_off} camera{'s' if done.cameras_switched_off != 1 else ''}"
    return {
        "result": dbc.Alert(
            f"Registration {done.reference} erased; {cameras} left the register. The erasure is "
            "recorded in the audit log without the erased details.",
            color="success",
            className="mb-0",
            id=f"{PREFIX}done",
        ),
        "reference": "",
        "reason": "",
    }


def _by_contact_answer(message, matches: dict | None = None) -> dict:
    """What the by-contact card shows: the message, and the Erase button enabled only for ``matches``
    (how many were found, the key naming exactly which, and the email address and postcode they were
    found by)."""
    if matches is None:
        return {"message": message, "erase_disabled": True, "erase_label": ERASE_FOUND_LABEL, "matches": None}
    regs = f"{matches['n']} active registration{'s' if matches['n'] != 1 else ''}"
    return {"message": message, "erase_disabled": False, "erase_label": f"Erase the {regs}", "matches": matches}


def find_or_erase_by_contact(_find, _confirm, email, postcode, reason, matches, trigger=None) -> dict:
    """Find (``trigger`` FIND) how many active registrations were made with an email address at a
    postcode, showing only the count; or, once confirmed (``trigger`` CONFIRM_FOUND), erase exactly what
    was found, by the email address and postcode as typed then (both logged by ``retention``)."""
    rt = runtime()
    erasing = trigger == CONFIRM_FOUND
    if erasing:  # what was found, as typed then (the fields may have been changed since)
        if not isinstance(matches, dict):
            return _by_contact_answer(dbc.Alert("Find the registrations first.", color="danger", className="mb-0"))
        email, postcode = str(matches.get("email") or ""), str(matches.get("postcode") or "")
    try:
        with transaction(rt.sessions) as s:
            if erasing:
                done = retention.erase_by_email_and_postcode(
                    s,
                    current_user.actor,
                    email,
                    postcode,
                    reason,
                    rt.reference,
                    expected=retention.Found(int(matches.get("n") or 0), str(matches.get("key") or "")),
                )
            else:
                found = retention.find_for_erasure(s, current_user.actor, email, postcode, reason, rt.reference)
    except retention.ErasureError as exc:
        return _by_contact_answer(dbc.Alert(str(exc), color="danger", className="mb-0"))
    if erasing:
        cameras = f"{done.cameras_switched_off} camera{'s' if done.cameras_switched_off != 1 else ''}"
        regs = f"{done.registrations} registration{'s' if done.registrations != 1 else ''}"
        return _by_contact_answer(
            dbc.Alert(
                f"{regs} erased; {cameras} left the register. The erasure is recorded in the audit "
                "log without the erased details.",
                color="success",
                className="mb-0",
                id=f"{PREFIX}found-done",
            )
        )
    if found.count == 0:
        return _by_contact_answer(
            dbc.Alert(
                "No active registration was made with that email address at that postcode.",
                color="secondary",
                className="mb-0",
                id=f"{PREFIX}found-none",
            )
        )
    n = found.count
    regs = f"{n} active registration{'s' if n != 1 else ''}"
    return _by_contact_answer(
        dbc.Alert(
            f"{regs} {'match' if n != 1 else 'matches'}. Nothing of {'them' if n != 1 else 'it'} is shown here.",
            color="warning",
            className="mb-0",
            id=f"{PREFIX}found-count",
        ),
        {"n": n, "key": found.key, "email": email, "postcode": postcode},
    )


def register_callbacks(app) -> None:
    app.callback(
        output={
            "result": Output(RESULT, "children"),
            "reference": Output(REFERENCE, "value"),
            "reason": Output(REASON, "value"),
        },
        inputs=[Input(CONFIRM, "submit_n_clicks"), State(REFERENCE, "value"), State(REASON, "value")],
        prevent_initial_call=True,
    )(erase_by_reference)

    app.callback(
        output={
            "message": Output(FOUND, "children"),
            "erase_disabled": Output(ERASE_FOUND, "disabled"),
            "erase_label": Output(ERASE_FOUND, "children"),
            "matches": Output(MATCHES, "data"),
        },
        inputs=[
            Input(FIND, "n_clicks"),
            Input(CONFIRM_FOUND, "submit_n_clicks"),
            State(EMAIL, "value"),
            State(POSTCODE, "value"),
            State(BY_REASON, "value"),
            State(MATCHES, "data"),
        ],
        prevent_initial_call=True,
    )(lambda *values: find_or_erase_by_contact(*values, trigger=ctx.triggered_id))


PAGE = Page(
    path="/erasure",
    title="Erasure",
    roles=frozenset({"admin"}),
    id_prefix=PREFIX,
    layout=layout,
    register_callbacks=register_callbacks,
)
