"""My cases, evidence: triage of the footage owners sent, the player, the case's team, closing the
case, downloads and the hand-off bundle (issue 17). Part of the My cases page (ids ``cases-ev-``).

Callbacks are thin: each reads the selected case's id (``CSE-``) and calls one function of
``dashboard.evidence``, which checks that the user is on the case's team (refusals are logged).
Files are served by the routes at the end (``/cases/evidence/...``) through signed links that the
play, download and export callbacks log with the officer's reason.
"""

from __future__ import annotations

import re

import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, callback_context, dcc, html, no_update
from flask import Blueprint, Response, render_template, send_file
from flask_login import current_user

from dashboard.components import evidence_views as ev
from dashboard.evidence import bundle, triage, viewing
from dashboard.evidence import cases as case_files
from dashboard.footage.storage import Store
from dashboard.registry.casework import CaseworkError
from dashboard.registry.database import transaction
from dashboard.registry.models import utcnow
from dashboard.runtime_access import runtime
from dashboard.security.limit_store import SqlCounterStorage

PATH = "/cases/evidence"
CARD, TITLE, BODY, MSG = "cases-ev-box", "cases-ev-title", "cases-ev-body", "cases-ev-msg"
VERSION, LINK, PLAYER = "cases-ev-version", "cases-ev-link", "cases-ev-player"
REASON, REMAINING, SCOPE, EXPORT = "cases-ev-reason", "cases-ev-remaining", "cases-ev-scope", "cases-ev-export"
TEAM, TEAM_USER, TEAM_ADD, TEAM_REMOVE = (
    "cases-ev-team",
    "cases-ev-team-user",
    "cases-ev-team-add",
    "cases-ev-team-remove",
)
CLOSE, CLOSE_NOTE, RELOAD, LINK_SINK = "cases-ev-close", "cases-ev-close-note", "cases-ev-reload", "cases-ev-link-sink"
CONTROLS = "cases-ev-controls"


def selected_case_id(selected) -> str | None:
    if isinstance(selected, list) and selected and isinstance(selected[0], dict):
        value = selected[0].get("case_id")
        return value if isinstance(value, str) else None
    return None


