"""Looking at evidence: every play, download and export is logged with who, when, the case and a
reason, and served through a short-lived signed link (issue 17).

An officer on the case's team asks to play or download a file (or export a bundle), giving a
reason: that is checked and written to the audit log once (``evidence_viewed``,
``evidence_downloaded``, ``evidence_exported``), and a link is made: a token signed with the
app's secret key naming the user, the file (or case and scope), the kind and the audit row,
valid for ``Settings.evidence_link_minutes``. A video player asks for the file many times (range
requests as it seeks); each request is checked again (the signature, the age, that the signed-in
user is the one the link was made for, and that they are still on the case's team) but not
logged again. A link that fails any check is refused, and the refusal logged.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.orm import Session

from dashboard.evidence.cases import _refuse, require_case, require_file
from dashboard.registry import audit
from dashboard.registry.casework import CaseworkError
from dashboard.registry.models import AuditEvent, FootageRequest
from dashboard.registry.search_reasons import reason_problem

SALT = "ccr-evidence-link"
KINDS = {"play": "evidence_viewed", "download": "evidence_downloaded", "export": "evidence_exported"}
REASON_MAX = 500


@dataclass(frozen=True)
class Link:
    token: str
    kind: str
    audit_id: int


@dataclass(frozen=True)
class Grant:
    """What a valid link lets its user have: a file (play, download) or a case's bundle (export)."""

    kind: str
    user_id: int
    file_id: str | None
    case_id: str | None
    scope: str | None  # export: 'case' or 'request'
    request_id: str | None
    audit_id: int
    reason: str


def _serializer(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt=SALT)


def check_reason(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise CaseworkError(
            "reason",
            "Give the reason for looking at this footage, e.g. 'reviewing owner footage for the burglary suspect'.",
        )
    text = " ".join(value.split())
    if len(text) > REASON_MAX:
        raise CaseworkError("reason", f"The reason has {len(text)} characters; at most {REASON_MAX} are allowed.")
    problem = reason_problem(text)
    if problem:
        raise CaseworkError("reason", problem)
    return text


def file_link(
    session: Session, actor: audit.Actor, file_public_id: object, kind: str, reason: object, secret: str
) -> Link:
    """Log a play or download of a file (with the reason) and make its link."""
    if kind not in ("play", "download"):
        raise ValueError(kind)
    file, case = require_file(session, actor, file_public_id, kind)  # access first: its refusal is logged
    why = check_reason(reason)
    audit_id = audit.record(
        session,
        actor,
        KINDS[kind],
        case_ref=case.case_ref,
        reason=why,
        detail={
            "case_id": case.public_id,
            "file_id": file.public_id,
            "sha256": file.sha256,
            "exhibit_ref": file.exhibit_ref,
        },
    ).id
    token = _serializer(secret).dumps({"k": kind, "u": actor.user_id, "f": file.public_id, "a": audit_id})
    return Link(token, kind, audit_id)


def export_link(
    session: Session,
    actor: audit.Actor,
    case_public_id: object,
    reason: object,
    secret: str,
    *,
    request_public_id: str | None = None,
    detail: dict | None = None,
) -> Link:
    """Log an export of the case's (or one request's) bundle and make its link. ``detail``: what the
    bundle will hold (files, exhibit references, hashes), for the audit row."""
    case = require_case(session, actor, case_public_id, "export")  # access first: its refusal is logged
    why = check_reason(reason)
    if request_public_id is not None and not session.scalar(
        sa.select(sa.func.count())
        .select_from(FootageRequest)
        .where(
            FootageRequest.public_id == str(request_public_id),
            FootageRequest.case_ref == case.case_ref,
            FootageRequest.requested_by_id == case.officer_id,
        )
    ):
        raise CaseworkError("scope", "There is no such request in this case.")
    audit_id = audit.record(
        session,
        actor,
        KINDS["export"],
        case_ref=case.case_ref,
        reason=why,
        detail={
            "case_id": case.public_id,
            "scope": "request" if request_public_id else "case",
            "request_id": request_public_id,
            **(detail or {}),
        },
    ).id
    token = _serializer(secret).dumps(
        {"k": "export", "u": actor.user_id, "c": case.public_id, "q": request_public_id, "a": audit_id}
    )
    return Link(token, "export", audit_id)


def redeem(session: Session, actor: audit.Actor, token: object, kind: str, secret: str, max_minutes: int) -> Grant:
    """The grant a link carries, checked afresh: signature, age, kind, that ``actor`` is the user it
    was made for, and that they are still on the case's team (``require_file``/``require_case``,
    which log a refusal). A bad, expired or someone else's link is refused and logged."""
    why = None
    payload: dict = {}
    try:
        payload = _serializer(secret).loads(str(token), max_age=max_minutes * 60)
    except SignatureExpired:
        why = "expired"
    except (BadSignature, UnicodeError, ValueError, TypeError):
        why = "bad_link"
    if why is None and (not isinstance(payload, dict) or payload.get("k") != kind):
        why = "bad_link"
    if why is None and payload.get("u") != actor.user_id:
        why = "not_yours"
    logged = None
    if why is None:
        # The link stands for its audit row: the viewing, download or export logged with its reason (the
        # reason is read from there, never carried in the URL, which proxies and server logs keep).
        logged = session.get(AuditEvent, payload.get("a")) if isinstance(payload.get("a"), int) else None
        if logged is None or logged.user_id != actor.user_id or logged.action != KINDS[kind]:
            why = "bad_link"
    if why is not None:
        _refuse(
            session,
            actor,
            f"use a {kind} link",
            why=why,
            message="This link has expired or is not yours. Ask for the file again from My cases."
            if why != "bad_link"
            else "This is not a working evidence link.",
        )
    if kind == "export":
        require_case(session, actor, payload.get("c"), "export")
        return Grant(
            "export",
            actor.user_id,
            None,
            payload.get("c"),
            "request" if payload.get("q") else "case",
            payload.get("q"),
            logged.id,
            logged.reason or "",
        )
    require_file(session, actor, payload.get("f"), kind)
    return Grant(kind, actor.user_id, payload.get("f"), None, None, None, logged.id, logged.reason or "")


def refuse_used(session: Session, actor: audit.Actor, kind: str, grant: Grant) -> None:
    """Refuse (and log) a second whole copy through one download or export link."""
    _refuse(
        session,
        actor,
        f"use a {kind} link again",
        why="used",
        message="This link has been used. Ask for the file again from My cases: each download is recorded.",
        detail={"link_audit_id": grant.audit_id, "file_id": grant.file_id, "case_id": grant.case_id},
    )


def require_as_logged(session: Session, actor: audit.Actor, grant: Grant, contents: list[dict]) -> None:
    """Refuse (and log) an export whose bundle would hold other files than its audit row names (a file
    accepted, declined or deleted since the export was asked for): the row must say what went out."""
    import json

    logged = session.get(AuditEvent, grant.audit_id)
    try:
        named = json.loads(logged.detail or "{}").get("files") if logged is not None else None
    except ValueError:
        named = None
    key = sorted((str(c.get("file_id")), str(c.get("sha256"))) for c in contents)
    if (
        not isinstance(named, list)
        or sorted((str(c.get("file_id")), str(c.get("sha256"))) for c in named if isinstance(c, dict)) != key
    ):
        _refuse(
            session,
            actor,
            "export",
            why="changed",
            message="The case's exhibits have changed since this export was asked for: export again.",
            detail={"link_audit_id": grant.audit_id, "case_id": grant.case_id},
        )
