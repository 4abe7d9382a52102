"""View builders for a case's evidence in My cases: the owners' answers, their files, the player.

Pure functions from ``evidence.triage`` dataclasses to Dash components; the ids of the controls
are pattern-matching ids (``{"type": ..., "file": <EVF- id>}``) whose type carries the page prefix.
"""

from __future__ import annotations

import datetime as dt

import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard.core.vocab import DECLINE_REASONS
from dashboard.evidence.triage import CaseEvidence, FileView, Submission
from dashboard.footage.wording import UK

ACCEPT, DECLINE, PLAY, DOWNLOAD = "cases-ev-accept", "cases-ev-decline", "cases-ev-play", "cases-ev-download"
REF, WHY, WHY_NOTE = "cases-ev-ref", "cases-ev-why", "cases-ev-why-note"
PLAYER_TIMES = "cases-ev-player-times"


def size_text(n: int) -> str:
    """'1,234 bytes', '12.3 MB', '1.50 GB' (decimal units, as phones and file managers show them).

    >>> size_text(999), size_text(12_345_678), size_text(1_500_000_000)
    ('999 bytes', '12.3 MB', '1.50 GB')
    """
    if n < 1000:
        return f"{n:,} bytes"
    if n < 1000**2:
        return f"{n / 1000:,.1f} kB"
    if n < 1000**3:
        return f"{n / 1000**2:,.1f} MB"
    return f"{n / 1000**3:,.2f} GB"


def uk(value: dt.datetime | None, *, seconds: bool = False) -> str:
    if value is None:
        return "–"
    local = value.astimezone(UK)
    return local.strftime("%d %b %Y %H:%M:%S" if seconds else "%d %b %Y %H:%M") + (
        " GMT" if local.utcoffset() == dt.timedelta(0) else " BST"
    )


def clock_words(offset_s: int | None) -> str:
    """How the owner said their camera's clock was.

    >>> clock_words(None), clock_words(0), clock_words(120), clock_words(-3725)
    ('Not stated', 'Right (no difference)', '2 min 0 s fast', '1 h 2 min 5 s slow')
    """
    if offset_s is None:
        return "Not stated"
    if offset_s == 0:
        return "Right (no difference)"
    n = abs(offset_s)
    h, rest = divmod(n, 3600)
    m, s = divmod(rest, 60)
    text = (f"{h} h " if h else "") + (f"{m} min " if h or m else "") + f"{s} s"
    return f"{text} {'fast' if offset_s > 0 else 'slow'}"


def duration_text(seconds: float | None) -> str:
    """'1 min 05 s' from 65.0; '–' when unknown.

    >>> duration_text(65.04), duration_text(3.5), duration_text(None)
    ('1 min 05 s', '3.5 s', '–')
    """
    if seconds is None:
        return "–"
    if seconds < 60:
        return f"{seconds:.1f} s"
    m, s = divmod(round(seconds), 60)
    return f"{m} min {s:02d} s"


def _media_line(f: FileView) -> str:
    m = f.media
    if f.kind == "video":
        parts = [str(m.get("container", "")).upper(), str(m.get("codec", "")).upper(), duration_text(f.duration_s)]
        if m.get("width") and m.get("height"):
            parts.append(f"{m['width']}×{m['height']}")
        if m.get("frame_rate"):
            parts.append(f"{m['frame_rate']:g} fps")
        return " · ".join(p for p in parts if p)
    if f.kind == "image":
        parts = ["Picture", str(m.get("format", "")).upper()]
        if m.get("width") and m.get("height"):
            parts.append(f"{m['width']}×{m['height']}")
        return " · ".join(p for p in parts if p)
    if f.kind == "archive":
        footage = m.get("footage_files")
        count = len(footage) if isinstance(footage, list) else footage if isinstance(footage, int) else None
        return "DVR export (ZIP)" + (f" · {count:,} video file{'' if count == 1 else 's'}" if count is not None else "")
    return f.kind


def _status(f: FileView) -> html.Div:
    if f.state == "deleted":
        return dbc.Badge(f"Content deleted {uk(f.deleted_at)} (retention)", color="secondary", className="text-wrap")
    if f.triage == "accepted":
        return html.Div(
            [
                dbc.Badge(f"Exhibit {f.exhibit_ref}", color="success", className="me-2 fs-6"),
                html.Span(f"accepted by {f.triaged_by} at {uk(f.triaged_at)}", className="small"),
            ]
        )
    if f.triage == "declined":
        note = f": {f.decline_note}" if f.decline_note else ""
        was = f" (was exhibit {f.exhibit_ref})" if f.exhibit_ref else ""
        return html.Div(
            [
                dbc.Badge("Declined", color="danger", className="me-2"),
                html.Span(
                    f"{DECLINE_REASONS.get(f.decline_reason, f.decline_reason)}{note}{was}, by "
                    f"{f.triaged_by} at {uk(f.triaged_at)}",
                    className="small",
                ),
            ]
        )
    return dbc.Badge("Awaiting your decision", color="warning", text_color="dark")


