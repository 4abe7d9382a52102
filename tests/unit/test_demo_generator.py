"""The demo-data generator against the real reference data, with small registries (a second
or two each) in temp-file SQLite databases built once per module.

Checks that are geometric are made independently of the generator: geopandas point-in-polygon
(``sjoin``) on the stored lon/lat against the reference polygons.
"""

from __future__ import annotations

import datetime as dt
import re

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from pyproj import Geod

from dashboard.core.vocab import REQUEST_STATUSES, ROLES
from dashboard.demo import DEMO_USERS, DemoError, generate_demo, registry_is_empty
from dashboard.registry.database import make_engine, session_factory, transaction
from dashboard.registry.models import Base, Registrant
from dashboard.security.accounts import authenticate

PILOT_START = dt.date(2026, 4, 13)
PUBLIC_LAUNCH = dt.date(2026, 7, 6)
AS_OF = dt.date(2026, 11, 29)
N = 1200
SEED = 7
UK = "Europe/London"


def _generate(url: str, ref, *, seed: int = SEED, registrations: int = N, replace: bool = False):
    engine = make_engine(url)
    summary = generate_demo(
        engine,
        ref,
        seed=seed,
        registrations=registrations,
        as_of=AS_OF,
        pilot_start=PILOT_START,
        public_launch=PUBLIC_LAUNCH,
        replace=replace,
    )
    return engine, summary


@pytest.fixture(scope="module")
def ref(reference):
    return reference


@pytest.fixture(scope="module")
def demo(tmp_path_factory, ref):
    """(engine, summary) of the main demo registry."""
    engine, summary = _generate(f"sqlite:///{tmp_path_factory.mktemp('demo_a') / 'a.db'}", ref)
    yield engine, summary
    engine.dispose()


@pytest.fixture(scope="module")
def twin(tmp_path_factory, ref):
    """The same arguments into another database."""
    engine, _ = _generate(f"sqlite:///{tmp_path_factory.mktemp('demo_b') / 'b.db'}", ref)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def tables(demo) -> dict[str, pd.DataFrame]:
    engine, _ = demo
    with engine.connect() as conn:
        return {
            name: pd.read_sql_query(sa.text(f"SELECT * FROM {name} ORDER BY 1"), conn) for name in Base.metadata.tables
        }


def _dump(engine) -> dict[str, list[tuple]]:
    """Every registry table, ordered by all its columns; password hashes left out (argon2
    salts them randomly, by design)."""
    out = {}
    with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            cols = [c for c in table.c if not (table.name == "app_user" and c.name == "password_hash")]
            rows = conn.execute(sa.select(*cols).order_by(*cols)).all()
            out[table.name] = [tuple(r) for r in rows]
    return out


def _utc(day: dt.date) -> pd.Timestamp:
    return pd.Timestamp(day, tz="UTC")


def _times(series: pd.Series) -> pd.Series:
    return pd.to_datetime(series).dt.tz_localize("UTC")


# --------------------------------------------------------------------------- determinism


def test_same_seed_and_dates_give_identical_rows(demo, twin):
    a, b = _dump(demo[0]), _dump(twin)
    assert sum(len(v) for v in a.values()) > 3 * N
    for name in a:
        assert a[name] == b[name], f"table {name} differs"


def test_a_different_seed_gives_different_rows(tmp_path, ref, demo):
    engine, _ = _generate(f"sqlite:///{tmp_path / 'c.db'}", ref, seed=SEED + 1)
    a, c = _dump(demo[0]), _dump(engine)
    engine.dispose()
    for name in ("registrant", "site", "camera", "footage_request", "campaign_daily_count"):
        assert a[name] != c[name], f"table {name} did not change with the seed"


# --------------------------------------------------------------------------- counts


def test_summary_matches_the_tables(demo, tables):
    _, s = demo
    assert s.registrations == len(tables["registrant"]) == N
    assert s.sites == len(tables["site"]) == N
    assert s.cameras == len(tables["camera"])
    assert s.withdrawn == int((tables["registrant"]["status"] == "withdrawn").sum())
    assert s.active + s.withdrawn == N
    assert s.campaigns == len(tables["campaign"]) == 6
    assert s.footage_requests == len(tables["footage_request"]) > 0
    assert s.users == len(tables["app_user"]) == len(DEMO_USERS)
    assert 1.4 <= s.cameras / N <= 1.85


# --------------------------------------------------------------------------- places


