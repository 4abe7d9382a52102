"""Accounts (administrators): create users, change roles, disable and re-enable, reset passwords,
revoke API tokens (each user issues their own on /account). Each action is a call to
``dashboard.security.accounts``, which checks the rules and writes the audit log; a new password
is shown once, here.
"""

from __future__ import annotations

import datetime as dt

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, ctx, dcc, html, no_update
from flask_login import current_user

from dashboard.components.grid_columns import WRAP_HEADERS, figure
from dashboard.components.search_views import uk_time
from dashboard.core.vocab import ROLE_LABELS
from dashboard.pages import Page
from dashboard.registry.database import transaction
from dashboard.registry.models import utcnow
from dashboard.runtime_access import runtime
from dashboard.security import accounts

PREFIX = "accounts-"
NEW_NAME, NEW_ROLE, NEW_PASSWORD, CREATE = (
    "accounts-new-name",
    "accounts-new-role",
    "accounts-new-password",
    "accounts-create",
)
CREATE_MSG, USERS, SELECTED = "accounts-create-msg", "accounts-users", "accounts-selected"
PANEL_TITLE, PANEL_STATE, ROLE, SET_ROLE = (
    "accounts-panel-title",
    "accounts-panel-state",
    "accounts-role",
    "accounts-set-role",
)
DISABLE, DISABLE_CONFIRM, ENABLE = "accounts-disable", "accounts-disable-confirm", "accounts-enable"
RESET, RESET_CONFIRM, TOKENS, ACTION_MSG = (
    "accounts-reset",
    "accounts-reset-confirm",
    "accounts-tokens",
    "accounts-action-msg",
)
REVOKE = "accounts-revoke"  # pattern-matching id type, one button per token
PANEL_BUTTONS = (SET_ROLE, DISABLE, ENABLE, RESET)
ROLE_OPTIONS = [{"label": label, "value": role} for role, label in ROLE_LABELS.items()]

USER_COLUMNS = [
    {"field": "username", "headerName": "Username"},
    {"field": "role", "headerName": "Role"},
    {"field": "status", "headerName": "Status"},
    {"field": "last_login", "headerName": "Last login"},
    {"field": "open_sessions", "headerName": "Open sessions", "type": "numericColumn", "valueFormatter": figure()},
    {"field": "tokens", "headerName": "API tokens", "type": "numericColumn", "valueFormatter": figure()},
]


def _user_rows() -> list[dict]:
    rt = runtime()
    open_since = utcnow() - dt.timedelta(hours=rt.settings.session_max_hours)
    with rt.sessions() as s:
        frame = accounts.user_table(s, open_since)
    return [
        {
            "id": int(r.id),
            "username": r.username,
            "role": ROLE_LABELS.get(r.role, r.role),
            "status": "Active" if r.active else "Disabled",
            "last_login": uk_time(r.last_login_at),
            "open_sessions": int(r.open_sessions),
            "tokens": int(r.tokens),
        }
        for r in frame.itertuples()
    ]


