"""Public registration through POST /api/v1/registrations: what is stored, what is refused (with a
message on the field), what withdrawal erases, and the rate limit."""

from __future__ import annotations

import itertools
import json

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboard.config import load_settings
from dashboard.registry import registration
from dashboard.registry.models import AuditEvent, Camera, Registrant, Site
from dashboard.runtime import prepare

URL = "/api/v1/registrations"


def _app(tmp_path, reference_dir, limit: str):
    from dashboard.application import create_app

    settings_ = load_settings(
        {
            "DATABASE_URL": f"sqlite:///{tmp_path / 'reg.db'}",
            "REFERENCE_DATA_DIR": str(reference_dir),
            "SECRET_KEY": "k" * 48,
            "REGISTRATION_RATE_LIMIT": limit,
            "PUBLIC_BASE_URL": "https://cameras.example",
        }
    )
    rt = prepare(settings_)
    return create_app(rt), rt


@pytest.fixture
def reg_app(tmp_path, reference_dir):
    app, rt = _app(tmp_path, reference_dir, "100000 per hour")
    yield app.server.test_client(), rt
    rt.engine.dispose()


@pytest.fixture(scope="module")
def postcodes(reference):
    return reference.postcodes["postcode"].head(2000).tolist()


def valid(at_postcode: str, email: str = "sam.owner@example.org", **changes) -> dict:
    body = {
        "name": "Sam Owner",
        "email": email,
        "phone": "07700 900123",
        "preferred_channel": "email",
        "site_kind": "home",
        "address": "12 Example Street",
        "postcode": at_postcode,
        "consent": True,
        "cameras": [
            {
                "kind": "doorbell",
                "placement": "outdoor",
                "direction_deg": 350,
                "overlooks": ["street"],
                "recording_mode": "motion",
                "retention_days": 30,
            },
            {"kind": "fixed", "placement": "outdoor", "recording_mode": "continuous"},
        ],
    }
    body.update(changes)
    return body


def _count(rt, model) -> int:
    with rt.sessions() as s:
        return s.scalar(sa.select(sa.func.count()).select_from(model))


def test_a_registration_is_stored_with_a_management_link_shown_once(reg_app, postcodes, reference):
    client, rt = reg_app
    response = client.post(URL, json=valid(postcodes[0]))
    assert response.status_code == 201, response.get_json()
    out = response.get_json()
    assert out["reference"].startswith("CCR-") and out["cameras"] == 2
    assert out["management_url"] == f"https://cameras.example/manage/{out['management_token']}"
    centre = reference.lookup_postcode(postcodes[0])
    with rt.sessions() as s:
        person = s.scalar(sa.select(Registrant))
        assert person.management_token_hash == registration.token_digest(out["management_token"])
        assert out["management_token"] not in json.dumps([c.name for c in Registrant.__table__.columns])
        assert (person.name, person.email, person.phone) == ("Sam Owner", "sam.owner@example.org", "07700 900123")
        site = person.site
        # No pin given: the site is the postcode's centroid, in its district.
        assert (site.lat, site.lon) == (pytest.approx(float(centre["lat"])), pytest.approx(float(centre["lon"])))
        assert site.district_code == centre["district_code"] and site.h3_r9
        cams = sorted(site.cameras, key=lambda c: c.kind)
        assert [(c.kind, c.direction_deg, c.retention_days, c.overlooks) for c in cams] == [
            ("doorbell", 350, 30, "street"),
            ("fixed", None, None, ""),
        ]
        event = s.scalar(sa.select(AuditEvent).where(AuditEvent.action == "registration_created"))
        logged = json.dumps([event.detail, event.subject_ids, event.username, event.reason])
        for personal in ("Sam Owner", "sam.owner@example.org", "07700", "Example Street", postcodes[0]):
            assert personal not in logged
        assert registration.by_token(s, out["management_token"]).id == person.id
        assert registration.by_token(s, out["management_token"] + "x") is None