def layout(settings) -> dbc.Card:
    declined, closed = settings.evidence_declined_days, settings.evidence_closed_case_days
    return dbc.Card(
        dbc.CardBody(
            [
                html.H2("Footage sent by owners", className="h5", id=TITLE),
                html.Div(
                    id=CONTROLS,
                    hidden=True,
                    children=[
                        html.Div(id=TEAM, className="mb-2"),
                        dbc.Row(
                            [
                                dbc.Col(
                                    [
                                        dbc.Label(
                                            "Add an officer to the case's team (their username)",
                                            html_for=TEAM_USER,
                                            className="small",
                                        ),
                                        dbc.InputGroup(
                                            [
                                                dbc.Input(id=TEAM_USER, placeholder="e.g. sam.jones", maxLength=64),
                                                dbc.Button(
                                                    "Add to team",
                                                    id=TEAM_ADD,
                                                    color="secondary",
                                                    outline=True,
                                                    n_clicks=0,
                                                ),
                                            ]
                                        ),
                                    ],
                                    md=6,
                                    className="mb-2",
                                ),
                                dbc.Col(
                                    [
                                        dbc.Button("Close case", id=CLOSE, color="secondary", outline=True, n_clicks=0),
                                        html.Span(id=CLOSE_NOTE, className="small text-secondary ms-2"),
                                    ],
                                    md=6,
                                    className="mb-2 text-md-end",
                                ),
                            ],
                            className="g-2",
                        ),
                        html.P(
                            f"Kept for this case: exhibits while the case is open; declined files for {declined:,} days after "
                            f"the decision; every file for {closed:,} days after the case is closed. Then the footage is "
                            "deleted (its SHA-256 stays in the log).",
                            className="small text-secondary",
                        ),
                        html.Hr(),
                        dbc.Row(
                            [
                                dbc.Col(
                                    [
                                        dbc.Label(
                                            "Reason for viewing, downloading or exporting footage", html_for=REASON
                                        ),
                                        dbc.Input(
                                            id=REASON,
                                            maxLength=500,
                                            placeholder="e.g. reviewing owner footage for the suspect's route",
                                        ),
                                    ],
                                    md=8,
                                ),
                                dbc.Col(
                                    dbc.Button(
                                        "Check for new footage",
                                        id=RELOAD,
                                        color="link",
                                        n_clicks=0,
                                        className="mt-md-4",
                                    ),
                                    md=4,
                                    className="text-md-end",
                                ),
                            ],
                            className="g-2 mb-2",
                        ),
                        dbc.Row(
                            [
                                dbc.Col(
                                    dbc.Button(
                                        "Accept remaining files",
                                        id=REMAINING,
                                        color="success",
                                        outline=True,
                                        n_clicks=0,
                                        className="mt-md-4",
                                    ),
                                    xs=12,
                                    md=4,
                                    className="mb-2",
                                ),
                                dbc.Col(
                                    [
                                        dbc.Label("Export the accepted exhibits of", html_for=SCOPE, className="small"),
                                        dbc.InputGroup(
                                            [
                                                dbc.Select(
                                                    id=SCOPE,
                                                    options=[{"label": "Whole case", "value": "case"}],
                                                    value="case",
                                                ),
                                                dbc.Button(
                                                    "Export evidence (ZIP)", id=EXPORT, color="primary", n_clicks=0
                                                ),
                                            ]
                                        ),
                                    ],
                                    xs=12,
                                    md=8,
                                    className="mb-2",
                                ),
                            ],
                            className="g-2",
                        ),
                    ],
                ),
                html.Div(id=MSG, role="status", **{"aria-live": "polite"}),
                html.Div(id=PLAYER),
                html.Div(
                    id=BODY,
                    children=[
                        html.P("Select a case above to see the footage its owners sent.", className="text-secondary")
                    ],
                ),
                dcc.Store(id=VERSION, data=0),
                dcc.Store(id=LINK),
                html.Div(id=LINK_SINK, hidden=True),
            ]
        ),
        className="mb-3",
        id=CARD,
    )


def _alert(text: str, color: str, ident: str | None = None) -> dbc.Alert:
    return dbc.Alert(text, color=color, **({"id": ident} if ident else {}), className="py-2")


def _team_view(seen: case_files.CaseSeen, members: list[case_files.Member]) -> html.Div:
    people = [html.Li(f"{seen.officer} (case officer{', you' if seen.own else ''})")]
    for m in members:
        you = " (you)" if m.user_id == current_user.id else ""
        remove = (
            dbc.Button(
                "Remove",
                id={"type": TEAM_REMOVE, "user": m.username},
                color="link",
                size="sm",
                className="py-0",
                n_clicks=0,
            )
            if seen.own
            else None
        )
        people.append(html.Li([f"{m.username}{you}, added by {m.added_by} on {ev.uk(m.added_at)} ", remove]))
    state = "Closed " + ev.uk(seen.closed_at) if seen.closed_at else "Open"
    return html.Div([html.Strong(f"Case {seen.case_ref} · {state} · Team: "), html.Ul(people, className="mb-0 small")])


def _render(case_id: str):
    rt = runtime()
    actor = current_user.actor
    with transaction(rt.sessions) as s:
        evidence, members, suggested = triage.case_page(s, actor, case_id, rt.settings.exhibit_ref_format)
    seen = evidence.case
    options = [{"label": "Whole case", "value": "case"}] + [
        {"label": f"Request {r}", "value": r} for sub in evidence.submissions for r in sub.request_ids
    ]
    closed = seen.closed_at is not None
    return {
        "title": f"Footage sent by owners: case {seen.case_ref}",
        "body": ev.evidence_body(evidence, suggested),
        "team": _team_view(seen, members),
        "hide_controls": False,
        "scopes": options,
        "close_label": "Reopen case" if closed else "Close case",
        "close_note": "" if seen.own else "Only the case officer can change the team or close the case.",
        "close_disabled": not seen.own,
        "add_disabled": not seen.own,
    }


