"""The public pages carry the force's name, logo and colour and a footer saying who answers for the
data, and /privacy states the periods in force: all from configuration (issue 18).

Expected figures are worked out by hand: white on #767676 is 4.54:1 and on #777777 4.48:1 (WCAG
relative luminance 0.1812 and 0.1845), so the first passes AA (4.5:1) and the second does not.
"""

from __future__ import annotations

import dataclasses
import html
import json
import os
import re
import struct
import zlib
from pathlib import Path

import pytest

from dashboard.config import ConfigError, load_settings
from dashboard.core.vocab import ROLES
from dashboard.public import form
from dashboard.registry.database import make_engine, migrate, transaction
from dashboard.runtime import prepare
from dashboard.security.accounts import create_user
from tests.integration.conftest import login

CONFIGURED = {
    "FORCE_NAME": "Staffordshire Police",
    "DATA_CONTROLLER": "Chief Constable of Staffordshire Police",
    "LAWFUL_BASIS": "Consent (UK GDPR Article 6(1)(a)), given on the form",
    "DPO_EMAIL": "dpo@example.police.uk",
    "DPO_ADDRESS": "Data Protection Officer, PO Box 9, Stafford ST16 0AA",
    "FORCE_COLOUR": "#1D4E89",
    "RETENTION_MONTHS": "18",
    "RETENTION_GRACE_DAYS": "21",
    "EVIDENCE_DECLINED_DAYS": "14",
    "EVIDENCE_CLOSED_CASE_DAYS": "60",
    "RESPONSE_LINK_DAYS": "5",
}
SVG = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="120" height="48" '
    b'viewBox="0 0 120 48"><rect width="120" height="48" fill="#ffffff"/></svg>\n'
)


def png_1x1() -> bytes:
    """A valid one-pixel white PNG, built by hand (signature, IHDR, IDAT, IEND)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\xff\xff"))
        + chunk(b"IEND", b"")
    )


def settings(tmp_path: Path, reference_dir: Path, **env):
    return load_settings(
        {
            "DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}",
            "REFERENCE_DATA_DIR": str(reference_dir),
            "SECRET_KEY": "k" * 48,
            "OUTBOX_WORKER": "0",
            **env,
        }
    )


def make_app(tmp_path, reference_dir, **env):
    from dashboard.application import create_app

    rt = prepare(settings(tmp_path, reference_dir, **env))
    with transaction(rt.sessions) as s:
        for role in ROLES:
            create_user(s, f"{role}1", "correct-horse-battery", role)
    app = create_app(rt)
    app.server.config["TESTING"] = True
    return app, rt


@pytest.fixture
def configured(tmp_path, reference_dir):
    logo = tmp_path / "force-logo.svg"
    logo.write_bytes(SVG)
    app, rt = make_app(tmp_path, reference_dir, FORCE_LOGO=str(logo), **CONFIGURED)
    yield app, rt
    rt.engine.dispose()


def text(response) -> str:
    """The page's visible words: tags dropped, entities decoded, white space collapsed."""
    body = response.get_data(as_text=True)
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", body, flags=re.DOTALL)
    return visible(body)


def visible(markup: str) -> str:
    spaced = re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", markup))).strip()
    return re.sub(r" ([,.;:)])", r"\1", spaced)  # no space left where an inline tag closed before punctuation


def footer(response) -> str:
    body = response.get_data(as_text=True)
    found = re.search(r'<footer class="public-footer" id="public-footer">(.*?)</footer>', body, flags=re.DOTALL)
    assert found, "no public footer on the page"
    return visible(found.group(1))


# --------------------------------------------------------------------------- the frame on every public page


def test_every_public_page_carries_the_forces_name_and_the_configured_footer(configured):
    app, _ = configured
    client = app.server.test_client()
    pages = {"/register": 200, "/privacy": 200, "/manage/not-a-real-link": 404, "/respond/not-a-real-link": 404}
    for path, status in pages.items():
        page = client.get(path)
        assert page.status_code == status, path
        body = page.get_data(as_text=True)
        assert '<span class="public-force" id="public-force">Staffordshire Police</span>' in body, path
        assert '<img class="public-logo" src="/brand/logo" alt="" id="public-logo">' in body, path
        assert '<link rel="stylesheet" href="/brand/style.css">' in body, path
        words = footer(page)
        assert "Data controller Chief Constable of Staffordshire Police" in words, path
        assert "Lawful basis Consent (UK GDPR Article 6(1)(a)), given on the form" in words, path
        assert (
            "Data protection officer dpo@example.police.uk Data Protection Officer, PO Box 9, Stafford ST16 0AA"
            in words
        ), path
        assert "Information Commissioner's Office: ico.org.uk, 0303 123 1113" in words, path
        assert '<a href="mailto:dpo@example.police.uk">' in body, path
        assert '<a href="https://ico.org.uk/make-a-complaint/">' in body, path
        assert '<a href="/privacy" id="footer-privacy-link">' in body, path