@pytest.mark.parametrize(
    "changes,field,fragment",
    [
        ({"postcode": "ZZ99 9ZZ"}, "postcode", "not a postcode in the"),
        ({"email": "not-an-email"}, "email", ""),
        ({"phone": "12345"}, "phone", "UK phone number"),
        ({"phone": "+33 1 42 68 53 00"}, "phone", "UK phone number"),
        ({"email": None, "phone": None}, "email", "email address or a phone number"),
        ({"preferred_channel": "phone", "phone": None}, "preferred_channel", "give a phone number"),
        ({"preferred_channel": "text", "phone": "01632 960123"}, "preferred_channel", "mobile"),
        ({"consent": False}, "consent", "Tick the box"),
        ({"cameras": []}, "cameras", "at least 1"),
        ({"name": "x" * 121}, "name", "120"),
        ({"name": "Sam\x00Owner"}, "name", "control characters"),
        ({"lat": 52.8}, "lat", "both latitude and longitude"),
        ({"lat": 51.5074, "lon": -0.1278}, "lat", "outside the"),
        ({"employer": "Staffordshire Police"}, "employer", "not expected"),
        ({"staff": True}, "staff", "not expected"),
    ],
)
def test_bad_input_is_refused_on_its_field_and_nothing_is_stored(reg_app, postcodes, changes, field, fragment):
    client, rt = reg_app
    response = client.post(URL, json=valid(postcodes[0], **changes))
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert any(e["field"] == field and fragment in e["message"] for e in errors), errors
    assert _count(rt, Registrant) == 0 and _count(rt, Camera) == 0


@pytest.mark.parametrize(
    "camera,field",
    [
        ({"direction_deg": 360}, "cameras.0.direction_deg"),
        ({"direction_deg": -1}, "cameras.0.direction_deg"),
        ({"retention_days": 366}, "cameras.0.retention_days"),
        ({"kind": "webcam"}, "cameras.0.kind"),
        ({"stream_url": "rtsp://10.0.0.2/live"}, "cameras.0.stream_url"),
    ],
)
def test_camera_rules_name_the_camera_and_field(reg_app, postcodes, camera, field):
    client, rt = reg_app
    body = valid(postcodes[0])
    body["cameras"][0].update(camera)
    response = client.post(URL, json=body)
    assert response.status_code == 422
    assert field in [e["field"] for e in response.get_json()["errors"]]
    assert _count(rt, Camera) == 0


def test_twenty_cameras_at_most(reg_app, postcodes):
    client, rt = reg_app
    one = {"kind": "dome", "placement": "indoor", "recording_mode": "motion"}
    assert client.post(URL, json=valid(postcodes[0], cameras=[one] * 21)).status_code == 422
    assert client.post(URL, json=valid(postcodes[0], cameras=[one] * 20)).status_code == 201
    assert _count(rt, Camera) == 20


def test_a_pin_far_from_the_postcode_is_refused(reg_app, postcodes, reference):
    client, rt = reg_app
    centre = reference.lookup_postcode(postcodes[0])
    # 0.02 degrees of latitude is about 2.2 km, more than the 1 km allowed.
    far = valid(postcodes[0], lat=float(centre["lat"]) + 0.02, lon=float(centre["lon"]))
    response = client.post(URL, json=far)
    if response.status_code == 422:
        assert any(e["field"] == "lat" for e in response.get_json()["errors"])
    near = valid(postcodes[0], lat=float(centre["lat"]) + 0.001, lon=float(centre["lon"]))  # ~111 m
    assert client.post(URL, json=near).status_code == 201
    with rt.sessions() as s:
        assert s.scalar(sa.select(Site.lat)) == pytest.approx(float(centre["lat"]) + 0.001)


def test_the_same_email_and_postcode_again_is_answered_as_any_registration(reg_app, postcodes):
    client, rt = reg_app
    assert client.post(URL, json=valid(postcodes[0])).status_code == 201
    again = client.post(URL, json=valid(postcodes[0], email="SAM.OWNER@example.org"))
    assert again.status_code == 201 and set(again.get_json()) == {
        "reference",
        "cameras",
        "management_token",
        "management_url",
    }
    assert _count(rt, Registrant) == 2
    assert client.post(URL, json=valid(postcodes[1])).status_code == 201  # another site is another registration