def _user_id(value) -> int | None:
    """The selected user's id as the table stores it; anything else (a forged request) is no selection."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _panel(user_id: int | None):
    """Title, state line, role value, which buttons are disabled, and the token list of one user."""
    if user_id is None:
        return "Select a user above", "", None, [True] * len(PANEL_BUTTONS), []
    with runtime().sessions() as s:
        user = s.get(accounts.User, user_id)
        tokens = accounts.token_table(s, user_id) if user is not None else None
    if user is None:
        return "Select a user above", "", None, [True] * len(PANEL_BUTTONS), []
    state = (
        f"{ROLE_LABELS.get(user.role, user.role)} · {'active' if user.active else 'disabled'} · "
        f"created {uk_time(user.created_at)} · last login {uk_time(user.last_login_at)}"
    )
    disabled = [not user.active, not user.active, user.active, not user.active]
    return user.username, state, user.role, disabled, _token_list(tokens)


def _token_list(tokens) -> list:
    if tokens is None or tokens.empty:
        return [html.P("No API tokens.", className="small text-secondary mb-0")]
    rows = [
        html.Tr(
            [
                html.Td(f"Token {int(t.id)}"),
                html.Td(f"issued {uk_time(t.created_at)}"),
                html.Td(f"last used {uk_time(t.last_used_at)}"),
                html.Td(
                    f"revoked {uk_time(t.revoked_at)}"
                    if t.revoked_at is not None and str(t.revoked_at) != "NaT"
                    else dbc.Button(
                        "Revoke", id={"type": REVOKE, "token": int(t.id)}, color="outline-danger", size="sm", n_clicks=0
                    )
                ),
            ]
        )
        for t in tokens.itertuples()
    ]
    return [dbc.Table(html.Tbody(rows), size="sm", className="align-middle mb-0")]


def _shown_once(what: str, secret: str, who: str, element_id: str):
    return dbc.Alert(
        [
            html.Div(f"{what} for {who} (shown once; copy it now and pass it on securely):"),
            html.Code(secret, id=element_id, className="fs-6 user-select-all"),
        ],
        color="success",
        className="mb-0",
    )


def layout(_rt=None, _user=None) -> html.Div:
    return html.Div(
        [
            html.H1("Accounts", className="h3 mb-1"),
            html.P(
                "Staff who can log in, their roles and API tokens. Disabling a user ends their sessions and revokes "
                "their tokens at once; every change here is written to the audit log.",
                className="text-secondary",
            ),
            dbc.Card(
                dbc.CardBody(
                    [
                        html.H2("New user", className="h5"),
                        dbc.Row(
                            [
                                dbc.Col(
                                    [
                                        dbc.Label("Username", html_for=NEW_NAME),
                                        dbc.Input(id=NEW_NAME, maxLength=64, autoComplete="off"),
                                    ],
                                    md=4,
                                ),
                                dbc.Col(
                                    [
                                        dbc.Label("Role", html_for=NEW_ROLE),
                                        dbc.Select(id=NEW_ROLE, options=ROLE_OPTIONS, value="officer"),
                                    ],
                                    md=3,
                                ),
                                dbc.Col(
                                    [
                                        dbc.Label("Password (leave blank to generate one)", html_for=NEW_PASSWORD),
                                        dbc.Input(
                                            id=NEW_PASSWORD, type="password", maxLength=128, autoComplete="new-password"
                                        ),
                                    ],
                                    md=3,
                                ),
                                dbc.Col(
                                    dbc.Button("Create", id=CREATE, color="primary", className="w-100", n_clicks=0),
                                    md=2,
                                    className="d-flex align-items-end",
                                ),
                            ],
                            className="g-3",
                        ),
                        html.P(
                            "Passwords need at least 12 characters and must not be a commonly used password.",
                            className="small text-secondary mt-2 mb-0",
                        ),
                        html.Div(id=CREATE_MSG, className="mt-3", role="status", **{"aria-live": "polite"}),
                    ]
                ),
                className="mb-3",
            ),
            dbc.Card(
                dbc.CardBody(
                    [
                        html.H2("Users", className="h5"),
                        dag.AgGrid(
                            id=USERS,
                            columnDefs=USER_COLUMNS,
                            rowData=_user_rows(),
                            getRowId="params.data.id.toString()",
                            columnSize="responsiveSizeToFit",
                            defaultColDef={"minWidth": 110, **WRAP_HEADERS},  # a phone scrolls the box
                            dashGridOptions={
                                "rowSelection": {"mode": "singleRow", "enableClickSelection": True},
                                "domLayout": "autoHeight",
                                "pagination": True,
                                "paginationPageSize": 15,
                                "paginationPageSizeSelector": False,
                            },
                            style={"width": "100%"},
                        ),
                    ]
                ),
                className="mb-3",
            ),
            dcc.Store(id=SELECTED),
            dbc.Card(
                dbc.CardBody(
                    [
                        html.H2("Select a user above", className="h5 mb-0", id=PANEL_TITLE),
                        html.P("", id=PANEL_STATE, className="small text-secondary"),
                        dbc.Row(
                            [
                                dbc.Col(
                                    [dbc.Label("Role", html_for=ROLE), dbc.Select(id=ROLE, options=ROLE_OPTIONS)], md=3
                                ),
                                dbc.Col(
                                    dbc.Button(
                                        "Change role",
                                        id=SET_ROLE,
                                        color="primary",
                                        outline=True,
                                        n_clicks=0,
                                        disabled=True,
                                        className="mt-4",
                                    ),
                                    md="auto",
                                ),
                                dbc.Col(
                                    html.Div(
                                        [
                                            dcc.ConfirmDialogProvider(
                                                dbc.Button(
                                                    "Disable", id=DISABLE, color="danger", outline=True, disabled=True
                                                ),
                                                id=DISABLE_CONFIRM,
                                                message="Disable this user? Their sessions end and their API tokens are revoked at once.",
                                            ),
                                            dbc.Button(
                                                "Re-enable",
                                                id=ENABLE,
                                                color="success",
                                                outline=True,
                                                n_clicks=0,
                                                disabled=True,
                                            ),
                                            dcc.ConfirmDialogProvider(
                                                dbc.Button(
                                                    "Reset password",
                                                    id=RESET,
                                                    color="secondary",
                                                    outline=True,
                                                    disabled=True,
                                                ),
                                                id=RESET_CONFIRM,
                                                message="Give this user a new random password? Their sessions end at once.",
                                            ),
                                        ],
                                        className="d-flex flex-wrap gap-2 mt-4",
                                    )
                                ),
                            ],
                            className="g-2 align-items-start",
                        ),
                        html.Div(id=ACTION_MSG, className="mt-3", role="status", **{"aria-live": "polite"}),
                        html.H3("API tokens", className="h6 mt-3"),
                        html.P(
                            "Each user issues their own tokens on their account page (their password is asked again); "
                            "an administrator can revoke them here.",
                            className="small text-secondary",
                        ),
                        html.Div(id=TOKENS),
                    ]
                )
            ),
        ]
    )


def _run(action) -> tuple[bool, object]:
    """Run one account action in a transaction; (True, result) or (False, the refusal message)."""
    try:
        with transaction(runtime().sessions) as s:
            return True, action(s)
    except accounts.AccountError as exc:
        return False, str(exc)


def _act(trigger, user_id: int | None, role: str | None):
    """The domain call for the button pressed, and the message to show."""
    actor = current_user.actor
    if isinstance(trigger, dict) and trigger.get("type") == REVOKE:
        token_id = trigger.get("token")
        ok, out = _run(lambda s: accounts.revoke_token(s, actor, token_id))
        return ok, f"Token {token_id} revoked; it no longer works." if ok else out
    if user_id is None:
        return False, "Select a user first."
    if trigger == SET_ROLE:
        ok, out = _run(lambda s: accounts.set_role(s, actor, user_id, role or "").username)
        return ok, f"{out} is now {ROLE_LABELS.get(role, role).lower()}." if ok else out
    if trigger == DISABLE_CONFIRM:
        ok, out = _run(lambda s: accounts.disable_user(s, actor, user_id))
        return ok, (
            f"User disabled; {out} open session{'s' if out != 1 else ''} ended and API tokens revoked." if ok else out
        )
    if trigger == ENABLE:
        ok, out = _run(lambda s: accounts.enable_user(s, actor, user_id).username)
        return ok, f"{out} can log in again." if ok else out
    if trigger == RESET_CONFIRM:
        ok, out = _run(lambda s: (accounts.reset_password(s, actor, user_id), s.get(accounts.User, user_id).username))
        return ok, _shown_once("New password", out[0], out[1], f"{PREFIX}new-password-value") if ok else out
    return False, "Unknown action."


def create_user(_clicks, username, role, password) -> dict:
    """Create the user typed in (``accounts.add_user`` checks the rules and logs it): the password typed,
    or one generated and shown once; the table refreshed and the form's name and password emptied. A
    refusal is shown and the name typed is kept."""

    def add(s):
        user, generated = accounts.add_user(
            s,
            current_user.actor,
            username or "",
            role or "",
            password or None,
            context=(runtime().reference.force_name,),
        )
        return user.username, generated

    ok, out = _run(add)
    if not ok:
        return {
            "message": dbc.Alert(out, color="danger", className="mb-0"),
            "users": no_update,
            "name": no_update,
            "password": "",
        }
    name, generated = out
    message = (
        _shown_once("Password", generated, name, f"{PREFIX}generated-password")
        if generated
        else dbc.Alert(f"User {name} created with the password you typed.", color="success", className="mb-0")
    )
    return {"message": message, "users": _user_rows(), "name": "", "password": ""}


def select_user(rows, current):
    """The user selected in the table (``rows``), and the last action's message cleared; when the
    selection is still ``current`` (the table was refreshed after an action) the message stays."""
    chosen = int(rows[0]["id"]) if rows else None
    if chosen == current:  # the table was refreshed after an action: keep its message
        return no_update, no_update
    return chosen, ""


# The panel's buttons' ``disabled`` by their keys in the callbacks' answers, in PANEL_BUTTONS' order.
DISABLED_KEYS = ("disabled_set_role", "disabled_disable", "disabled_enable", "disabled_reset")


def _disabled(disabled) -> dict:
    return dict(zip(DISABLED_KEYS, disabled, strict=True))


def show_user(user_id) -> dict:
    """The panel for the selected user: name, state, role, which actions are open, and their API tokens."""
    title, state, role, disabled, tokens = _panel(_user_id(user_id))
    return {"title": title, "state": state, "role": role, **_disabled(disabled), "tokens": tokens}


def act_on_user(
    _set_role, _disable, _enable, _reset, _revokes, selected, role, *, trigger=None, trigger_clicks=None
) -> dict:
    """The action pressed (``trigger``: the id of the button; a token's revoke button has a dict id) on the
    ``selected`` user, with the ``role`` chosen; the buttons' clicks are not read. Shows the outcome, and
    refreshes the table (after a success) and the panel. A revoke button drawn again (``trigger_clicks``,
    the button's clicks, empty) is not a press: nothing changes."""
    user_id = _user_id(selected)
    if isinstance(trigger, dict) and not trigger_clicks:
        return dict.fromkeys(_ACT_OUTPUTS, no_update)  # a token list re-rendered, not a click
    ok, message = _act(trigger, user_id, role)
    shown = (
        message
        if not isinstance(message, str)
        else dbc.Alert(message, color="success" if ok else "danger", className="mb-0")
    )
    _title, state, _role, disabled, tokens = _panel(user_id)
    return {
        "message": shown,
        "users": _user_rows() if ok else no_update,
        "state": state,
        **_disabled(disabled),
        "tokens": tokens,
    }


_ACT_OUTPUTS = {
    "message": Output(ACTION_MSG, "children", allow_duplicate=True),
    "users": Output(USERS, "rowData", allow_duplicate=True),
    "state": Output(PANEL_STATE, "children", allow_duplicate=True),
    **{k: Output(b, "disabled", allow_duplicate=True) for k, b in zip(DISABLED_KEYS, PANEL_BUTTONS, strict=True)},
    "tokens": Output(TOKENS, "children", allow_duplicate=True),
}


def register_callbacks(app) -> None:
    app.callback(
        output={
            "message": Output(CREATE_MSG, "children"),
            "users": Output(USERS, "rowData"),
            "name": Output(NEW_NAME, "value"),
            "password": Output(NEW_PASSWORD, "value"),
        },
        inputs=[Input(CREATE, "n_clicks")],
        state=[State(NEW_NAME, "value"), State(NEW_ROLE, "value"), State(NEW_PASSWORD, "value")],
        prevent_initial_call=True,
    )(create_user)
    app.callback(
        Output(SELECTED, "data"),
        Output(ACTION_MSG, "children", allow_duplicate=True),
        Input(USERS, "selectedRows"),
        State(SELECTED, "data"),
        prevent_initial_call=True,
    )(select_user)
    app.callback(
        output={
            "title": Output(PANEL_TITLE, "children"),
            "state": Output(PANEL_STATE, "children"),
            "role": Output(ROLE, "value"),
            **{k: Output(b, "disabled") for k, b in zip(DISABLED_KEYS, PANEL_BUTTONS, strict=True)},
            "tokens": Output(TOKENS, "children"),
        },
        inputs=[Input(SELECTED, "data")],
    )(show_user)
    app.callback(
        output=_ACT_OUTPUTS,
        inputs=[
            Input(SET_ROLE, "n_clicks"),
            Input(DISABLE_CONFIRM, "submit_n_clicks"),
            Input(ENABLE, "n_clicks"),
            Input(RESET_CONFIRM, "submit_n_clicks"),
            Input({"type": REVOKE, "token": ALL}, "n_clicks"),
        ],
        state=[State(SELECTED, "data"), State(ROLE, "value")],
        prevent_initial_call=True,
    )(
        lambda *values: act_on_user(
            *values, trigger=ctx.triggered_id, trigger_clicks=ctx.triggered[0]["value"] if ctx.triggered else None
        )
    )


PAGE = Page(
    path="/accounts",
    title="Accounts",
    roles=frozenset({"admin"}),
    id_prefix=PREFIX,
    layout=layout,
    register_callbacks=register_callbacks,
)
