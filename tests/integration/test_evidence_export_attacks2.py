"""Second attacker's pass on the export route (issue 17): one logged link, how many bundles, and
whether the export's audit row says what the bundle held. Fixtures as tests/integration/test_evidence_attacks.py."""

from __future__ import annotations

import io
import json
import zipfile

from dashboard.evidence import triage
from dashboard.registry.database import transaction
from tests.integration.test_evidence_attacks import CALLBACK, _export_body
from tests.integration.test_evidence_triage import NOW, actor, client_for, events, runtime, seeded  # noqa: F401 (runtime, seeded: fixtures)


def _export_url(app, client, case_id: str) -> str:
    answer = client.post(CALLBACK, json=_export_body(app, case_id))
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return answer.get_json()["response"]["cases-ev-link"]["data"]["url"]


def _complete_zip(data: bytes) -> dict | None:
    """Each member's bytes, for the files/ members, when ``data`` is a whole readable ZIP."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            return {n: z.read(n) for n in z.namelist() if n.startswith("files/")} if z.testzip() is None else None
    except zipfile.BadZipFile:
        return None


def test_an_export_link_gives_one_whole_bundle_even_when_asked_with_a_range(app, runtime, seeded):
    """Promise 5 (every export logged) and the route's own rule: a link gives one whole copy, a
    request from the first byte being a copy, one from later a resumption. The bundle is a stream
    that ignores Range: 'Range: bytes=1-' is not counted as a copy and still gets the WHOLE ZIP
    (200, every byte), as many times as asked, against one evidence_exported row."""
    with transaction(runtime.sessions) as s:
        triage.accept(s, actor(runtime, "officer1"), seeded.file_ids[0], now=NOW, fmt="{initials}/{n}")
    me = client_for(app, "officer1")
    url = _export_url(app, me, seeded.case_id)
    first = me.get(url)
    assert first.status_code == 200 and zipfile.ZipFile(io.BytesIO(first.data)).testzip() is None
    whole = []
    for _ in range(3):
        again = me.get(url, headers={"Range": "bytes=1-"})
        if again.status_code in (200, 206) and _complete_zip(again.data) == _complete_zip(first.data) is not None:
            whole.append(again)  # (not compared byte for byte: the manifest's export time is the second it is sent)
    assert len(events(runtime, "evidence_exported")) == 1
    assert not whole, f"{len(whole)} more whole bundles from one logged export"


def test_the_export_row_names_the_files_the_bundle_holds(app, runtime, seeded):
    """The export is logged (with its files and hashes) when the link is made; the bundle is built
    when the link is used, up to EVIDENCE_LINK_MINUTES later. A file accepted by a team member in
    between goes out in the bundle without being in the export's audit row, whose id the manifest
    cites as the record of this hand-off."""
    with transaction(runtime.sessions) as s:
        triage.accept(s, actor(runtime, "officer1"), seeded.file_ids[0], now=NOW, fmt="{initials}/{n}")
    me = client_for(app, "officer1")
    url = _export_url(app, me, seeded.case_id)
    with transaction(runtime.sessions) as s:  # meanwhile: the second file is accepted
        triage.accept(s, actor(runtime, "officer1"), seeded.file_ids[1], now=NOW, fmt="{initials}/{n}")
    got = me.get(url)
    # Fixed by refusing: the bundle would hold a file its export row does not name, so the officer is told
    # to export again (a new row naming both); the refusal is logged.
    if got.status_code == 200:
        with zipfile.ZipFile(io.BytesIO(got.data)) as z:
            manifest = json.loads(z.read("manifest.json"))
        [row] = events(runtime, "evidence_exported")
        detail = json.loads(row.detail) if isinstance(row.detail, str) else row.detail
        assert manifest["export"]["audit_row_id"] == row.id
        assert sorted(f["file_id"] for f in manifest["files"]) == sorted(f["file_id"] for f in detail["files"])
    else:
        assert got.status_code == 403 and "export again" in got.get_data(as_text=True)
        assert json.loads(events(runtime, "evidence_refused")[-1].detail)["why"] == "changed"
        again = _export_url(app, me, seeded.case_id)
        with zipfile.ZipFile(io.BytesIO(me.get(again).data)) as z:
            assert len(json.loads(z.read("manifest.json"))["files"]) == 2


def test_a_download_link_does_not_give_unlogged_copies_as_resumptions_from_byte_one(app, runtime, seeded):
    """A download link gives one whole copy; a request that does not start at byte 0 is taken for a
    browser resuming and not counted. 'Range: bytes=1-' asked again and again gets every byte but
    the first each time (206), and the first byte of an MP4 is 0x00 (its first box is far smaller
    than 16 MiB): as many complete copies as wanted from one evidence_downloaded row."""
    from tests.integration.test_evidence_attacks import _link

    me = client_for(app, "officer1")
    url = _link(app, me, seeded.file_ids[0], "download", seeded.case_id)
    whole = me.get(url)
    assert whole.status_code == 200 and whole.data[:1] == b"\x00"
    copies = 0
    for _ in range(3):
        again = me.get(url, headers={"Range": "bytes=1-"})
        if again.status_code in (200, 206) and b"\x00" + again.data == whole.data:
            copies += 1
    assert len(events(runtime, "evidence_downloaded")) == 1
    assert copies == 0, f"{copies} more complete copies from one logged download"