def _facts(rows: list[tuple[str, object]]) -> html.Dl:
    items = []
    for label, value in rows:
        items += [
            html.Dt(label, className="col-sm-4 col-lg-3 small text-secondary"),
            html.Dd(value, className="col-sm-8 col-lg-9 small mb-1 text-break"),
        ]
    return html.Dl(items, className="row mb-2")


def file_card(f: FileView, sub: Submission, suggested_ref: str, open_case: bool) -> dbc.Card:
    offset = sub.clock_offset_s
    recorded = (
        f"{uk(f.recorded_at, seconds=True)} on the camera's clock"
        if f.recorded_at
        else "No recording time in the file: read the clock in the picture"
    )
    real = (
        (
            f"{uk(f.real_start, seconds=True)} to {uk(f.real_end, seconds=True)}"
            + (" (corrected for the camera's clock)" if offset else "")
        )
        if f.real_start
        else "–"
    )
    check = {
        "ok": "Matches its SHA-256",
        "mismatch": "DOES NOT MATCH its SHA-256: do not use; tell the auditor",
        "missing": "MISSING from storage: tell the auditor",
    }.get(f.check_result or "", "Not checked yet")
    rows = [
        ("Owner's caption", f.caption or "–"),
        ("File", f"{f.name} · {size_text(f.size)}"),
        ("What it is", _media_line(f)),
        ("Recorded", recorded),
        ("Real time", real),
        ("SHA-256", html.Code(f.sha256, className="text-break", id={"type": "cases-ev-sha", "file": f.file_id})),
        ("Integrity", f"{check}" + (f" (checked {uk(f.checked_at)})" if f.checked_at else "")),
        ("Received", uk(f.uploaded_at)),
    ]
    actions: list = []
    if f.state == "stored":
        view = []
        if f.playable:
            view.append(
                dbc.Button(
                    "Play" if f.kind == "video" else "View",
                    id={"type": PLAY, "file": f.file_id},
                    color="primary",
                    outline=True,
                    size="sm",
                    className="me-2",
                    n_clicks=0,
                )
            )
        view.append(
            dbc.Button(
                "Download",
                id={"type": DOWNLOAD, "file": f.file_id},
                color="secondary",
                outline=True,
                size="sm",
                n_clicks=0,
            )
        )
        if not f.playable:
            view.append(
                html.Span(
                    " Not playable in the browser: download it; a player such as VLC, or the "
                    "DVR maker's player, may be needed.",
                    className="small text-secondary ms-2",
                )
            )
        actions.append(html.Div(view, className="mb-2"))
        if open_case:

            def labelled(text: str, control) -> html.Label:
                return html.Label([html.Span(text, className="small d-block mb-1"), control], className="w-100 mb-0")

            accept_cols = [
                dbc.Col(
                    labelled(
                        "Exhibit reference",
                        dbc.Input(
                            id={"type": REF, "file": f.file_id},
                            placeholder=f.exhibit_ref or suggested_ref,
                            maxLength=40,
                            size="sm",
                        ),
                    ),
                    xs=7,
                    md=3,
                ),
                dbc.Col(
                    dbc.Button(
                        "Accept instead" if f.triage == "declined" else "Accept",
                        id={"type": ACCEPT, "file": f.file_id},
                        color="success",
                        size="sm",
                        n_clicks=0,
                        className="w-100",
                    ),
                    xs=5,
                    md=2,
                ),
            ]
            decline_cols = [
                dbc.Col(
                    labelled(
                        "Decline instead, because" if f.triage == "accepted" else "Or decline, because",
                        dbc.Select(
                            id={"type": WHY, "file": f.file_id},
                            size="sm",
                            placeholder="Choose a reason",
                            options=[{"label": v, "value": k} for k, v in DECLINE_REASONS.items()],
                        ),
                    ),
                    xs=12,
                    md=3,
                ),
                dbc.Col(
                    labelled(
                        "Note (optional)", dbc.Input(id={"type": WHY_NOTE, "file": f.file_id}, maxLength=300, size="sm")
                    ),
                    xs=7,
                    md=2,
                ),
                dbc.Col(
                    dbc.Button(
                        "Decline",
                        id={"type": DECLINE, "file": f.file_id},
                        color="danger",
                        outline=True,
                        size="sm",
                        n_clicks=0,
                        className="w-100",
                    ),
                    xs=5,
                    md=2,
                ),
            ]
            # A decided file offers only the other decision (to correct a mistake; both are logged).
            cols = (
                decline_cols
                if f.triage == "accepted"
                else accept_cols
                if f.triage == "declined"
                else accept_cols + decline_cols
            )
            actions.append(dbc.Row(cols, className="g-2 align-items-end"))
    return dbc.Card(
        dbc.CardBody(
            [
                html.Div(
                    [html.Strong(f.file_id, className="me-2"), _status(f)], className="mb-2 d-flex flex-wrap gap-1"
                ),
                _facts(rows),
                *actions,
            ]
        ),
        className="mb-2 evidence-file",
        id={"type": "cases-ev-card", "file": f.file_id},
    )


