"""The administrators' storage view (/storage) and the footage half of the auditor's retention summary:
the figures for a store seeded by hand, and who may see them.

Seeded (sizes in MB of 2^20 bytes, as EVIDENCE_MIN_FREE_MB), relative to now:
- open case: one file awaiting a decision (2 MB), one accepted exhibit (3 MB), one declined 10 days
  ago (1 MB: due in 20 days), and a part file of an upload still arriving (0.25 MB received);
- a case closed 100 days ago: two files, 1.5 MB and 0.5 MB, due 10 days ago (2 MB in all);
- one more file with the same bytes as the accepted exhibit, declined 40 days ago (due 10 days ago):
  the next run deletes it but its content stays for the exhibit.
By hand: kept by state = awaiting 1 / 2.0 MB, accepted 1 / 3.0 MB, declined 2 / 4.0 MB (1 + 3),
closed 2 / 2.0 MB; the next run deletes 3 files (declined 1 / 3.0 MB, closed cases 2 / 2.0 MB) and
frees 2.0 MB (2 contents); the database lists 5 distinct contents: 2 + 3 + 1 + 1.5 + 0.5 = 8.0 MB.
Statements: three answers, each signed; the closed case's and the copy's lose every file, so two go.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from zoneinfo import ZoneInfo

import pytest

from dashboard.application import route
from dashboard.core.vocab import ROLES
from dashboard.pages import audit as audit_page
from dashboard.pages.storage import count_storage
from dashboard.registry.database import transaction
from dashboard.registry.models import EvidenceFile, utcnow
from tests.dash_requests import post_with_values, router_body
from tests.direct_calls import plain, signed_in
from tests.integration.conftest import login
from tests.integration.test_footage_retention import content, seed
from tests.integration.test_footage_uploads import evidence_dir, runtime  # noqa: F401  (fixtures)

MB = 1 << 20


@pytest.fixture
def app(runtime):
    from dashboard.application import create_app

    dash_app = create_app(runtime)
    dash_app.server.config["TESTING"] = True
    return dash_app


def seed_store(runtime) -> dict:
    """The store described at the top of this module, relative to now."""
    now = utcnow()
    exhibit = content("exhibit", 3 * MB)
    open_case = seed(
        runtime,
        "CR-2026-000201",
        [
            {"name": "wait.mp4", "content": content("wait", 2 * MB)},
            {
                "name": "kept.mp4",
                "content": exhibit,
                "triage": "accepted",
                "at": now - dt.timedelta(days=5),
                "ref": "JO/1",
            },
            {"name": "no.mp4", "content": content("no", MB), "triage": "declined", "at": now - dt.timedelta(days=10)},
        ],
    )
    closed = seed(
        runtime,
        "CR-2026-000202",
        [
            {"name": "c1.mp4", "content": content("c1", 3 * MB // 2)},
            {"name": "c2.mp4", "content": content("c2", MB // 2)},
        ],
        closed_at=now - dt.timedelta(days=100),
    )
    copy = seed(
        runtime,
        "CR-2026-000203",
        [{"name": "copy.mp4", "content": exhibit, "triage": "declined", "at": now - dt.timedelta(days=40)}],
    )
    with transaction(runtime.sessions) as s:  # an upload still arriving: a quarter of 1 MB so far
        s.add(
            EvidenceFile(
                response_id=open_case["response"],
                upload_key="arriving".ljust(43, "u"),
                original_name="late.mp4",
                declared_size=MB,
                received_bytes=MB // 4,
                state="uploading",
            )
        )
    incoming = runtime.settings.evidence_dir / "incoming"
    incoming.mkdir(parents=True, exist_ok=True)
    (incoming / f"{'arriving'.ljust(43, 'u')}.part").write_bytes(b"\0" * (MB // 4))
    return {"open": open_case, "closed": closed, "copy": copy, "now": now}


@pytest.fixture
def seeded(runtime):
    return seed_store(runtime)


def texts(tree) -> str:
    """Every string in a rendered Dash tree, in order, joined by spaces."""
    out: list[str] = []

    def walk(node):
        if isinstance(node, str):
            out.append(node)
        elif isinstance(node, list):
            for n in node:
                walk(n)
        elif isinstance(node, dict):
            props = node.get("props", node)
            walk(props.get("children")) if "props" in node else [walk(v) for v in node.values()]

    walk(tree)
    return re.sub(r"\s+", " ", " ".join(out))


def find(tree, component_id: str):
    if isinstance(tree, dict):
        props = tree.get("props", {})
        if isinstance(props, dict) and props.get("id") == component_id:
            return tree
        for value in props.values() if isinstance(props, dict) else tree.values():
            hit = find(value, component_id)
            if hit is not None:
                return hit
    elif isinstance(tree, list):
        for value in tree:
            hit = find(value, component_id)
            if hit is not None:
                return hit
    return None


def rows_of(table) -> list[list[str]]:
    body = table["props"]["children"][1]
    return [[texts(cell["props"]["children"]) for cell in tr["props"]["children"]] for tr in body["props"]["children"]]


def storage_answer(app) -> dict:
    with signed_in(app, "admin"):
        return plain(count_storage(0))


def test_the_storage_view_shows_the_seeded_figures(app, runtime, seeded):
    view = storage_answer(app)
    used = rows_of(find(view, "storage-used"))
    assert [r[:3] for r in used] == [
        ["Awaiting a decision", "1", "2.0 MB"],
        ["Accepted exhibits of open cases", "1", "3.0 MB"],
        ["Declined (case open)", "2", "4.0 MB"],
        ["Files of closed cases", "2", "2.0 MB"],
        ["Unfinished uploads (part files on disk)", "1", "0.2 MB"],  # 0.25 MB shown to one decimal
        ["On the evidence disk in all", "6", "8.2 MB"],  # 5 contents (8.0 MB) and the part file
    ]
    assert "Deleted 30 days after the decision." in used[2][3] and "Deleted 90 days after" in used[3][3]
    disk = texts(find(view, "storage-disk")["props"]["children"])
    assert "5 files (8.0 MB) on the disk; the database lists 5 contents (8.0 MB), 3.0 MB less than" in disk
    assert "EVIDENCE_MIN_FREE_MB keeps 0 MB free" in disk
    assert "Free on the evidence disk: " in disk and "that no kept file" not in disk
    due = rows_of(find(view, "storage-next"))
    assert [r[:3] for r in due] == [
        ["Declined files", "1", "3.0 MB"],
        ["Files of closed cases", "2", "2.0 MB"],
        ["In all", "3", "5.0 MB"],
    ]
    first_declined = seeded["now"] - dt.timedelta(days=10)
    assert due[0][3].startswith("due since ") and f"{first_declined:%Y}" in due[0][3]
    assert due[2][3] == "frees 2.0 MB of disk (2 stored contents)"
    whole = texts(view)
    assert "The content of 1 file stays on the disk: a file still kept has the same bytes." in whole
    assert "Owners' statements erased with their last file: 2." in whole  # the closed case's and the copy's
    coming = rows_of(find(view, "storage-coming"))
    assert [r[1:] for r in coming] == [["Declined files", "1", "1.0 MB"]]  # the open case's declined file, in 20 days
    assert (
        coming[0][0] == f"{(seeded['now'] + dt.timedelta(days=20)).astimezone(ZoneInfo('Europe/London')):%a %d %b %Y}"
    )
    for secret in ("wait.mp4", "kept.mp4", "CR-2026-0002", "JO/1", seeded["open"]["shas"][0]):
        assert secret not in json.dumps(view)  # counts and sizes only


def test_files_on_the_disk_that_the_database_does_not_list_are_pointed_out(app, runtime, seeded):
    stray = runtime.settings.evidence_dir / "sha256" / "00" / "00" / ("0" * 64)
    stray.parent.mkdir(parents=True, exist_ok=True)
    stray.write_bytes(b"x" * MB)
    disk = texts(find(storage_answer(app), "storage-disk")["props"]["children"])
    assert "6 files (9.0 MB) on the disk" in disk
    assert "1 file (1.0 MB) on the disk that no kept file in the database refers to" in disk


def test_the_page_states_the_periods_in_force(app, runtime):
    with signed_in(app, "admin"):
        text = texts(plain(route("/storage")))
    assert "Declined files are deleted 30 days after the decision to decline them." in text
    assert "is deleted 90 days after the case was closed" in text


@pytest.mark.parametrize("role", [None, *(r for r in ROLES if r != "admin")])
def test_only_administrators_see_the_storage_view(app, role):
    client = app.server.test_client()
    if role is not None:
        login(client, role)
    page = client.get("/storage")
    forged = post_with_values(client, app, "storage-body", {"storage-refresh.n_clicks": 1})
    routed = client.post("/_dash-update-component", json=router_body("/storage"))
    if role is None:
        assert page.status_code == 302 and "/login" in page.headers["Location"]
        assert forged.status_code == 401
    else:
        assert page.status_code == 403, role
        assert forged.status_code == 403, role
        assert "Evidence storage" not in routed.get_data(as_text=True)
    assert "MB" not in forged.get_data(as_text=True)


def test_the_auditors_retention_summary_includes_footage(app, runtime, seeded):
    with signed_in(app, "auditor"):
        view = plain(audit_page.retention_now(0))
    table = find(view, "audit-retention-footage")["props"]["children"][1]
    rows = [
        [texts(c["props"]["children"]) for c in tr["props"]["children"]]
        for tr in table["props"]["children"][1]["props"]["children"]
    ]
    assert [[r[0], r[2], r[3]] for r in rows] == [
        ["Awaiting a decision", "1", "2.0 MB"],
        ["Accepted exhibits, open cases", "1", "3.0 MB"],
        ["Declined, case open", "2", "4.0 MB"],
        ["Files of closed cases", "2", "2.0 MB"],
        ["Due now: declined", "1", "3.0 MB"],
        ["Due now: closed cases", "2", "2.0 MB"],
        ["Deleted so far", "0", "–"],
    ]
    assert "Deleted 30 days after the decision." in rows[2][1]
    summary = texts(find(view, "audit-retention-footage"))
    assert "6 files (11.0 MB) kept as of" in summary
    assert "The next retention run deletes 3 (5.0 MB) and erases 2 owners' statements." in summary
    assert (
        "It frees 2.0 MB of disk (the content of 1 of those files stays: a file still kept has the same bytes)."
    ) in summary
    assert "Owners' statements held: 3; erased with their files: 0." in summary
    # After the run: the deleted files are counted, the statement erased.
    from dashboard.evidence.retention import Periods, run_footage_retention
    from dashboard.footage.storage import Store

    run_footage_retention(runtime.sessions, Store(runtime.settings.evidence_dir), utcnow(), Periods(30, 90))
    with signed_in(app, "auditor"):
        summary = texts(find(plain(audit_page.retention_now(1)), "audit-retention-footage"))
    assert "3 files (6.0 MB) kept as of" in summary and "The next retention run deletes 0 (0 MB)" in summary
    assert "Owners' statements held: 1; erased with their files: 2." in summary