def test_withdrawal_erases_the_personal_data_from_every_table(reg_app, postcodes):
    client, rt = reg_app
    out = client.post(
        URL,
        json=valid(
            postcodes[0],
            name="Quentin Uniquename",
            email="quentin.u@example.org",
            phone="07700 900777",
            address="99 Rarely Road",
        ),
    ).get_json()
    with rt.sessions() as s:
        person = registration.by_token(s, out["management_token"])
        registration.withdraw(s, person, via="test")
        s.commit()
    personal = (
        "Quentin",
        "quentin.u@example.org",
        "900777",
        "Rarely Road",
        postcodes[0],
        registration.token_digest(out["management_token"]),
    )
    with rt.engine.connect() as conn:
        for table in sa.inspect(rt.engine).get_table_names():
            for row in conn.execute(sa.text(f'SELECT * FROM "{table}"')):
                text = json.dumps([str(v) for v in row])
                assert not any(p in text for p in personal), (table, row)
    with rt.sessions() as s:
        site = s.scalar(sa.select(Site))
        assert (site.lat, site.lon, site.easting_m, site.northing_m) == (None, None, None, None)
        assert site.district_code and not any(c.active for c in site.cameras)
        assert registration.by_token(s, out["management_token"]) is None
        assert (
            s.scalar(
                sa.select(sa.func.count()).select_from(AuditEvent).where(AuditEvent.action == "registration_withdrawn")
            )
            == 1
        )


def test_the_rate_limit_refuses_a_client_that_sends_too_many(tmp_path, reference_dir, postcodes):
    app, rt = _app(tmp_path, reference_dir, "3 per minute")
    client = app.server.test_client()
    statuses = [client.post(URL, json=valid(postcodes[i], email=f"p{i}@example.org")).status_code for i in range(4)]
    assert statuses == [201, 201, 201, 429]
    body = client.post(URL, json=valid(postcodes[5], email="p5@example.org")).get_json()
    assert "Too many requests" in body["error"]
    assert _count(rt, Registrant) == 3
    rt.engine.dispose()


def test_the_limit_is_shared_by_every_worker_and_stores_no_address(tmp_path, reference_dir, postcodes):
    """Two apps on one database stand for two gunicorn workers: together they allow the limit once."""
    first, rt = _app(tmp_path, reference_dir, "3 per minute")
    second, _ = _app(tmp_path, reference_dir, "3 per minute")
    clients = [first.server.test_client(), second.server.test_client()]
    statuses = [
        clients[i % 2]
        .post(URL, json=valid(postcodes[i], email=f"w{i}@example.org"), environ_base={"REMOTE_ADDR": "192.0.2.77"})
        .status_code
        for i in range(5)
    ]
    assert statuses == [201, 201, 201, 429, 429]
    other_client = clients[0].post(
        URL, json=valid(postcodes[9], email="w9@example.org"), environ_base={"REMOTE_ADDR": "198.51.100.5"}
    )
    assert other_client.status_code == 201  # another address has its own count
    with rt.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT * FROM rate_limit_counter")).all()
    assert rows and not any("192.0.2.77" in str(r) or "198.51.100.5" in str(r) for r in rows)
    rt.engine.dispose()


def test_the_openapi_document_shows_registration_as_public(reg_app):
    client, _ = reg_app
    doc = client.get("/api/v1/openapi.json")  # needs a login: the document is for API users
    assert doc.status_code == 401
    from dashboard.api.endpoints import openapi_document

    op = openapi_document("t", "1")["paths"]["/api/v1/registrations"]["post"]
    assert op["security"] == [] and "429" in op["responses"] and "401" not in op["responses"]
    assert op["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/RegistrationIn")


