"""My account page, its token callback called directly as the signed-in user: a token only on the
user's own password, shown once, listed with the user's tokens, and the password field emptied."""

from __future__ import annotations

import json
import re

import sqlalchemy as sa
from dash import no_update

from dashboard.pages import account
from dashboard.registry.models import AuditEvent
from tests.direct_calls import as_text, signed_in
from tests.integration.conftest import PASSWORD


def _events(runtime, action: str) -> list[tuple]:
    with runtime.sessions() as s:
        rows = s.scalars(sa.select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id))
        return [(e.username, json.loads(e.detail)) for e in rows]


def test_a_token_is_issued_only_on_the_users_own_password_and_listed(app, runtime):
    with signed_in(app, "analyst1"):
        empty = account.issue_token(1, None)
        wrong = account.issue_token(2, "not-my-password-at-all")
        right = account.issue_token(3, PASSWORD)
    # Nothing typed: asked for it, nothing logged, the list left as it was.
    assert "Type your password to issue a token." in as_text(empty["message"])
    assert (empty["tokens"], empty["password"]) == (no_update, "")
    # A wrong password: refused, logged, the list left as it was, the field emptied.
    assert "That is not your password; no token was issued." in as_text(wrong["message"])
    assert (wrong["tokens"], wrong["password"]) == (no_update, "")
    # The right one: one token, shown once, and the list now has that one token, active.
    shown = re.findall(r"ccr_[A-Za-z0-9_-]+", as_text(right["message"]))
    assert len(shown) == 1 and right["password"] == ""
    [table] = right["tokens"]
    [row] = table.children.children
    cells = [cell.children for cell in row.children]
    assert cells[0] == "Token 1" and cells[3] == "active" and cells[2] == "last used –"
    assert _events(runtime, "token_refused") == [("analyst1", {"via": "account page", "why": "wrong_password"})]
    assert [(user, detail["via"]) for user, detail in _events(runtime, "token_issued")] == [
        ("analyst1", "account page")
    ]
    # The token acts as its owner on the API.
    listed = app.server.test_client().get("/api/v1/coverage/cells", headers={"Authorization": f"Bearer {shown[0]}"})
    assert listed.status_code == 200