def _nothing_shown(message) -> dict:
    """What the evidence card shows when no case is shown: ``message`` in its body, the controls hidden."""
    return {
        "title": "Footage sent by owners",
        "body": [message],
        "team": [],
        "hide_controls": True,
        "scopes": no_update,
        "close_label": no_update,
        "close_note": "",
        "close_disabled": True,
        "add_disabled": True,
    }


def _triggered():
    trigger = callback_context.triggered_id
    value = callback_context.triggered[0].get("value") if callback_context.triggered else None
    return trigger, value


def _state_for(name: str, file_id: str):
    for group in callback_context.states_list:
        for item in group if isinstance(group, list) else [group]:
            ident = item.get("id")
            if isinstance(ident, dict) and ident.get("type") == name and ident.get("file") == file_id:
                return item.get("value")
    return None


def _fired_by(function, buttons: int):
    """``function`` wired as a Dash callback whose first ``buttons`` inputs are the buttons that fire it
    (their click counts unused): called with the rest of the callback's arguments, the component that
    fired (``trigger``) and the value that fired it (``clicks``), read from the callback context."""

    def call(*args):
        trigger, clicks = _triggered()
        return function(*args[buttons:], trigger=trigger, clicks=clicks)

    return call


def show_case_evidence(selected, _version, _reload) -> dict:
    """The evidence card of the selected case (``triage.case_page`` checks the user is on its team and logs
    a refusal): title, the owners' files, the team, the controls and the export's scopes. With no case
    selected, or a refusal, the prompt or the refusal and the controls hidden."""
    case_id = selected_case_id(selected)
    if not case_id:
        return _nothing_shown(
            html.P("Select a case above to see the footage its owners sent.", className="text-secondary")
        )
    try:
        return _render(case_id)
    except CaseworkError as exc:
        return _nothing_shown(_alert(str(exc), "danger"))


def decide_on_file(version, exhibit_ref=None, why=None, why_note=None, *, trigger=None, clicks=None):
    """Accepts (with ``exhibit_ref``, or the next in the force's format) or declines (with ``why`` and
    ``why_note``) the file whose button ``trigger`` is, logged by ``triage``: the message and the next
    version of the card (which redraws it). No click, no change."""
    if not isinstance(trigger, dict) or not clicks:
        return no_update, no_update
    file_id = trigger.get("file")
    rt = runtime()
    try:
        with transaction(rt.sessions) as s:
            if trigger.get("type") == ev.ACCEPT:
                f = triage.accept(
                    s,
                    current_user.actor,
                    file_id,
                    exhibit_ref=exhibit_ref,
                    now=utcnow(),
                    fmt=rt.settings.exhibit_ref_format,
                )
                text = f"{f.public_id} accepted as exhibit {f.exhibit_ref}."
            else:
                f = triage.decline(s, current_user.actor, file_id, reason=why or None, note=why_note, now=utcnow())
                text = f"{f.public_id} declined."
    except CaseworkError as exc:
        return _alert(str(exc), "danger"), no_update
    return _alert(text, "success", "cases-ev-done"), (version or 0) + 1


def _decide_from_context(_refs, _whys, _notes, version, *, trigger, clicks):
    """The decide callback's wiring: the fired file's exhibit reference and decline reason and note, read
    from the pattern-matched states by the file's id."""
    if not isinstance(trigger, dict) or not clicks:
        return decide_on_file(version, trigger=trigger, clicks=clicks)  # no change, the states unread
    file_id = trigger.get("file")
    return decide_on_file(
        version,
        _state_for(ev.REF, file_id),
        _state_for(ev.WHY, file_id),
        _state_for(ev.WHY_NOTE, file_id),
        trigger=trigger,
        clicks=clicks,
    )


def accept_remaining_files(clicks, selected, version):
    """Accepts every file of the selected case not yet decided, each with the next exhibit reference."""
    if not clicks:
        return no_update, no_update
    rt = runtime()
    try:
        with transaction(rt.sessions) as s:
            files = triage.accept_remaining(
                s, current_user.actor, selected_case_id(selected), now=utcnow(), fmt=rt.settings.exhibit_ref_format
            )
            refs = [f.exhibit_ref for f in files]
    except CaseworkError as exc:
        return _alert(str(exc), "danger"), no_update
    return _alert(
        f"{len(refs):,} file{'' if len(refs) == 1 else 's'} accepted: exhibits {', '.join(refs)}.",
        "success",
        "cases-ev-done",
    ), (version or 0) + 1