def test_active_sites_lie_in_the_force_area_and_their_postcodes_district(tables, ref):
    sites = tables["site"].dropna(subset=["lat"])
    points = gpd.GeoDataFrame(
        sites[["id", "district_code", "postcode"]],
        geometry=gpd.points_from_xy(sites["lon"], sites["lat"]),
        crs="EPSG:4326",
    )
    in_force = gpd.sjoin(points, ref.force_area[["geometry"]], predicate="within", how="inner")
    assert set(in_force["id"]) == set(sites["id"])

    in_district = gpd.sjoin(points, ref.districts[["code", "geometry"]], predicate="within", how="inner")
    own = in_district[in_district["code"] == in_district["district_code"]]
    assert set(own["id"]) == set(sites["id"])

    postcode_district = ref.postcodes.set_index("postcode")["district_code"]
    assert sites["postcode"].isin(postcode_district.index).all()
    assert (sites["postcode"].map(postcode_district) == sites["district_code"]).all()


def test_sites_are_jittered_within_35_m_of_their_postcode_centroid(tables, ref):
    sites = tables["site"].dropna(subset=["lat"])
    pc = ref.postcodes.set_index("postcode")
    de = sites["easting_m"].to_numpy() - sites["postcode"].map(pc["easting_m"]).to_numpy()
    dn = sites["northing_m"].to_numpy() - sites["postcode"].map(pc["northing_m"]).to_numpy()
    dist = np.hypot(de, dn)
    assert dist.max() <= 35.2
    assert np.median(dist) > 10  # really jittered, not stacked on the centroid


def test_cells_and_small_areas_are_computed_from_the_point(tables, ref):
    sites = tables["site"].dropna(subset=["lat"]).head(300)
    for lat, lon, r7, r8, r9 in sites[["lat", "lon", "h3_r7", "h3_r8", "h3_r9"]].itertuples(index=False):
        assert (r7, r8, r9) == tuple(h3.latlng_to_cell(lat, lon, r) for r in (7, 8, 9))
    all_sites = tables["site"]
    assert all_sites["h3_r9"].notna().all() and all_sites["district_code"].notna().all()
    assert all_sites["lsoa_code"].dropna().isin(ref.small_areas["code"]).all()
    assert all_sites["lsoa_code"].notna().mean() > 0.95


def test_site_kinds_are_mostly_homes(tables):
    share = tables["site"]["kind"].value_counts(normalize=True)
    assert 0.84 <= share["home"] <= 0.92
    assert 0.06 <= share["business"] <= 0.12
    assert re.fullmatch(
        r"\d+ [A-Z][a-z]+ [A-Z][a-z]+", tables["site"].loc[tables["site"]["kind"] == "home", "address"].dropna().iloc[0]
    )


# --------------------------------------------------------------------------- timeline


def test_pilot_registrations_are_few_and_within_six_weeks_of_its_start(tables):
    consent = _times(tables["registrant"]["consent_at"])
    launch = pd.Timestamp(PUBLIC_LAUNCH).tz_localize(UK)
    pilot = consent[consent < launch]
    assert 0 < len(pilot) <= min(400, 0.05 * N)
    assert pilot.min() >= _utc(PILOT_START)
    assert pilot.max() < pd.Timestamp(PILOT_START + dt.timedelta(weeks=6)).tz_localize(UK)


def test_no_time_before_pilot_start_or_on_or_after_as_of(tables):
    end = _utc(AS_OF)  # local midnight is never later than UTC midnight in the UK
    columns = {
        "registrant": ["consent_at", "created_at", "last_confirmed_at", "withdrawn_at", "updated_at"],
        "site": ["created_at", "updated_at"],
        "camera": ["created_at", "updated_at"],
        "footage_request": ["incident_from", "incident_to", "sent_at", "status_changed_at"],
        "footage_request_event": ["at"],
    }
    for table, cols in columns.items():
        for col in cols:
            t = _times(tables[table][col]).dropna()
            assert (t < end).all(), f"{table}.{col} reaches as_of"
            assert (t >= _utc(PILOT_START - dt.timedelta(days=60))).all(), f"{table}.{col} far too early"
    consent = _times(tables["registrant"]["consent_at"])
    assert consent.min() >= _utc(PILOT_START)
    assert consent.is_monotonic_increasing  # ids follow registration order


def test_launch_spike_then_more_at_weekends(tables):
    local = _times(tables["registrant"]["consent_at"]).dt.tz_convert(UK)
    public = local[local >= pd.Timestamp(PUBLIC_LAUNCH).tz_localize(UK)]
    per_day = public.dt.date.value_counts()
    launch_days = per_day.reindex([PUBLIC_LAUNCH + dt.timedelta(days=i) for i in range(3)], fill_value=0)
    assert launch_days.mean() > 2.5 * per_day.median()
    weekend = public.dt.day_of_week >= 5
    assert weekend.mean() > 2 / 7 * 1.1
    assert (public.dt.hour >= 17).mean() > 0.35  # evenings