def submission_card(sub: Submission, suggested_ref: str, open_case: bool) -> dbc.Card:
    cam_from, cam_to = sub.camera_window
    statement = [
        ("Answer", f"{sub.response_id}, sent {uk(sub.answered_at)}"),
        ("Requests", ", ".join(f"{r} (camera {c})" for r, c in zip(sub.request_ids, sub.camera_ids)) or "–"),
        ("Incident window", f"{uk(sub.incident_from)} to {uk(sub.incident_to)} (real time)"),
        ("Camera's clock", clock_words(sub.clock_offset_s) + " (the owner's statement)"),
        (
            "On this camera",
            f"the incident window reads {uk(cam_from)} to {uk(cam_to)}" if sub.clock_offset_s else "the same times",
        ),
        (
            "Copy made",
            (
                "by the owner"
                if sub.copy_made_by_owner
                else "by someone else"
                if sub.copy_made_by_owner is not None
                else "–"
            )
            + (f", {uk(sub.copy_made_at)}" if sub.copy_made_at else ""),
        ),
        ("Signed", sub.signed_name or "– (erased)"),
    ]
    if sub.owner_note:
        statement.append(("Owner's note", sub.owner_note))
    return dbc.Card(
        [
            dbc.CardHeader(
                html.Strong(
                    f"Owner's answer {sub.response_id}: {len(sub.files)} file{'' if len(sub.files) == 1 else 's'}"
                )
            ),
            dbc.CardBody([_facts(statement)] + [file_card(f, sub, suggested_ref, open_case) for f in sub.files]),
        ],
        className="mb-3",
    )


def evidence_body(evidence: CaseEvidence, suggested_ref: str) -> list:
    """The case's submissions, or a plain sentence when there are none yet."""
    open_case = evidence.case.closed_at is None
    if not evidence.submissions:
        return [
            html.P(
                "No owner has sent footage in this case yet. Files appear here once an owner sends their answer.",
                className="text-secondary",
                id="cases-ev-empty",
            )
        ]
    c = evidence.counts()
    summary = html.P(
        f"{c['files']:,} file{'' if c['files'] == 1 else 's'} kept: {c['accepted']:,} accepted, "
        f"{c['declined']:,} declined, {c['waiting']:,} awaiting a decision.",
        id="cases-ev-counts",
        className="mb-2",
    )
    return [summary] + [submission_card(s, suggested_ref, open_case) for s in evidence.submissions]


def player(file: FileView, src: str, offset_s: int | None) -> html.Div:
    """The file in the page: a video with the player's time and the corrected real time beside it
    (assets/js/evidence.js keeps them current), or the picture."""
    start_ms = int(file.recorded_at.timestamp() * 1000) if file.recorded_at else ""
    if file.kind == "image":
        media = html.Img(
            src=src, alt=file.caption or f"Picture {file.file_id}", className="img-fluid border", id="cases-ev-image"
        )
        times = html.P(
            f"Taken {uk(file.recorded_at, seconds=True)} on the camera's clock; real time "
            f"{uk(file.real_start, seconds=True)}."
            if file.recorded_at
            else "No time in the file.",
            className="small mt-2",
        )
    else:
        media = html.Video(
            src=src,
            controls=True,
            preload="metadata",
            id="cases-ev-video",
            className="w-100 border",
            style={"maxHeight": "60vh", "background": "#000"},
            **{"data-camera-start-ms": str(start_ms), "data-offset-s": str(offset_s or 0), "data-times": PLAYER_TIMES},
        )
        times = html.Div(
            [
                html.Span("Player 0:00", className="me-3", **{"data-part": "player"}),
                html.Span(
                    "Camera clock –" if start_ms else "Camera clock: not in the file",
                    className="me-3",
                    **{"data-part": "camera"},
                ),
                html.Strong(
                    "Real time –" if start_ms else "Real time: read the clock in the picture", **{"data-part": "real"}
                ),
            ],
            id=PLAYER_TIMES,
            className="small mt-2 font-monospace",
            role="status",
            **{"aria-live": "off"},
        )
    caption = (
        f"{file.file_id}"
        + (f" · Exhibit {file.exhibit_ref}" if file.exhibit_ref else "")
        + (f" · {file.caption}" if file.caption else "")
    )
    return html.Div(
        [
            html.H3(caption, className="h6"),
            media,
            times,
            dcc.Markdown(
                "Times are UK time. *Real time* = camera clock corrected by the owner's stated "
                f"difference ({clock_words(offset_s).lower()}).",
                className="small text-secondary",
            ),
        ],
        className="mb-3",
        id="cases-ev-player-box",
    )