def play_or_download_file(reason, selected, *, trigger=None, clicks=None) -> dict:
    """A logged, signed link to the file whose play or download button ``trigger`` is, given ``reason``:
    the player (with the owner's statement, so only from the selected case) or the link the browser
    downloads, and the message."""
    if not isinstance(trigger, dict) or not clicks:
        return {"player": no_update, "link": no_update, "message": no_update}
    kind = "play" if trigger.get("type") == ev.PLAY else "download"
    rt = runtime()
    file_id, shown = trigger.get("file"), None
    try:
        with transaction(rt.sessions) as s:
            if kind == "play":  # the player shows the file with its owner's statement: from the selected case
                case_id = selected_case_id(selected)
                evidence = triage.case_evidence(s, current_user.actor, case_id) if case_id else None
                pairs = [
                    (f, sub)
                    for sub in (evidence.submissions if evidence else [])
                    for f in sub.files
                    if f.file_id == file_id
                ]
                if not pairs:
                    case_files.require_file(s, current_user.actor, file_id, "play")  # logged when not theirs
                    return {
                        "player": no_update,
                        "link": no_update,
                        "message": _alert("Select the file's case to play it.", "warning"),
                    }
                shown = pairs[0]
            link = viewing.file_link(s, current_user.actor, file_id, kind, reason, rt.settings.secret_key)
    except CaseworkError as exc:
        return {"player": no_update, "link": no_update, "message": _alert(str(exc), "danger")}
    url = f"{PATH}/{kind}/{link.token}"
    if kind == "download":
        return {
            "player": no_update,
            "link": {"url": url},
            "message": _alert(f"Downloading {file_id}; the download is recorded.", "info", "cases-ev-downloading"),
        }
    f, sub = shown
    return {
        "player": ev.player(f, url, sub.clock_offset_s),
        "link": no_update,
        "message": _alert(f"Playing {f.file_id}; the viewing is recorded.", "info", "cases-ev-playing"),
    }


def export_evidence(clicks, scope, reason, selected):
    """A logged, signed link to the ZIP of the selected case's accepted exhibits (or one request's), the
    audit row naming the files it holds, and the message."""
    if not clicks:
        return no_update, no_update
    rt = runtime()
    request_id = scope if isinstance(scope, str) and scope != "case" else None
    try:
        with transaction(rt.sessions) as s:
            case = case_files.require_case(s, current_user.actor, selected_case_id(selected), "export")
            contents = bundle.bundle_contents(s, case, request_id)
            link = viewing.export_link(
                s,
                current_user.actor,
                case.public_id,
                reason,
                rt.settings.secret_key,
                request_public_id=request_id,
                detail={"files": contents},
            )
    except CaseworkError as exc:
        return no_update, _alert(str(exc), "danger")
    n = len(contents)
    return {"url": f"{PATH}/export/{link.token}"}, _alert(
        f"Exporting {n:,} exhibit{'' if n == 1 else 's'}; the export is recorded. The ZIP holds the files, "
        "their manifest and the continuity statement.",
        "info",
        "cases-ev-exporting",
    )


def manage_case(username, selected, version, *, trigger=None, clicks=None) -> dict:
    """What ``trigger`` asks of the selected case: add ``username`` to its team, remove a member, or close
    or reopen it (only its own officer may; ``dashboard.evidence.cases`` checks and logs). The message,
    the card's next version, and the username box emptied after an addition."""
    if not clicks:
        return {"message": no_update, "version": no_update, "team_user": no_update}
    case_id = selected_case_id(selected)
    rt = runtime()
    actor, now = current_user.actor, utcnow()
    keep_name = no_update
    try:
        with transaction(rt.sessions) as s:
            if trigger == TEAM_ADD:
                m = case_files.add_member(s, actor, case_id, username, now)
                text, keep_name = f"{m.username} is now on the case's team.", ""
            elif isinstance(trigger, dict) and trigger.get("type") == TEAM_REMOVE:
                name = case_files.remove_member(s, actor, case_id, trigger.get("user"))
                text = f"{name} is no longer on the case's team."
            else:
                case = case_files.require_case(s, actor, case_id, "close the case", own=True)
                if case.closed_at is None:
                    case_files.close_case(s, actor, case_id, now)
                    text = (
                        f"Case closed. Its footage will be deleted {rt.settings.evidence_closed_case_days:,} "
                        "days from now unless you reopen it."
                    )
                else:
                    case_files.reopen_case(s, actor, case_id, now)
                    text = "Case reopened."
    except CaseworkError as exc:
        return {"message": _alert(str(exc), "danger"), "version": no_update, "team_user": no_update}
    return {"message": _alert(text, "success", "cases-ev-done"), "version": (version or 0) + 1, "team_user": keep_name}