def test_withdrawn_registrants_keep_no_personal_data(tables):
    reg, site, cam = tables["registrant"], tables["site"], tables["camera"]
    gone = reg["status"] == "withdrawn"
    assert 0.02 <= gone.mean() <= 0.07
    assert reg.loc[gone, ["name", "email", "phone", "preferred_channel", "management_token_hash"]].isna().all().all()
    assert reg.loc[gone, "withdrawn_at"].notna().all() and reg.loc[~gone, "withdrawn_at"].isna().all()
    assert (_times(reg.loc[gone, "withdrawn_at"]) > _times(reg.loc[gone, "consent_at"])).all()
    gone_sites = site["registrant_id"].isin(reg.loc[gone, "id"])
    assert site.loc[gone_sites, ["address", "postcode", "lat", "lon", "easting_m", "northing_m"]].isna().all().all()
    assert site.loc[gone_sites, ["district_code", "h3_r7", "h3_r8", "h3_r9"]].notna().all().all()
    assert site.loc[~gone_sites, ["address", "postcode", "lat", "lon", "easting_m", "northing_m"]].notna().all().all()
    gone_cams = cam["site_id"].isin(site.loc[gone_sites, "id"])
    assert (cam.loc[gone_cams, "active"] == 0).all() and (cam.loc[~gone_cams, "active"] == 1).all()


def test_some_registrations_were_reconfirmed_later(tables):
    reg = tables["registrant"]
    later = _times(reg["last_confirmed_at"]) > _times(reg["consent_at"])
    assert 0.03 < later.mean() < 0.3
    assert (_times(reg["last_confirmed_at"]) >= _times(reg["consent_at"])).all()


# --------------------------------------------------------------------------- people


def test_contact_details_are_synthetic(tables):
    reg = tables["registrant"][tables["registrant"]["status"] == "active"]
    emails = reg["email"].dropna()
    assert emails.str.fullmatch(r"[a-z0-9.]+@example\.(org|com|net)").all()
    phones = reg["phone"].dropna()
    assert phones.str.fullmatch(r"07700 900\d{3}|01632 960\d{3}").all()
    assert (reg["email"].notna() | reg["phone"].notna()).all() and reg["name"].notna().all()
    assert (reg["preferred_channel"] == "email").mean() > 0.6
    assert not ((reg["preferred_channel"] == "email") & reg["email"].isna()).any()
    assert not ((reg["preferred_channel"] == "text") & ~reg["phone"].fillna("").str.startswith("07700")).any()
    refs = tables["registrant"]["reference"]
    assert refs.is_unique and refs.str.fullmatch(r"CCR-[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{6}").all()
    assert tables["registrant"]["management_token_hash"].dropna().str.fullmatch(r"[0-9a-f]{64}").all()


# --------------------------------------------------------------------------- cameras


def test_camera_kinds_are_mostly_doorbells_within_sensible_bands(tables):
    cam = tables["camera"]
    share = cam["kind"].value_counts(normalize=True)
    assert share.idxmax() == "doorbell" and share["doorbell"] > 0.5
    bands = {
        "doorbell": (0.48, 0.62),
        "fixed": (0.16, 0.28),
        "dome": (0.08, 0.17),
        "ptz": (0.015, 0.07),
        "other": (0.03, 0.11),
    }
    for kind, (lo, hi) in bands.items():
        assert lo <= share[kind] <= hi, (kind, share[kind])
    site_kind = cam["site_id"].map(tables["site"].set_index("id")["kind"])
    per_site = cam.groupby("site_id").size().groupby(tables["site"].set_index("id")["kind"]).mean()
    assert per_site["business"] > per_site["home"]
    doorbells = (cam["kind"] == "doorbell").groupby(site_kind).mean()
    assert doorbells["business"] < doorbells["home"]


def test_camera_details_are_plausible(tables):
    cam = tables["camera"]
    assert 0.04 <= (cam["placement"] == "indoor").mean() <= 0.12
    assert 0.62 <= cam["direction_deg"].notna().mean() <= 0.78
    assert cam["fov_angle_deg"].notna().mean() < 0.35 and cam["fov_range_m"].notna().mean() < 0.35
    assert (cam.loc[cam["kind"] == "doorbell", "recording_mode"] == "motion").all()
    assert set(cam.loc[cam["kind"] != "doorbell", "recording_mode"]) == {"motion", "continuous"}
    assert set(cam.loc[cam["kind"] == "doorbell", "mount"].dropna()) <= {"door", "wall"}
    assert 0.04 <= cam["retention_days"].isna().mean() <= 0.12
    doorbell_days = cam.loc[cam["kind"] == "doorbell", "retention_days"].value_counts()
    assert doorbell_days.idxmax() == 30
    overlooks = cam["overlooks"].str.split(",").explode()
    overlooks = overlooks[overlooks != ""]
    assert overlooks.value_counts().idxmax() == "street"
    assert set(overlooks) <= {"street", "driveway", "garden", "shop_front", "car_park"}


