"""The "How figures are protected" page and its perturbation-table download."""

from __future__ import annotations

import csv
import io

import pytest

from tests.integration.conftest import login


def _render(client, path: str) -> str:
    body = {
        "output": "shell-content.children",
        "outputs": {"id": "shell-content", "property": "children"},
        "inputs": [{"id": "shell-url", "property": "pathname", "value": path}],
        "changedPropIds": [],
        "state": [],
    }
    response = client.post("/_dash-update-component", json=body)
    assert response.status_code == 200
    return response.get_data(as_text=True)


@pytest.mark.parametrize("role", ["analyst", "lead", "auditor", "admin"])
def test_the_page_states_the_settings_and_the_table_downloads(app, runtime, role):
    client = app.server.test_client()
    login(client, role)
    text = _render(client, "/protection")
    assert "How figures are protected" in text
    assert "moved by at most 3" in text and "counts below 8 are not shown" in text
    assert "Levels need not add up exactly" in text
    response = client.get("/protection/ptable.csv")
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    # One row per (true count 8..11, cell key 0..255); every adjustment within the bound.
    assert len(rows) == 4 * 256
    assert {int(r["pcv"]) for r in rows} == {8, 9, 10, 11}
    assert {int(r["pvalue"]) for r in rows} <= set(range(-3, 4))
    assert min(int(r["pcv"]) + int(r["pvalue"]) for r in rows) == 8  # never below K


def test_officers_may_not_open_it(app):
    client = app.server.test_client()
    login(client, "officer")
    assert client.get("/protection/ptable.csv").status_code == 403
    assert client.get("/protection").status_code == 403