def register_callbacks(app) -> None:
    app.callback(
        output={
            "title": Output(TITLE, "children"),
            "body": Output(BODY, "children"),
            "team": Output(TEAM, "children"),
            "hide_controls": Output(CONTROLS, "hidden"),
            "scopes": Output(SCOPE, "options"),
            "close_label": Output(CLOSE, "children"),
            "close_note": Output(CLOSE_NOTE, "children"),
            "close_disabled": Output(CLOSE, "disabled"),
            "add_disabled": Output(TEAM_ADD, "disabled"),
        },
        inputs=[Input("cases-list", "selectedRows"), Input(VERSION, "data"), Input(RELOAD, "n_clicks")],
        prevent_initial_call=True,
    )(show_case_evidence)
    app.callback(
        Output(MSG, "children"),
        Output(VERSION, "data"),
        Input({"type": ev.ACCEPT, "file": ALL}, "n_clicks"),
        Input({"type": ev.DECLINE, "file": ALL}, "n_clicks"),
        State({"type": ev.REF, "file": ALL}, "value"),
        State({"type": ev.WHY, "file": ALL}, "value"),
        State({"type": ev.WHY_NOTE, "file": ALL}, "value"),
        State(VERSION, "data"),
        prevent_initial_call=True,
    )(_fired_by(_decide_from_context, 2))
    app.callback(
        Output(MSG, "children", allow_duplicate=True),
        Output(VERSION, "data", allow_duplicate=True),
        Input(REMAINING, "n_clicks"),
        State("cases-list", "selectedRows"),
        State(VERSION, "data"),
        prevent_initial_call=True,
    )(accept_remaining_files)
    app.callback(
        output={
            "player": Output(PLAYER, "children"),
            "link": Output(LINK, "data"),
            "message": Output(MSG, "children", allow_duplicate=True),
        },
        inputs=[
            Input({"type": ev.PLAY, "file": ALL}, "n_clicks"),
            Input({"type": ev.DOWNLOAD, "file": ALL}, "n_clicks"),
        ],
        state=[State(REASON, "value"), State("cases-list", "selectedRows")],
        prevent_initial_call=True,
    )(_fired_by(play_or_download_file, 2))
    app.callback(
        Output(LINK, "data", allow_duplicate=True),
        Output(MSG, "children", allow_duplicate=True),
        Input(EXPORT, "n_clicks"),
        State(SCOPE, "value"),
        State(REASON, "value"),
        State("cases-list", "selectedRows"),
        prevent_initial_call=True,
    )(export_evidence)

    app.clientside_callback(
        "function (link) { return window.dash_clientside.ccrEvidence.startDownload(link); }",
        Output(LINK_SINK, "children"),
        Input(LINK, "data"),
        prevent_initial_call=True,
    )

    app.callback(
        output={
            "message": Output(MSG, "children", allow_duplicate=True),
            "version": Output(VERSION, "data", allow_duplicate=True),
            "team_user": Output(TEAM_USER, "value"),
        },
        inputs=[
            Input(TEAM_ADD, "n_clicks"),
            Input({"type": TEAM_REMOVE, "user": ALL}, "n_clicks"),
            Input(CLOSE, "n_clicks"),
        ],
        state=[State(TEAM_USER, "value"), State("cases-list", "selectedRows"), State(VERSION, "data")],
        prevent_initial_call=True,
    )(_fired_by(manage_case, 3))