# --------------------------------------------------------------------------- campaigns


def test_campaign_completions_never_exceed_registrations_that_day(tables):
    daily = tables["campaign_daily_count"]
    daily["day"] = pd.to_datetime(daily["day"]).dt.date
    consent = _times(tables["registrant"]["consent_at"])
    for per_day in (consent.dt.tz_convert(UK).dt.date.value_counts(), consent.dt.date.value_counts()):
        completions = daily.groupby("day")["completions"].sum()
        regs = per_day.reindex(completions.index, fill_value=0)
        assert (completions <= regs).all()
    share = daily["completions"].sum() / len(consent)
    assert 0.6 <= share <= 0.8
    assert (daily["form_starts"] >= daily["completions"]).all() and (daily["scans"] >= daily["form_starts"]).all()
    starts_rate = daily["completions"].sum() / daily["form_starts"].sum()
    assert 0.45 <= starts_rate <= 0.7


def test_campaigns_run_in_their_phase(tables):
    camp = tables["campaign"].set_index("id")
    daily = tables["campaign_daily_count"].assign(day=lambda d: pd.to_datetime(d["day"]).dt.date)
    internal = daily["campaign_id"].map(camp["channel"]) == "internal_message"
    assert (daily.loc[internal, "day"] < PILOT_START + dt.timedelta(weeks=6)).all()
    assert (daily.loc[~internal, "day"] >= PUBLIC_LAUNCH).all()
    assert daily["day"].max() < AS_OF and daily["day"].min() >= PILOT_START
    assert len(camp) == 6 and camp["slug"].is_unique


def test_nothing_on_a_registration_names_a_campaign():
    for table in ("registrant", "site", "camera"):
        names = [c.name for c in Base.metadata.tables[table].c]
        assert not [n for n in names if "campaign" in n or "cohort" in n or "staff" in n]


# --------------------------------------------------------------------------- footage requests


def test_footage_requests_ask_active_cameras_near_the_incident(tables, ref):
    req, cam, site = tables["footage_request"], tables["camera"], tables["site"]
    assert 5 <= len(req) <= 3000
    cams = req["camera_id"].map(cam.set_index("id")["active"])
    assert (cams == 1).all()
    site_of = req["camera_id"].map(cam.set_index("id")["site_id"])
    lat, lon = site_of.map(site.set_index("id")["lat"]), site_of.map(site.set_index("id")["lon"])
    _, _, dist = Geod(ellps="WGS84").inv(req["incident_lon"], req["incident_lat"], lon, lat)
    assert (dist <= 250).all()
    window = _times(req["incident_to"]) - _times(req["incident_from"])
    assert (window >= pd.Timedelta(minutes=10)).all() and (window <= pd.Timedelta(hours=3)).all()
    assert (_times(req["sent_at"]) >= pd.Timestamp(PUBLIC_LAUNCH).tz_localize(UK)).all()
    assert (_times(req["sent_at"]) > _times(req["incident_to"])).all()
    site_consent = site_of.map(site.set_index("id")["created_at"])
    assert (_times(site_consent) < _times(req["sent_at"])).all()
    assert req["case_ref"].str.fullmatch(r"CR-20\d\d-\d{6}").all()
    assert req["incident_district_code"].isin(ref.districts["code"]).all()
    officers = tables["app_user"].loc[tables["app_user"]["role"] == "officer", "id"]
    assert req["requested_by_id"].isin(officers).all()