def test_the_defaults_name_the_force_area_and_the_consent_basis(app, reference):
    client = app.server.test_client()
    page = client.get("/register")
    body = page.get_data(as_text=True)
    assert f'id="public-force">{reference.force_name}</span>' in body  # the manifest's force area name
    assert 'id="public-logo"' not in body  # no logo configured: the name alone
    words = footer(page)
    assert f"Data controller {reference.force_name} Lawful basis Consent (UK GDPR Article 6(1)(a))" in words
    assert f"Data protection officer Write to the data protection officer at {reference.force_name}" in words
    assert client.get("/brand/logo").status_code == 404
    css = client.get("/brand/style.css")
    assert css.mimetype == "text/css"
    # The default colour, and 3/4 of each channel for the hover: 0x12*3/4 = 13 = 0x0d, 0x28 -> 0x1e, 0x4c -> 0x39.
    assert css.get_data(as_text=True).startswith("html:root { --ccr-navy: #12284c; --ccr-navy-dark: #0d1e39; }")


def test_the_consent_basis_agrees_with_the_form(app):
    """The register's own words: the owner ticks a box agreeing to be contacted; the default basis is consent."""
    client = app.server.test_client()
    register = text(client.get("/register"))
    assert "I agree that the police may contact me to ask for footage" in register
    assert "Lawful basis Consent (UK GDPR Article 6(1)(a))" in register


def test_the_public_pages_say_nothing_of_staff_or_a_pilot(configured):
    app, _ = configured
    client = app.server.test_client()
    for path in ("/register", "/privacy", "/manage/not-a-real-link"):
        seen = text(client.get(path)).lower()
        for word in ("staff", "pilot", "employee", "employer", "colleague"):
            assert not re.search(rf"\b{word}s?\b", seen), (path, word)


def test_the_staff_header_carries_the_forces_name_logo_and_colour(configured):
    app, _ = configured
    client = app.server.test_client()
    login(client, "officer")
    layout = json.dumps(client.get("/_dash-layout").get_json())
    assert '"Staffordshire Police"' in layout and '"/brand/logo"' in layout
    index = client.get("/search").get_data(as_text=True)
    assert '<link rel="stylesheet" href="/brand/style.css">' in index
    assert "<title>Community Camera Registry · Staffordshire Police</title>" in index
    css = client.get("/brand/style.css").get_data(as_text=True)
    # #1d4e89 as given (upper case accepted); hover 3/4: 0x1d=29 -> 21=0x15, 0x4e=78 -> 58=0x3a, 0x89=137 -> 102=0x66.
    assert "--ccr-navy: #1d4e89; --ccr-navy-dark: #153a66;" in css


# --------------------------------------------------------------------------- the privacy notice


def test_the_privacy_notice_is_public_and_states_the_periods_in_force(configured):
    app, rt = configured
    client = app.server.test_client()
    page = client.get("/privacy")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    words = text(page)
    assert "The data controller, responsible for your data, is Chief Constable of Staffordshire Police." in words
    assert (
        "You can contact the data protection officer by email at dpo@example.police.uk, or by post at "
        "Data Protection Officer, PO Box 9, Stafford ST16 0AA."
    ) in words
    assert "The lawful basis is: Consent (UK GDPR Article 6(1)(a)), given on the form." in words
    assert (
        "Every 18 months we ask you to confirm that your details are still right. If you do not confirm them "
        "within 21 days of being asked, your registration is deleted."
    ) in words
    assert (
        "Footage: Footage you send is deleted 14 days after the police decide not to use it, and all "
        "of it, with what you told us about it, 60 days after the case is closed."
    ) in words
    assert "works for 5 days, or until you send your answer" in words
    assert "never shown for fewer than 8 registrations" in words
    assert "kept in full and never deleted" in words and "section 62" in words
    assert "ico.org.uk/make-a-complaint" in words and "0303 123 1113" in words
    for heading in (
        "Who we are",
        "What we keep",
        "Why we keep it",
        "Who can see it",
        "How long we keep it",
        "Your rights",
        "How to complain",
    ):
        assert f">{heading}</h2>" in page.get_data(as_text=True)

    # The notice reads the live settings: change them and it changes (nothing cached from start-up).
    changed = dataclasses.replace(
        rt.settings,
        retention_months=1,
        retention_grace_days=1,
        evidence_declined_days=7,
        evidence_closed_case_days=365,
        k_min=10,
        dpo_email=None,
        dpo_address=None,
        data_controller=None,
    )
    app.server.extensions["ccr"] = dataclasses.replace(rt, settings=changed)
    words = text(client.get("/privacy"))
    assert "Every 1 month we ask you" in words and "within 1 day of being asked" in words
    assert "deleted 7 days after the police decide not to use it" in words
    assert "365 days after the case is closed" in words
    assert "never shown for fewer than 10 registrations" in words
    assert "18 months" not in words and "21 days" not in words and "14 days" not in words
    # No controller set: the force's name; no DPO contact set: write to the controller.
    assert "The data controller, responsible for your data, is Staffordshire Police." in words
    assert "You can contact the data protection officer by writing to Staffordshire Police." in words
    in_footer = footer(client.get("/register"))
    assert "Data protection officer Write to the data protection officer at Staffordshire Police" in in_footer


