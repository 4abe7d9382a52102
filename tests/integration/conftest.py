"""A real app (Flask test client) over a temp-file SQLite registry with one user per role."""
from __future__ import annotations

import pytest

from dashboard.config import load_settings
from dashboard.registry.database import transaction
from dashboard.core.vocab import ROLES
from dashboard.runtime import prepare
from dashboard.security.accounts import create_user

PASSWORD = "correct-horse-battery"


@pytest.fixture
def runtime(tmp_path, reference_dir):
    settings = load_settings({
        "DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}",
        "REFERENCE_DATA_DIR": str(reference_dir),
        "SECRET_KEY": "k" * 48,
    })
    rt = prepare(settings)
    with transaction(rt.sessions) as s:
        for role in ROLES:
            create_user(s, f"{role}1", PASSWORD, role)
    yield rt
    rt.engine.dispose()


@pytest.fixture
def app(runtime):
    from dashboard.application import create_app

    dash_app = create_app(runtime)
    dash_app.server.config["TESTING"] = True
    return dash_app


def login(client, role: str) -> None:
    page = client.get("/login")
    assert page.status_code == 200
    token = page.get_data(as_text=True).split('name="csrf_token" value="')[1].split('"')[0]
    response = client.post("/login", data={"username": f"{role}1", "password": PASSWORD, "csrf_token": token,
                                           "next": "/"})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