# --------------------------------------------------------------------------- generated payloads

_serial = itertools.count()
TOP_FIELDS = [
    "name",
    "email",
    "phone",
    "preferred_channel",
    "site_kind",
    "address",
    "postcode",
    "lat",
    "lon",
    "cameras",
    "consent",
]
CAMERA_FIELDS = ["kind", "placement", "mount", "direction_deg", "overlooks", "recording_mode", "retention_days"]
NOT_TEXT = st.one_of(st.none(), st.booleans(), st.integers(), st.lists(st.integers(), max_size=2))
NOT_INT = st.one_of(
    st.text(st.characters(categories=["L"]), min_size=1, max_size=5),
    st.floats(allow_nan=False).filter(lambda f: f != int(f) if abs(f) < 1e15 else True),
    st.lists(st.integers(), min_size=1, max_size=2),
)
KNOWN_POSTCODES: set[str] = set()  # every reference postcode key, filled by the test
CONTROL = st.sampled_from(["\x00", "\x07", "\x1b", "\x7f"])


def _with_control(text: str, control: str) -> str:
    return text[:1] + control + text[1:]


def bad_top(field: str, known: set[str]):
    return {
        "name": st.one_of(
            NOT_TEXT,
            st.just("   "),
            st.text(min_size=121, max_size=200).filter(lambda t: len(" ".join(t.split())) > 120),
            st.builds(_with_control, st.just("Sam Owner"), CONTROL),
        ),
        "email": st.one_of(st.integers(), st.text(st.characters(categories=["L", "N"]), min_size=1, max_size=30)),
        "phone": st.one_of(
            st.integers(),
            st.text(st.characters(categories=["L"]), min_size=1, max_size=12),
            st.from_regex(r"\A[0-9]{1,5}\Z"),
        ),
        "preferred_channel": st.one_of(
            NOT_TEXT, st.text(max_size=10).filter(lambda t: t.strip() not in ("email", "phone", "text"))
        ),
        "site_kind": st.one_of(
            NOT_TEXT, st.text(max_size=10).filter(lambda t: t.strip() not in ("home", "business", "other"))
        ),
        "address": st.one_of(
            NOT_TEXT,
            st.text(max_size=2).map(str.strip),
            st.text(min_size=201, max_size=260).filter(lambda t: len(" ".join(t.split())) > 200),
            st.builds(_with_control, st.just("1 High Street"), CONTROL),
        ),
        "postcode": st.one_of(NOT_TEXT, st.text(max_size=10).filter(lambda t: t.replace(" ", "").upper() not in known)),
        "lat": st.one_of(
            st.floats(min_value=90.001),
            st.floats(max_value=-90.001),
            st.text(st.characters(categories=["L"]), min_size=1, max_size=4),
            st.floats(min_value=-90, max_value=90, allow_nan=False),
        ),  # the last: lat without lon
        "lon": st.one_of(
            st.floats(min_value=180.001),
            st.text(st.characters(categories=["L"]), min_size=1, max_size=4),
            st.floats(min_value=-180, max_value=180, allow_nan=False),
        ),
        "cameras": st.one_of(
            NOT_TEXT.filter(lambda v: not isinstance(v, list)),
            st.just([]),
            st.integers(21, 30).map(
                lambda n: [{"kind": "dome", "placement": "indoor", "recording_mode": "motion"}] * n
            ),
        ),
        "consent": st.one_of(st.just(False), st.none(), st.integers(), st.text(max_size=5)),
    }[field]