def test_footage_request_outcomes_and_events_are_consistent(tables):
    req, ev = tables["footage_request"], tables["footage_request_event"]
    # A small demo has only a dozen or so requests: expect a mix, not every outcome.
    assert "footage_provided" in set(req["status"]) and len(set(req["status"])) >= 3
    assert set(req["status"]) <= set(REQUEST_STATUSES)
    assert (
        req["crime_category"]
        .isin(
            [
                "Burglary",
                "Vehicle crime",
                "Criminal damage and arson",
                "Anti-social behaviour",
                "Theft from the person",
                "Violence and sexual offences",
                "Robbery",
                "Other theft",
                "Bicycle theft",
                "Shoplifting",
            ]
        )
        .all()
    )
    provided = req["status"] == "footage_provided"
    assert req.loc[~provided, "footage_useful"].isna().all() and req.loc[provided, "footage_useful"].notna().all()
    per_request = ev.groupby("request_id")["status"].apply(list)
    for rid, status in req.set_index("id")["status"].items():
        assert per_request[rid] == (["sent"] if status == "sent" else ["sent", status])
    last = ev.sort_values("id").groupby("request_id")["at"].last()
    assert (last.reindex(req["id"]).to_numpy() == req["status_changed_at"].to_numpy()).all()
    assert ev["by_user_id"].notna().all()


def test_each_case_has_its_officers_case_file_and_no_owner_answers_without_an_evidence_folder(tables):
    """Requests are written in bulk, past casework's ensure_case_file: the demo makes the case files
    itself, one per (case reference, officer), from its first request. Without an evidence folder
    no owner answers through a link (nothing could hold their files)."""
    req, files = tables["footage_request"], tables["case_file"]
    first = req.groupby(["case_ref", "requested_by_id"])["sent_at"].min()
    got = files.set_index(["case_ref", "officer_id"]).sort_index()
    assert list(got.index) == list(first.index) and len(got) > 0
    assert (got["created_at"] == first).all() and got["closed_at"].isna().all()
    assert files["public_id"].str.fullmatch(r"CSE-[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{8}").all()
    assert files["public_id"].is_unique
    assert tables["footage_response"].empty and tables["evidence_file"].empty
    assert req["response_id"].isna().all()


# --------------------------------------------------------------------------- users, refusal


def test_demo_users_cover_every_role_and_can_log_in(demo):
    engine, _ = demo
    assert {role for _, role, _ in DEMO_USERS} == set(ROLES)
    assert sum(role == "officer" for _, role, _ in DEMO_USERS) == 2
    assert all(len(password) >= 12 for _, _, password in DEMO_USERS)
    with transaction(session_factory(engine)) as session:
        for username, role, password in DEMO_USERS:
            user = authenticate(session, username, password)
            assert user is not None and user.role == role


def test_refuses_a_registry_that_already_has_registrations(tmp_path, ref, demo):
    engine, _ = demo
    assert not registry_is_empty(engine)
    with pytest.raises(DemoError, match="replace=True"):
        generate_demo(
            engine, ref, seed=1, registrations=50, as_of=AS_OF, pilot_start=PILOT_START, public_launch=PUBLIC_LAUNCH
        )
    fresh = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    assert registry_is_empty(fresh)
    fresh.dispose()


def test_replace_wipes_and_regenerates_identically(tmp_path, ref, demo):
    engine, _ = _generate(f"sqlite:///{tmp_path / 'r.db'}", ref, seed=99, registrations=300)
    with engine.begin() as conn:  # an audit row, which the database refuses to delete
        conn.exec_driver_sql(
            "INSERT INTO audit_event (occurred_at, action, prev_hash, row_hash) "
            "VALUES ('2026-11-01 10:00:00.000000', 'login', '', 'x')"
        )
    _, summary = _generate(str(engine.url), ref, replace=True)
    assert summary.registrations == N
    assert _dump(engine) == _dump(demo[0])
    engine.dispose()


def test_bad_arguments_are_refused_with_one_line(tmp_path, ref):
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    common = dict(seed=1, registrations=100, as_of=AS_OF, pilot_start=PILOT_START, public_launch=PUBLIC_LAUNCH)
    for change in (
        {"public_launch": PILOT_START},
        {"as_of": PUBLIC_LAUNCH},
        {"registrations": 3},
        {"seed": -1},
        {"as_of": dt.datetime(2026, 11, 29)},
    ):
        with pytest.raises(DemoError) as info:
            generate_demo(engine, ref, **{**common, **change})
        assert "\n" not in str(info.value)
    engine.dispose()


def test_generates_on_each_backend_and_ids_continue_afterwards(engine, ref):
    summary = generate_demo(
        engine, ref, seed=3, registrations=150, as_of=AS_OF, pilot_start=PILOT_START, public_launch=PUBLIC_LAUNCH
    )
    with transaction(session_factory(engine)) as session:
        extra = Registrant(
            reference="CCR-TEST01",
            name="Test Person",
            email="test@example.org",
            consent_at=dt.datetime(2026, 11, 28, tzinfo=dt.UTC),
            last_confirmed_at=dt.datetime(2026, 11, 28, tzinfo=dt.UTC),
        )
        session.add(extra)
        session.flush()
        assert extra.id == summary.registrations + 1