# Every field the registration form asks, and the words the notice uses for it.
FORM_FIELD_WORDS = {
    "name": "your full name",
    "email": "your email address",
    "phone": "your UK phone number",
    "preferred_channel": "how you would like the police to contact you",
    "site_kind": "a home, a business",
    "address": "the house number or name, the street",
    "postcode": "and the postcode",
    "lat": "the point you place on the map",
    "lon": "the point you place on the map",
    "consent": "when you agreed to be contacted",
    "kind": "the kind of camera",
    "placement": "whether it is indoors or outdoors",
    "mount": "what it is fixed to",
    "direction_deg": "which way it faces",
    "compass": "which way it faces",
    "retention_days": "how many days it keeps footage",
    "recording_mode": "records all the time or when it sees movement",
    "overlooks": "what it overlooks",
}


def test_the_privacy_notice_names_every_field_the_form_asks(configured):
    app, _ = configured
    asked = set(form.TOP_FIELDS) | (set(form.CAMERA_FIELDS) - {"id"}) | {"compass"}
    assert asked == set(FORM_FIELD_WORDS), "a form field was added or removed: say it in the privacy notice"
    words = text(app.server.test_client().get("/privacy"))
    missing = {f: w for f, w in FORM_FIELD_WORDS.items() if w not in words}
    assert not missing


# --------------------------------------------------------------------------- the logo


@pytest.mark.parametrize(
    "name, content, mimetype",
    [
        ("logo.png", png_1x1(), "image/png"),
        ("logo.svg", SVG, "image/svg+xml"),
        (
            "logo.img",
            b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64,
            "image/jpeg",
        ),  # the content decides, not the name
    ],
)
def test_the_logo_is_served_with_its_content_type(tmp_path, reference_dir, name, content, mimetype):
    logo = tmp_path / name
    logo.write_bytes(content)
    app, rt = make_app(tmp_path, reference_dir, FORCE_LOGO=str(logo))
    try:
        answer = app.server.test_client().get("/brand/logo")  # no login: it is on the public pages
        assert answer.status_code == 200
        assert answer.mimetype == mimetype
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        assert answer.get_data() == content
    finally:
        rt.engine.dispose()