def bad_camera(field: str):
    return {
        "kind": st.one_of(
            NOT_TEXT,
            st.text(max_size=10).filter(lambda t: t.strip() not in ("doorbell", "fixed", "dome", "ptz", "other")),
        ),
        "placement": st.one_of(NOT_TEXT, st.text(max_size=10).filter(lambda t: t.strip() not in ("outdoor", "indoor"))),
        "mount": st.one_of(
            st.integers(),
            st.text(min_size=1, max_size=10).filter(
                lambda t: t.strip() not in ("door", "wall", "eaves", "window", "pole", "ceiling", "other")
            ),
        ),
        "direction_deg": st.one_of(NOT_INT, st.integers(max_value=-1), st.integers(min_value=360)),
        "overlooks": st.one_of(st.integers(), st.just(["rooftop"]), st.lists(st.integers(), min_size=1, max_size=2)),
        "recording_mode": st.one_of(
            NOT_TEXT, st.text(max_size=10).filter(lambda t: t.strip() not in ("continuous", "motion"))
        ),
        "retention_days": st.one_of(NOT_INT, st.integers(max_value=-1), st.integers(min_value=366)),
    }[field]


@st.composite
def malformed(draw, postcodes):
    body = valid(draw(st.sampled_from(postcodes)), email=f"m{next(_serial)}@example.org")
    how = draw(st.sampled_from(["top", "camera", "missing", "extra"]))
    if how == "top":
        field = draw(st.sampled_from(TOP_FIELDS))
        body[field] = draw(bad_top(field, KNOWN_POSTCODES))
    elif how == "camera":
        field = draw(st.sampled_from(CAMERA_FIELDS))
        body["cameras"][draw(st.integers(0, 1))][field] = draw(bad_camera(field))
    elif how == "missing":
        body.pop(
            draw(
                st.sampled_from(["name", "preferred_channel", "site_kind", "address", "postcode", "cameras", "consent"])
            )
        )
    else:
        body[draw(st.sampled_from(["employer", "staff", "cohort", "campaign", "stream_url", "ip_address"]))] = "x"
    return body


@st.composite
def well_formed(draw, postcodes):
    n = draw(st.integers(1, 20))
    cams = [
        {
            "kind": draw(st.sampled_from(["doorbell", "fixed", "dome", "ptz", "other"])),
            "placement": draw(st.sampled_from(["outdoor", "indoor"])),
            "direction_deg": draw(st.one_of(st.none(), st.integers(0, 359))),
            "recording_mode": draw(st.sampled_from(["continuous", "motion"])),
            "retention_days": draw(st.one_of(st.none(), st.integers(0, 365))),
            "overlooks": draw(
                st.lists(st.sampled_from(["street", "driveway", "garden", "shop_front", "car_park"]), max_size=3)
            ),
        }
        for _ in range(n)
    ]
    name = draw(st.text(st.characters(categories=["L", "Zs"]), min_size=1, max_size=60).filter(lambda t: t.strip()))
    return valid(
        draw(st.sampled_from(postcodes)),
        email=f"v{next(_serial)}@example.org",
        name=name,
        cameras=cams,
        address=draw(st.sampled_from(["1 High Street", "Flat 2, 3 Mill Lane", "The Old Forge"])),
    )


def _runs(n: int) -> settings:
    return settings(
        max_examples=n,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


def test_malformed_payloads_store_nothing_and_say_which_field(reg_app, postcodes, reference):
    client, rt = reg_app
    KNOWN_POSTCODES.update(reference.postcodes["postcode_key"])
    seen = []

    @_runs(1000)
    @given(malformed(postcodes))
    def check(body):
        response = client.post(URL, json=body)
        assert response.status_code == 422, (body, response.get_json())
        errors = response.get_json()["errors"]
        assert errors and all(e["field"] and e["field"] != "request" and e["message"] for e in errors), errors
        seen.append(1)

    check()
    assert len(seen) >= 1000
    assert _count(rt, Registrant) == 0 and _count(rt, Camera) == 0


def test_well_formed_payloads_are_all_stored(reg_app, postcodes):
    client, rt = reg_app
    stored = []

    @_runs(200)
    @given(well_formed(postcodes))
    def check(body):
        response = client.post(URL, json=body)
        assert response.status_code == 201, (body, response.get_json())
        stored.append(len(body["cameras"]))

    check()
    assert _count(rt, Registrant) == len(stored) >= 200
    assert _count(rt, Camera) == sum(stored)
