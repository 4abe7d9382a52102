"""My account (every signed-in user): issue your own API token, after typing your password again,
and see your tokens. Tokens are issued only to their owner (issue 15): nobody, administrators
included, can mint a token that acts as someone else; administrators revoke tokens on /accounts.
"""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import Input, Output, State, html, no_update
from flask_login import current_user

from dashboard.components.search_views import uk_time
from dashboard.core.vocab import ROLES
from dashboard.pages import Page
from dashboard.registry.database import transaction
from dashboard.runtime_access import runtime
from dashboard.security import accounts

PREFIX = "account-"
PASSWORD, ISSUE, ISSUE_MSG, TOKENS = "account-password", "account-issue", "account-issue-msg", "account-tokens"


def _tokens() -> list:
    with runtime().sessions() as s:
        tokens = accounts.own_tokens(s, current_user.actor)
    if tokens.empty:
        return [html.P("You have no API tokens.", className="small text-secondary mb-0")]
    return [
        html.Table(
            html.Tbody(
                [
                    html.Tr(
                        [
                            html.Td(f"Token {int(t.id)}"),
                            html.Td(f"issued {uk_time(t.created_at)}"),
                            html.Td(f"last used {uk_time(t.last_used_at)}"),
                            html.Td("revoked " + uk_time(t.revoked_at) if t.revoked_at is not None else "active"),
                        ]
                    )
                    for t in tokens.itertuples()
                ]
            ),
            className="table table-sm small mb-0",
        )
    ]


def layout(_rt=None, user=None) -> html.Div:
    return html.Div(
        [
            html.H1("My account", className="h3 mb-1"),
            html.P(f"Signed in as {user.username if user is not None else ''}.", className="text-secondary"),
            dbc.Card(
                dbc.CardBody(
                    [
                        html.H2("API tokens", className="h5"),
                        html.P(
                            "A token lets a program use the API as you: everything done with it is logged under your "
                            "name. Only you can issue your tokens; type your password to issue one. It is shown once.",
                            className="small text-secondary",
                        ),
                        dbc.Row(
                            [
                                dbc.Col(
                                    [
                                        dbc.Label("Your password", html_for=PASSWORD),
                                        dbc.Input(id=PASSWORD, type="password", autoComplete="current-password"),
                                    ],
                                    md=5,
                                ),
                                dbc.Col(
                                    dbc.Button(
                                        "Issue a token", id=ISSUE, color="primary", n_clicks=0, className="mt-4"
                                    ),
                                    md="auto",
                                ),
                            ],
                            className="g-2",
                        ),
                        html.Div(id=ISSUE_MSG, className="mt-3", role="status", **{"aria-live": "polite"}),
                        html.H3("Your tokens", className="h6 mt-3"),
                        html.Div(_tokens(), id=TOKENS),
                    ]
                )
            ),
        ]
    )


def issue_token(_clicks, password) -> dict:
    """Issue the signed-in user's own API token once they have typed their password again: the token
    shown once and the list of their tokens; the password field is emptied either way."""
    if not isinstance(password, str) or not password:
        return {
            "message": dbc.Alert("Type your password to issue a token.", color="warning", className="mb-0"),
            "tokens": no_update,
            "password": "",
        }
    try:
        with transaction(runtime().sessions) as s:
            token = accounts.issue_own_token(s, current_user.actor, password, via="account page")
    except accounts.AccountError as exc:
        return {"message": dbc.Alert(str(exc), color="danger", className="mb-0"), "tokens": no_update, "password": ""}
    shown = dbc.Alert(
        [
            html.Div("Your new API token (shown once; copy it now and keep it secret):"),
            html.Code(token, id=f"{PREFIX}new-token-value", className="fs-6 user-select-all"),
        ],
        color="success",
        className="mb-0",
    )
    return {"message": shown, "tokens": _tokens(), "password": ""}


def register_callbacks(app) -> None:
    app.callback(
        output={
            "message": Output(ISSUE_MSG, "children"),
            "tokens": Output(TOKENS, "children"),
            "password": Output(PASSWORD, "value"),
        },
        inputs=[Input(ISSUE, "n_clicks"), State(PASSWORD, "value")],
        prevent_initial_call=True,
    )(issue_token)


PAGE = Page(
    path="/account",
    title="My account",
    roles=frozenset(ROLES),
    id_prefix=PREFIX,
    layout=layout,
    register_callbacks=register_callbacks,
)