def test_a_missing_or_unusable_logo_stops_start_up_with_a_clear_line(tmp_path, reference_dir):
    with pytest.raises(
        ConfigError,
        match=r"FORCE_LOGO=.*nowhere\.png cannot be used: no such file\. Point it at a "
        r"PNG, JPEG or SVG image file",
    ):
        settings(tmp_path, reference_dir, FORCE_LOGO=str(tmp_path / "nowhere.png"))
    with pytest.raises(ConfigError, match="it is a folder, not an image file"):
        settings(tmp_path, reference_dir, FORCE_LOGO=str(tmp_path))
    (tmp_path / "notes.png").write_text("not a picture at all")
    with pytest.raises(ConfigError, match=r"notes\.png cannot be used: it is not a PNG, JPEG or SVG image"):
        settings(tmp_path, reference_dir, FORCE_LOGO=str(tmp_path / "notes.png"))
    (tmp_path / "feed.xml").write_text("<rss><channel/></rss>")
    with pytest.raises(ConfigError, match="an XML file, but not SVG"):
        settings(tmp_path, reference_dir, FORCE_LOGO=str(tmp_path / "feed.xml"))
    (tmp_path / "active.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>')
    with pytest.raises(ConfigError, match="the SVG holds a script or an event handler"):
        settings(tmp_path, reference_dir, FORCE_LOGO=str(tmp_path / "active.svg"))
    (tmp_path / "onload.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>')
    with pytest.raises(ConfigError, match="the SVG holds a script or an event handler"):
        settings(tmp_path, reference_dir, FORCE_LOGO=str(tmp_path / "onload.svg"))
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(ConfigError, match="the file is empty"):
        settings(tmp_path, reference_dir, FORCE_LOGO=str(tmp_path / "empty.png"))
    (tmp_path / "huge.png").write_bytes(png_1x1() + b"\x00" * 2**20)
    with pytest.raises(ConfigError, match="under 1,048,576 bytes"):
        settings(tmp_path, reference_dir, FORCE_LOGO=str(tmp_path / "huge.png"))


# --------------------------------------------------------------------------- the colour


def test_a_colour_white_text_cannot_be_read_on_is_refused_with_a_darker_shade(tmp_path, reference_dir):
    with pytest.raises(ConfigError) as refused:
        settings(tmp_path, reference_dir, FORCE_COLOUR="#777777")
    assert str(refused.value) == (
        "FORCE_COLOUR=#777777 is too light for the white text on it: contrast 4.48:1, "
        "WCAG AA needs 4.5:1; use a darker shade such as #767676 (4.54:1)."
    )
    assert settings(tmp_path, reference_dir, FORCE_COLOUR="#767676").force_colour == "#767676"
    assert settings(tmp_path, reference_dir, FORCE_COLOUR="#000").force_colour == "#000000"
    with pytest.raises(ConfigError, match=r"FORCE_COLOUR=#ffffff is too light .* contrast 1\.00:1"):
        settings(tmp_path, reference_dir, FORCE_COLOUR="#FFF")
    for bad in ("red", "#12284", "#12284cc", "rgb(0,0,0)", "#ggg"):
        expected = f"FORCE_COLOUR={bad!r} is not a colour; write it in hex, e.g. #1d4e89."
        with pytest.raises(ConfigError, match=re.escape(expected)):
            settings(tmp_path, reference_dir, FORCE_COLOUR=bad)


def test_the_text_settings_are_one_short_line_and_the_dpo_email_an_address(tmp_path, reference_dir):
    with pytest.raises(ConfigError, match="DPO_EMAIL='data protection' is not an email address"):
        settings(tmp_path, reference_dir, DPO_EMAIL="data protection")
    with pytest.raises(ConfigError, match="FORCE_NAME holds a line break"):
        settings(tmp_path, reference_dir, FORCE_NAME="Staffordshire\nPolice")
    with pytest.raises(ConfigError, match="FORCE_NAME is 81 characters long; keep it to 80"):
        settings(tmp_path, reference_dir, FORCE_NAME="P" * 81)
    st = settings(tmp_path, reference_dir, FORCE_NAME="  Staffordshire Police ", LAWFUL_BASIS=" ")
    assert st.force_name == "Staffordshire Police" and st.lawful_basis == "Consent (UK GDPR Article 6(1)(a))"


def test_the_command_line_check_names_the_frame_and_stops_on_a_bad_one(tmp_path, reference_dir, reference):
    """`python -m dashboard check` (and so `python app.py`) stops with one line on a bad colour or logo,
    and on a good set-up says what the public pages will show."""
    from tests.integration.test_cli import assert_one_line_error, run

    base = {k: v for k, v in os.environ.items() if not k.startswith(("FORCE_", "DPO_", "DATA_CONTROLLER", "DEMO"))}
    env = {
        **base,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "REFERENCE_DATA_DIR": str(reference_dir),
        "SECRET_KEY": "s" * 40,
        "EVIDENCE_DIR": str(tmp_path / "evidence"),
    }
    assert_one_line_error(
        run(["check"], {**env, "FORCE_COLOUR": "#6699cc"}),
        "FORCE_COLOUR=#6699cc is too light",
        "contrast 3.00:1",
        "such as #517aa3",
    )
    assert_one_line_error(
        run(["check"], {**env, "FORCE_LOGO": str(tmp_path / "crest.png")}),
        "FORCE_LOGO=",
        "crest.png cannot be used: no such file",
    )
    migrate(make_engine(env["DATABASE_URL"]))
    plain = run(["check"], env)
    assert plain.returncode == 0, plain.stderr
    assert f"ok  public pages: {reference.force_name}, colour #12284c (white text 14.6:1), no logo" in plain.stdout
    assert "note: DPO_EMAIL and DPO_ADDRESS are not set" in plain.stdout
    framed = run(["check"], {**env, "FORCE_NAME": "Staffordshire Police", "DPO_EMAIL": "dpo@example.police.uk"})
    assert "ok  public pages: Staffordshire Police, colour #12284c" in framed.stdout
    assert "data controller Staffordshire Police" in framed.stdout and "note: DPO" not in framed.stdout
