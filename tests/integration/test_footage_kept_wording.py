"""Owners are told how long their footage is kept, from the settings in force: on the registration
page's privacy notice, on the response page where they upload, and on the receipt of their answer."""

from __future__ import annotations

import html
import re

import pytest

from dashboard.config import load_settings
from dashboard.core.vocab import ROLES
from dashboard.registry.database import transaction
from dashboard.runtime import prepare
from dashboard.security.accounts import create_user
from tests.integration.conftest import PASSWORD
from tests.integration.test_footage_attacks import STATEMENT, asked_owner
from tests.integration.test_footage_uploads import send
from tests.media import make_jpeg

SENTENCE = (
    "Footage you send is deleted 14 days after the police decide not to use it, and all of it, with what "
    "you told us about it, 60 days after the case is closed."
)


@pytest.fixture
def runtime(tmp_path, reference_dir):
    rt = prepare(
        load_settings(
            {
                "DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}",
                "REFERENCE_DATA_DIR": str(reference_dir),
                "SECRET_KEY": "k" * 48,
                "EVIDENCE_DIR": str(tmp_path / "evidence"),
                "EVIDENCE_MIN_FREE_MB": "0",
                "OUTBOX_WORKER": "0",
                "EVIDENCE_DECLINED_DAYS": "14",
                "EVIDENCE_CLOSED_CASE_DAYS": "60",
            }
        )
    )
    with transaction(rt.sessions) as s:
        for role in ROLES:
            create_user(s, f"{role}1", PASSWORD, role)
    yield rt
    rt.engine.dispose()


def text(response) -> str:
    return re.sub(r"\s+", " ", html.unescape(response.get_data(as_text=True)))


def test_the_periods_in_force_are_stated_to_owners(app, runtime, tmp_path):
    client = app.server.test_client()
    register = text(client.get("/register"))
    assert f"How long footage is kept: {SENTENCE}" in re.sub(r"<[^>]+>", "", register)
    owner = asked_owner(runtime)
    page = text(client.get(f"/respond/{owner['token']}"))
    assert f'<p class="small text-body-secondary" id="footage-kept">{SENTENCE}</p>' in page
    _, last = send(client, owner["token"], make_jpeg(tmp_path / "p.jpg").read_bytes(), "front.jpg")
    assert last.status_code == 204
    answered = client.post(f"/api/v1/responses/{owner['token']}/answer", json={"answer": "footage", **STATEMENT})
    assert answered.status_code == 200, answered.get_json()
    receipt = text(client.get(f"/respond/{owner['token']}"))
    assert f'<p id="receipt-kept">{SENTENCE}</p>' in receipt
    assert "30 days" not in receipt and "90 days" not in receipt  # not the defaults: the settings in force
