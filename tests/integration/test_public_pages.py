"""The public pages through the Flask test client: CSRF, campaign counts kept apart from
registrations, the owner's link showing only the owner's registration, edits and reconfirmation."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa

from dashboard.config import load_settings
from dashboard.registry import campaigns, registration
from dashboard.registry.models import Camera, Campaign, CampaignDailyCount, Registrant, Site
from dashboard.runtime import prepare


@pytest.fixture
def public(tmp_path, reference_dir):
    from dashboard.application import create_app

    rt = prepare(
        load_settings(
            {
                "DATABASE_URL": f"sqlite:///{tmp_path / 'public.db'}",
                "REFERENCE_DATA_DIR": str(reference_dir),
                "SECRET_KEY": "k" * 48,
                "REGISTRATION_RATE_LIMIT": "100000 per hour",
            }
        )
    )
    app = create_app(rt)
    yield app.server.test_client(), rt
    rt.engine.dispose()


def _csrf(client, path="/register") -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True)).group(1)


def _form(postcode: str, **changes) -> dict:
    data = {
        "action": "register",
        "camera_count": "2",
        "name": "Alex Formfiller",
        "email": "alex@example.org",
        "phone": "",
        "preferred_channel": "email",
        "site_kind": "home",
        "address": "3 Form Road",
        "postcode": postcode,
        "consent": "yes",
        "cam-0-kind": "doorbell",
        "cam-0-placement": "outdoor",
        "cam-0-recording_mode": "motion",
        "cam-0-compass": "S",
        "cam-0-retention_days": "30",
        "cam-1-kind": "dome",
        "cam-1-placement": "indoor",
        "cam-1-recording_mode": "continuous",
    }
    data.update(changes)
    return data


def _register(client, postcode, **changes) -> str:
    token = _csrf(client)
    page = client.post("/register", data={"csrf_token": token, **_form(postcode, **changes)}).get_data(as_text=True)
    return re.search(r'/manage/([A-Za-z0-9_-]+)"', page).group(1)


@pytest.fixture(scope="module")
def two_postcodes(reference):
    return reference.postcodes["postcode"].iloc[[10, 500]].tolist()


def test_a_form_without_its_csrf_token_changes_nothing(public, two_postcodes):
    client, rt = public
    answer = client.post("/register", data=_form(two_postcodes[0]))
    assert answer.status_code == 400 and "expired" in answer.get_data(as_text=True)
    manage_token = _register(client, two_postcodes[0])
    other = client.application.test_client()  # another browser: no session, so no valid token
    assert other.post(f"/manage/{manage_token}", data={"action": "withdraw-confirmed"}).status_code == 400
    with rt.sessions() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Registrant).where(Registrant.status == "active")) == 1


def test_the_owners_link_shows_only_their_registration_and_text_stays_text(public, two_postcodes):
    client, rt = public
    mine = _register(client, two_postcodes[0], name="<script>alert('x')</script> Owner")
    _register(client, two_postcodes[1], name="Bea Neighbour", email="bea@example.org", address="9 Other Street")
    page = client.get(f"/manage/{mine}").get_data(as_text=True)
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; Owner" in page and "<script>alert" not in page
    assert "Bea Neighbour" not in page and "bea@example.org" not in page and "9 Other Street" not in page
    assert two_postcodes[1] not in page
    # The public pages show nobody's registration: no names, addresses or coordinates of sites.
    for path in ("/register", f"/register/postcode?postcode={two_postcodes[1]}"):
        text = client.get(path).get_data(as_text=True)
        assert "Bea Neighbour" not in text and "Other Street" not in text and "camera_id" not in text
    with rt.sessions() as s:
        bea = s.scalar(sa.select(Site).join(Registrant).where(Registrant.name == "Bea Neighbour"))
        centre = rt.reference.lookup_postcode(two_postcodes[1])
        assert client.get(f"/register/postcode?postcode={two_postcodes[1]}").get_json() == {
            "postcode": two_postcodes[1],
            "lat": float(centre["lat"]),
            "lon": float(centre["lon"]),
        }
        assert bea.lat == pytest.approx(float(centre["lat"]))  # the same point, but as public open data
    assert client.get("/manage/not-a-real-token-at-all-1234").status_code == 404


def test_an_unknown_postcode_is_answered_not_failed(public):
    """The form's map looks a postcode up as the owner types: a mistyped one is answered (200, not
    found, in words) rather than failed with a 404 that the browser reports as an error."""
    client, rt = public
    answer = client.get("/register/postcode?postcode=ZZ99 9ZZ")
    assert answer.status_code == 200
    assert answer.get_json() == {
        "found": False,
        "error": f"'ZZ99 9ZZ' is not a postcode in the {rt.reference.force_name} area.",
    }
    assert client.get("/register/postcode?postcode=").get_json()["found"] is False


def test_campaign_counts_move_and_never_touch_the_registration(public, two_postcodes):
    client, rt = public
    with rt.sessions() as s:
        s.add(Campaign(slug="poster-stafford", name="Posters in Stafford", channel="poster"))
        s.commit()
    assert client.get("/r/poster-stafford").headers["Location"] == "/register?c=poster-stafford"
    # An unknown campaign is answered alike (its existence is not told), and counts nothing.
    assert client.get("/r/no-such-campaign").headers["Location"] == "/register?c=no-such-campaign"
    client.get("/register?c=poster-stafford")
    token = _csrf(client, "/register?c=poster-stafford")
    client.post("/register", data={"csrf_token": token, **_form(two_postcodes[0], name="")})  # a start, with errors
    client.post("/register", data={"csrf_token": token, **_form(two_postcodes[0])})  # completed
    with rt.sessions() as s:
        row = s.scalar(sa.select(CampaignDailyCount))
        assert (row.scans, row.form_starts, row.completions) == (1, 1, 1)
        assert row.day == dt.datetime.now(dt.UTC).astimezone(campaigns.UK).date()
        stored = s.scalar(sa.select(Registrant))
        values = [str(getattr(stored, c.name)) for c in Registrant.__table__.columns]
        values += [str(getattr(stored.site, c.name)) for c in Site.__table__.columns]
        assert not any("poster" in v for v in values)


def test_editing_keeps_removed_cameras_for_the_record_and_refuses_strangers(public, two_postcodes):
    client, rt = public
    mine = _register(client, two_postcodes[0])
    _register(client, two_postcodes[1], email="other@example.org")
    with rt.sessions() as s:
        me = registration.by_token(s, mine)
        my_ids = sorted(c.id for c in me.site.cameras)
        stranger = s.scalar(sa.select(Camera.id).where(Camera.id.not_in(my_ids)))
    page = client.get(f"/manage/{mine}").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    keep_first = _form(
        two_postcodes[0],
        action="save",
        **{"cam-0-id": str(my_ids[0]), "cam-0-retention_days": "7", "cam-1-id": "", "cam-1-kind": "ptz"},
    )
    assert client.post(f"/manage/{mine}", data={"csrf_token": token, **keep_first}).status_code == 303
    with rt.sessions() as s:
        cams = {c.id: c for c in registration.by_token(s, mine).site.cameras}
        assert cams[my_ids[0]].retention_days == 7 and cams[my_ids[0]].active
        assert not cams[my_ids[1]].active  # left out: switched off, kept for requests that name it
        assert [c.kind for c in cams.values() if c.id not in my_ids] == ["ptz"]
    hijack = _form(two_postcodes[0], action="save", **{"cam-0-id": str(stranger), "cam-1-id": str(my_ids[0])})
    answer = client.post(f"/manage/{mine}", data={"csrf_token": token, **hijack}).get_data(as_text=True)
    assert "changed in another window" in answer
    with rt.sessions() as s:
        assert s.get(Camera, stranger).site.registrant.email == "other@example.org"
        assert s.get(Camera, stranger).active


def test_a_registration_over_a_year_old_is_due_and_reconfirming_clears_it(public, two_postcodes):
    client, rt = public
    mine = _register(client, two_postcodes[0])
    with rt.sessions() as s:
        me = registration.by_token(s, mine)
        me.last_confirmed_at = dt.datetime.now(dt.UTC) - dt.timedelta(days=366)
        s.commit()
        assert registration.due_for_reconfirmation(me)
    page = client.get(f"/manage/{mine}").get_data(as_text=True)
    assert 'id="reconfirm-due"' in page
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert client.post(f"/manage/{mine}", data={"csrf_token": token, "action": "reconfirm"}).status_code == 303
    page = client.get(f"/manage/{mine}?saved=reconfirmed").get_data(as_text=True)
    assert 'id="reconfirm-due"' not in page and "confirmed for another 12 months" in page


# --------------------------------------------------------------------------- generated form posts

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

WORDS = st.text(st.characters(categories=["L", "N", "P", "Zs"]), max_size=12)
BAD_FORM_FIELDS = {
    "name": st.one_of(
        st.just(""),
        st.just("   "),
        st.text(min_size=121, max_size=150).filter(lambda t: len(" ".join(t.split())) > 120),
        st.builds(lambda c: "Sam" + c + "Owner", st.sampled_from("\x00\x07\x1b")),
    ),
    "email": st.one_of(st.text(st.characters(categories=["L", "N"]), min_size=1, max_size=20), st.just("a@")),
    "phone": st.one_of(
        st.from_regex(r"\A[0-9]{1,6}\Z"), st.text(st.characters(categories=["L"]), min_size=1, max_size=8)
    ),
    "preferred_channel": WORDS.filter(lambda t: t.strip() not in ("email", "phone", "text")),
    "site_kind": WORDS.filter(lambda t: t.strip() not in ("home", "business", "other")),
    "address": st.one_of(
        st.text(max_size=2), st.text(min_size=201, max_size=230).filter(lambda t: len(" ".join(t.split())) > 200)
    ),
    "postcode": WORDS,  # filtered against the reference list in the test
    "lat": st.one_of(st.just("north"), st.just("95.5"), st.just("52.8")),  # the last: lat without lon
    "cam-0-kind": WORDS.filter(lambda t: t.strip() not in ("doorbell", "fixed", "dome", "ptz", "other")),
    "cam-0-placement": WORDS.filter(lambda t: t.strip() not in ("outdoor", "indoor")),
    "cam-1-recording_mode": WORDS.filter(lambda t: t.strip() not in ("continuous", "motion")),
    "cam-0-direction_deg": st.one_of(
        st.integers(360, 10**6).map(str),
        st.integers(-(10**6), -1).map(str),
        st.text(st.characters(categories=["L"]), min_size=1, max_size=6),
    ),
    "cam-1-retention_days": st.one_of(
        st.integers(366, 10**6).map(str), st.integers(-999, -1).map(str), st.just("a week")
    ),
    "cam-0-mount": WORDS.filter(
        lambda t: t.strip() not in ("", "door", "wall", "eaves", "window", "pole", "ceiling", "other")
    ),
    "cam-1-overlooks": st.lists(
        WORDS.filter(lambda t: t.strip() not in ("", "street", "driveway", "garden", "shop_front", "car_park")),
        min_size=1,
        max_size=2,
    ),
    "consent": st.sampled_from(["no", "", "true", "1"]),
}


def test_generated_bad_forms_store_nothing_and_mark_a_field(public, two_postcodes, reference):
    client, rt = public
    token = _csrf(client)
    known = set(reference.postcodes["postcode_key"])
    checked = []

    @settings(
        max_examples=1000,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(st.sampled_from(sorted(BAD_FORM_FIELDS)).flatmap(lambda f: st.tuples(st.just(f), BAD_FORM_FIELDS[f])))
    def check(change):
        field, value = change
        if field == "postcode" and value.replace(" ", "").upper() in known:
            return
        data = {"csrf_token": token, **_form(two_postcodes[0], email=f"g{len(checked)}@example.org"), field: value}
        if field == "consent" and value == "":
            data.pop("consent")  # an unticked box is not sent at all
        answer = client.post("/register", data=data)
        page = answer.get_data(as_text=True)
        assert answer.status_code == 200 and 'id="error-summary"' in page, (field, value)
        assert re.search(r'id="[a-z0-9_-]+-error"', page), (field, value)  # a message beside a field
        checked.append(field)

    check()
    assert len(checked) >= 900
    with rt.sessions() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Registrant)) == 0


def test_the_public_pages_state_the_configured_retention_period(tmp_path, reference_dir):
    from dashboard.application import create_app

    rt = prepare(
        load_settings(
            {
                "DATABASE_URL": f"sqlite:///{tmp_path / 'six.db'}",
                "REFERENCE_DATA_DIR": str(reference_dir),
                "SECRET_KEY": "k" * 48,
                "RETENTION_MONTHS": "6",
            }
        )
    )
    page = create_app(rt).server.test_client().get("/register").get_data(as_text=True)
    assert "We ask you to confirm it every 6 months" in page and "12 months" not in page