# --------------------------------------------------------------------------- the files themselves

files = Blueprint("case_evidence_files", __name__)
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _uses(rt, audit_id: int) -> int:
    """How many times the link of the audit row ``audit_id`` has been used (counted in
    the database, shared by every worker; kept a little longer than the link lasts)."""
    counter = SqlCounterStorage(sessions=rt.sessions, secret=rt.settings.secret_key.encode("utf-8"))
    return counter.incr(f"evidence-link:{audit_id}", (rt.settings.evidence_link_minutes + 5) * 60)


def _refused(exc: CaseworkError) -> Response:
    return Response(render_template("error.html", status=403, message=str(exc)), status=403, mimetype="text/html")


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store, private"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@files.get(f"{PATH}/<kind>/<token>")
def serve(kind: str, token: str):
    """A file to play or download, or a case's bundle, through a link its callback logged
    (``viewing.redeem`` checks it and the user's access again on every request)."""
    if kind not in ("play", "download", "export"):
        try:
            with transaction(runtime().sessions) as s:
                case_files._refuse(
                    s,
                    current_user.actor,
                    "use an evidence link",
                    why="bad_link",
                    message="There is no such evidence link.",
                    detail={"kind": kind[:20]},
                )
        except CaseworkError:
            pass
        return Response(
            render_template("error.html", status=404, message="There is no such evidence link."),
            status=404,
            mimetype="text/html",
        )
    rt = runtime()
    store = Store(rt.settings.evidence_dir)
    try:
        with transaction(rt.sessions) as s:
            grant = viewing.redeem(
                s, current_user.actor, token, kind, rt.settings.secret_key, rt.settings.evidence_link_minutes
            )
            if kind != "play" and _uses(rt, grant.audit_id) > 1:
                # A download or export link is used once: each copy is a logged download or export. (Any
                # request counts: a "resumption" from byte 1 of an MP4, whose first byte is always 0, is a copy.)
                viewing.refuse_used(s, current_user.actor, kind, grant)
            if kind == "export":
                case = case_files.require_case(s, current_user.actor, grant.case_id, "export")
                # What goes out is what the export's audit row names (a file accepted since is not in it).
                viewing.require_as_logged(
                    s, current_user.actor, grant, bundle.bundle_contents(s, case, grant.request_id)
                )
                built = bundle.build_bundle(
                    s,
                    case,
                    request_public_id=grant.request_id,
                    store=store,
                    actor=current_user.actor,
                    export_audit_id=grant.audit_id,
                    reason=grant.reason,
                    now=utcnow(),
                    force_name=rt.reference.force_name,
                )
            else:
                file, _case = case_files.require_file(s, current_user.actor, grant.file_id, kind)
                path, sha, mime = store.path_for(file.sha256), file.sha256, triage.mime_for(file.media)
                name = _SAFE.sub("_", f"{(file.exhibit_ref or file.public_id)}__{file.original_name}")[:150]
    except CaseworkError as exc:
        return _refused(exc)
    except bundle.IntegrityFailure as exc:  # a stored file is missing or changed: recorded; nothing handed on
        return Response(render_template("error.html", status=409, message=str(exc)), status=409, mimetype="text/html")
    if kind == "export":
        headers = {"Content-Disposition": f'attachment; filename="{built.filename}"'}
        if built.size is not None:
            headers["Content-Length"] = str(built.size)
        # The bundle reads only the evidence store while it streams (no request or session needed).
        return _no_store(Response(iter(built), mimetype=built.media_type, headers=headers, direct_passthrough=True))
    if not path.is_file():
        return Response(
            render_template(
                "error.html", status=410, message="The file's content is missing from storage; tell the auditor."
            ),
            status=410,
            mimetype="text/html",
        )
    if kind == "play" and mime is None:
        return _refused(CaseworkError("file", "This file cannot be played in the browser; download it."))
    response = send_file(
        path,
        mimetype=mime if kind == "play" else "application/octet-stream",
        as_attachment=kind == "download",
        download_name=name,
        conditional=True,
        etag=sha,
        max_age=0,
    )
    return _no_store(response)
