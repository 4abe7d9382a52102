"""Coverage per cell and per area against a demo registry with known truth, through the
disclosure-control layer.

- Second methods: counts and cell keys per cell and per area straight from SQL (Python sets over
  the rows), postcodes with a camera nearby by pyproj.Geod over every site, ground in view by an
  exact shapely union of the wedges; the published figure is then the truth plus the adjustment
  read from the perturbation table for the key worked out here.
- Utility: district and force figures within max(1%, the table's bound) of the truth; heatmap
  colours at most one legend class away from the colour of the true count.
- Attacks: hierarchy differencing (a res-8 cell minus its shown res-9 children; a district minus
  its shown LSOAs) and filter differencing (all cameras minus one kind) recover hidden counts no
  more often than the chance that independent adjustments cancel, worked out per attempt from the
  table; with the adjustment switched off the same attacks recover every hidden count.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections import defaultdict

import h3
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Geod

from dashboard.analytics.area_report import area_coverage
from dashboard.analytics.coverage import area_table, areas_for_level, published_cells
from dashboard.analytics.disclosure import MAGNITUDE_SPREAD, Disclosure, PTable
from dashboard.analytics.overview import headline
from dashboard.components.colour import class_index, legend_breaks
from dashboard.demo import generate_demo
from dashboard.geo.fov import fill_effective_fov
from dashboard.geo.search import CameraIndex, wgs84_to_bng
from dashboard.registry.camera_queries import active_camera_frame, active_cell_frame, cameras_by_cell
from dashboard.registry.database import make_engine, migrate, session_factory
from dashboard.registry.queries import registry_summary
from tests.counted_cells import Counted

GEOD = Geod(ellps="WGS84")
K = 8
TABLE = PTable.build(K, 3, 2.0)  # the default settings
LAYER = Disclosure(TABLE)
EXACT = Disclosure(PTable.build(K, 0, 0.0))  # the same rules with no adjustment: the register as it was


def adjustment(count: int, key: int) -> int:
    return int(TABLE.perturbation(np.array([count]), np.array([key % 256]))[0])


@pytest.fixture(scope="module")
def registry(tmp_path_factory, reference):
    path = tmp_path_factory.mktemp("areas") / "areas.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    generate_demo(
        engine,
        reference,
        seed=5,
        registrations=6000,
        as_of=dt.date(2026, 11, 29),
        pilot_start=dt.date(2026, 4, 13),
        public_launch=dt.date(2026, 7, 6),
    )
    sessions = session_factory(engine)
    with sessions() as s:
        index = CameraIndex.from_frame(active_camera_frame(s))
        cells = active_cell_frame(s)
    yield sessions, index, path, cells
    engine.dispose()


@pytest.fixture(scope="module")
def districts(registry, reference):
    sessions, index, _, _ = registry
    with sessions() as s:
        return area_coverage(s, reference, index, "district", 100, LAYER).set_index("code")


def _camera_rows(path) -> list[tuple]:
    with sqlite3.connect(path) as con:
        return con.execute(
            "SELECT s.h3_r7, s.h3_r8, s.h3_r9, r.id, r.record_key, c.record_key, c.kind, c.placement, "
            "c.direction_deg IS NOT NULL, s.district_code, s.lsoa_code FROM camera c JOIN site s ON s.id = c.site_id "
            "JOIN registrant r ON r.id = s.registrant_id WHERE c.active = 1 AND r.status = 'active'"
        ).fetchall()


def _brute_cells(rows, res: int, keep) -> dict:
    """cell -> [registrations, their key, cameras, their key, registrations left out], by sets."""
    column = {7: 0, 8: 1, 9: 2}[res]
    regs, cams, left = defaultdict(dict), defaultdict(list), defaultdict(set)
    for row in rows:
        cell = row[column]
        if keep(row):
            regs[cell][row[3]] = row[4]
            cams[cell].append(row[5])
        else:
            left[cell].add(row[3])
    return {
        cell: [len(regs[cell]), sum(regs[cell].values()) % 256, len(cams[cell]), sum(cams[cell]) % 256, len(left[cell])]
        for cell in cams
    }


FILTERS = [
    ({}, lambda r: True),
    ({"kind": "doorbell"}, lambda r: r[6] == "doorbell"),
    ({"placement": "indoor"}, lambda r: r[7] == "indoor"),
    ({"direction_known": True}, lambda r: bool(r[8])),
    ({"direction_known": False}, lambda r: not r[8]),
]


@pytest.mark.parametrize("filters,keep", FILTERS, ids=lambda f: str(f) if isinstance(f, dict) else "")
def test_cells_agree_with_sets_over_the_rows_and_publish_by_the_table(registry, filters, keep):
    sessions, _, path, frame = registry
    rows = _camera_rows(path)
    counts = Counted(frame)
    for res in (7, 8, 9):
        truth = _brute_cells(rows, res, keep)
        ours = counts.by_cell(res, **filters).set_index("cell")
        assert {c: v.tolist() for c, v in ours.iterrows()} == truth
        with sessions() as s:  # and the SQL GROUP BY agrees on the counts
            by_sql = cameras_by_cell(s, res, **filters).set_index("cell")
        assert by_sql.to_dict("index") == {c: {"registrations": v[0], "cameras": v[2]} for c, v in truth.items()}
        published = published_cells(ours.reset_index(), LAYER, res).set_index("cell")
        for cell, (n_regs, regs_key, n_cams, cams_key, left_out) in truth.items():
            hidden = n_regs < K or 1 <= left_out < K
            if res == 9 and n_regs < K:
                assert cell not in published.index
                continue
            row = published.loc[cell]
            assert bool(row["suppressed"]) == hidden
            if not hidden:
                assert (row["registrations"], row["cameras"]) == (
                    n_regs + adjustment(n_regs, regs_key),
                    n_cams + adjustment(n_cams, cams_key),
                )
        assert (published["registrations"].dropna() >= K).all()


def test_area_counts_by_hand(registry, reference, districts):
    sessions, index, path, _ = registry
    with sqlite3.connect(path) as con:
        sites = con.execute(
            "SELECT s.district_code, s.lsoa_code, r.id, r.record_key FROM site s JOIN registrant r "
            "ON r.id = s.registrant_id WHERE r.status = 'active'"
        ).fetchall()
        cams = con.execute(
            "SELECT s.district_code, s.lsoa_code, c.record_key FROM camera c JOIN site s ON "
            "s.id = c.site_id JOIN registrant r ON r.id = s.registrant_id WHERE c.active = 1 AND "
            "r.status = 'active'"
        ).fetchall()
    with sessions() as s:
        lsoas = area_coverage(s, reference, index, "lsoa", 100, LAYER).set_index("code")
    for level, table, column in (("district", districts, 0), ("lsoa", lsoas, 1)):
        regs, keys, cameras, camera_keys = defaultdict(int), defaultdict(int), defaultdict(int), defaultdict(int)
        for site in sites:
            regs[site[column]] += 1
            keys[site[column]] += site[3]
        for cam in cams:
            cameras[cam[column]] += 1
            camera_keys[cam[column]] += cam[2]
        codes = areas_for_level(reference, level)["code"].tolist()
        assert table.index.tolist() == codes  # every area, whatever the register holds
        shown = 0
        for code in codes:
            row = table.loc[code]
            if regs[code] < K:
                # (its postcodes may still have K or more registrations near them, in the areas around)
                assert pd.isna(row["registrations"]) and pd.isna(row["cameras"]) and pd.isna(row["cameras_per_1000"])
                continue
            shown += 1  # no secondary suppression: every area of K or more is shown
            assert row["registrations"] == regs[code] + adjustment(regs[code], keys[code]), (level, code)
            assert row["cameras"] == cameras[code] + adjustment(cameras[code], camera_keys[code]), (level, code)
            households = float(areas_for_level(reference, level).set_index("code").loc[code, "households"])
            if np.isnan(households):  # a few LSOAs have no household estimate in the reference data
                assert pd.isna(row["registrations_per_1000"])
            else:
                assert row["registrations_per_1000"] == pytest.approx(
                    round(row["registrations"] * 1000 / households, 2)
                )
        assert shown >= (9 if level == "district" else 100)


def test_postcode_shares_match_geod_over_every_site(registry, reference, districts):
    _, _, path, _ = registry
    with sqlite3.connect(path) as con:
        sites = np.array(
            con.execute(
                "SELECT s.lon, s.lat, r.record_key FROM site s JOIN registrant r ON r.id = s.registrant_id "
                "WHERE r.status = 'active' AND s.lat IS NOT NULL AND EXISTS "
                "(SELECT 1 FROM camera c WHERE c.site_id = s.id AND c.active = 1)"
            ).fetchall()
        )
    shown = districts[districts["share_postcodes_near"].notna()]
    assert len(shown) >= 3
    code = shown["postcodes"].idxmin()  # the smallest shown district keeps the brute force quick
    postcodes = reference.postcodes[reference.postcodes["district_code"] == code]
    near, involved = 0, set()
    for lon, lat in zip(postcodes["lon"], postcodes["lat"]):
        box = np.flatnonzero((np.abs(sites[:, 1] - lat) < 0.002) & (np.abs(sites[:, 0] - lon) < 0.003))  # ~200 m
        if len(box):
            _, _, distance = GEOD.inv(sites[box, 0], sites[box, 1], np.full(len(box), lon), np.full(len(box), lat))
            close = box[distance <= 100]
            near += bool(len(close))
            involved.update(close.tolist())
    key = int(sum(sites[i, 2] for i in involved)) % 256  # the distinct registrations involved
    assert len(involved) >= K and near >= K
    row = districts.loc[code]
    assert row["postcodes"] == len(postcodes)
    published = near + adjustment(near, key)
    assert row["postcodes_near"] == published
    assert row["share_postcodes_near"] == pytest.approx(round(published / len(postcodes), 4))


def test_ground_in_view_matches_an_exact_union(registry, reference, districts):
    _, _, path, _ = registry
    with sqlite3.connect(path) as con:
        rows = con.execute(
            "SELECT s.lon, s.lat, s.district_code, c.kind, c.direction_deg, c.fov_angle_deg, c.fov_range_m, r.id, "
            "r.record_key FROM camera c JOIN site s ON s.id = c.site_id JOIN registrant r ON r.id = s.registrant_id "
            "WHERE c.active = 1 AND r.status = 'active'"
        ).fetchall()
    lon, lat, district, kind, direction, angle, reach, owner, owner_key = (
        np.array(c, dtype=object) for c in zip(*rows)
    )
    angle, reach, _ = fill_effective_fov(kind, angle.astype(float), reach.astype(float))
    direction = direction.astype(float)
    x, y = wgs84_to_bng().transform(lon.astype(float), lat.astype(float))
    code = districts["in_view_km2"].dropna().index[0]
    wedges, counted = [], {}
    for i in np.flatnonzero((district == code) & (~np.isnan(direction) | (angle >= 360))):
        counted[owner[i]] = owner_key[i]
        if angle[i] >= 360:
            wedges.append(shapely.Point(x[i], y[i]).buffer(reach[i], quad_segs=32))
            continue
        bearings = np.radians(np.linspace(direction[i] - angle[i] / 2, direction[i] + angle[i] / 2, 65))
        ring = [(x[i], y[i]), *zip(x[i] + reach[i] * np.sin(bearings), y[i] + reach[i] * np.cos(bearings))]
        wedges.append(shapely.Polygon(ring))
    exact_km2 = shapely.union_all(wedges).area / 1e6
    assert len(wedges) > 300
    # the magnitude's adjustment: the table's step for the registrations counted, scaled to 5% at most
    step = adjustment(max(len(counted), K + 3), sum(counted.values()))
    adjusted = exact_km2 * (1 + MAGNITUDE_SPREAD / 3 * step)
    assert districts.loc[code, "in_view_km2"] == pytest.approx(adjusted, rel=0.02)
    area = reference.districts.set_index("code").loc[[code]].to_crs(27700).area.iloc[0] / 1e6
    assert districts.loc[code, "share_in_view"] == pytest.approx(adjusted / area, rel=0.02)
    assert districts.loc[code, "area_km2"] == pytest.approx(area, abs=1e-4)


def test_small_areas_hide_what_few_registrations_could_reveal(registry, reference):
    sessions, index, _, _ = registry
    with sessions() as s:
        lsoas = area_coverage(s, reference, index, "lsoa", 50, LAYER)
    assert len(lsoas) == len(reference.small_areas)
    hidden = lsoas["registrations"].isna()
    assert hidden.any() and (~hidden).any()
    assert (lsoas.loc[~hidden, "registrations"] >= K).all()
    assert lsoas["in_view_km2"].isna().sum() >= 2 and lsoas["share_postcodes_near"].isna().sum() >= 2
    # public figures, shown as they are
    assert lsoas["postcodes"].notna().all()
    assert (lsoas["households"].isna() == reference.small_areas["households_estimate"].isna().to_numpy()).all()


def test_withhold_all_lists_every_area_and_no_figure(registry, reference):
    sessions, index, _, _ = registry
    with sessions() as s:
        table = area_coverage(s, reference, index, "district", 100, Disclosure(TABLE, withhold_all=True))
    assert table["code"].tolist() == reference.districts["code"].tolist()
    assert table.drop(columns=["code", "name"]).isna().all().all()


# --------------------------------------------------------------------------- utility


def test_utility_district_and_force_figures_move_by_at_most_the_bound(registry, reference, districts):
    sessions, _, path, _ = registry
    with sqlite3.connect(path) as con:
        truth = dict(
            con.execute(
                "SELECT s.district_code, count(*) FROM site s JOIN registrant r ON "
                "r.id = s.registrant_id WHERE r.status = 'active' GROUP BY 1"
            ).fetchall()
        )
        cameras = dict(
            con.execute(
                "SELECT s.district_code, count(*) FROM camera c JOIN site s ON s.id = c.site_id "
                "JOIN registrant r ON r.id = s.registrant_id WHERE c.active = 1 AND "
                "r.status = 'active' GROUP BY 1"
            ).fetchall()
        )
    for code, n in truth.items():
        assert abs(districts.loc[code, "registrations"] - n) <= max(0.01 * n, TABLE.max_perturbation)
        assert abs(districts.loc[code, "cameras"] - cameras[code]) <= max(0.01 * cameras[code], TABLE.max_perturbation)
    with sessions() as s:
        summary = registry_summary(s, dt.datetime(2026, 11, 29, 18, tzinfo=dt.UTC))
    figures = headline(summary, LAYER)
    total, total_cameras = sum(truth.values()), sum(cameras.values())
    assert abs(figures.active_registrations - total) <= max(0.01 * total, 3)
    assert abs(figures.active_cameras - total_cameras) <= max(0.01 * total_cameras, 3)


@pytest.mark.parametrize("res", [7, 8, 9])
def test_utility_heatmap_colours_move_by_at_most_one_class(registry, res):
    _, _, _, frame = registry
    compared = []
    for filters in ({}, {"kind": "doorbell"}, {"direction_known": False}):
        by_cell = Counted(frame).by_cell(res, **filters)
        published = published_cells(by_cell, LAYER, res)
        shown = published[~published["suppressed"]].merge(
            by_cell[["cell", "cameras"]], on="cell", suffixes=("", "_true")
        )
        breaks = legend_breaks(shown["cameras"].astype(float).tolist(), TABLE.max_perturbation)  # the page's legend
        steps = [
            abs(class_index(float(p), breaks) - class_index(float(t), breaks))
            for p, t in zip(shown["cameras"], shown["cameras_true"])
        ]
        assert len(steps) >= 1 and max(steps) <= 1, (res, filters)
        compared.append(len(steps))
    assert sum(compared) >= (25 if res == 9 else 150)


# --------------------------------------------------------------------------- attacks


def _distribution(count: int) -> np.ndarray:
    """Probabilities of the adjustments -3..3 for a true count, counted from the table's rows (a
    uniformly random cell key reads a uniformly random column)."""
    row = TABLE.rows[min(count, len(TABLE.rows) - 1)]
    return np.array([(row == d).sum() for d in range(-3, 4)]) / 256


def _cancel_chance(parent: int, parts: list[int]) -> float:
    """The chance that the parent's adjustment equals the sum of the parts' (all independent)."""
    total = np.array([1.0])  # offsets from -3 * len(parts)
    for count in parts:
        total = np.convolve(total, _distribution(count))
    offset = 3 * len(parts)
    return float(
        sum(p * total[d + offset] for d, p in zip(range(-3, 4), _distribution(parent)) if 0 <= d + offset < len(total))
    )


class Tally:
    """Exact recoveries of hidden counts against the chance worked out per attempt."""

    def __init__(self):
        self.attempts, self.exact, self.expected, self.variance = 0, 0, 0.0, 0.0

    def add(self, recovered: bool, chance: float) -> None:
        self.attempts += 1
        self.exact += recovered
        self.expected += chance
        self.variance += chance * (1 - chance)

    def at_chance(self) -> bool:
        return self.exact <= self.expected + 4 * self.variance**0.5 + 1


def _rekeyed(frame: pd.DataFrame, rng) -> pd.DataFrame:
    """The same cameras with fresh random record keys (a site's cameras share its registration's key)."""
    site_key = pd.Series(rng.integers(0, 256, frame["site_id"].nunique()), index=frame["site_id"].unique())
    return frame.assign(
        registration_key=site_key.reindex(frame["site_id"]).to_numpy(), camera_key=rng.integers(0, 256, len(frame))
    )


def _hierarchy_attack(frame: pd.DataFrame, layer: Disclosure, tally: Tally) -> None:
    """A res-8 cell's published registrations minus its listed res-9 children's: is it the hidden
    children's true total?"""
    counts = Counted(frame)
    true8 = counts.by_cell(8).set_index("cell")["registrations"]
    true9 = counts.by_cell(9).set_index("cell")["registrations"]
    shown8 = published_cells(counts.by_cell(8), layer, 8).set_index("cell")["registrations"].dropna()
    shown9 = published_cells(counts.by_cell(9), layer, 9).set_index("cell")["registrations"].dropna()
    parent9 = pd.Series([h3.cell_to_parent(c, 8) for c in true9.index], index=true9.index)
    for cell, published in shown8.items():
        children = parent9.index[parent9 == cell]
        listed = [c for c in children if c in shown9.index]
        hidden = int(true8[cell] - true9[listed].sum())
        if not listed or not hidden >= 1:
            continue  # nothing is subtracted, or nothing is hidden
        estimate = int(published) - int(shown9[listed].sum())
        tally.add(estimate == hidden, _cancel_chance(int(true8[cell]), [int(true9[c]) for c in listed]))


def _area_attack(sites: pd.DataFrame, reference, layer: Disclosure, tally: Tally) -> None:
    """A district's published registrations minus its shown LSOAs': is it the true rest?"""

    def by(column):
        grouped = sites.dropna(subset=[column]).groupby(column)
        return (
            pd.DataFrame(
                {
                    "registrations": grouped.size(),
                    "registrations_key": grouped["key"].sum() % 256,
                    "cameras": grouped.size(),
                    "cameras_key": grouped["key"].sum() % 256,
                }
            )
            .rename_axis("area_code")
            .reset_index()
        )

    district = area_table(by("district"), areas_for_level(reference, "district"), layer).set_index("code")
    lsoa = area_table(by("lsoa"), areas_for_level(reference, "lsoa"), layer).set_index("code")
    true_lsoa = sites.groupby("lsoa").size()
    true_district = sites.groupby("district").size()
    lsoa_district = reference.small_areas.set_index("code")["district_code"]
    for code, published in district["registrations"].dropna().items():
        mine = lsoa_district.index[lsoa_district == code]
        shown = [c for c in mine if not pd.isna(lsoa.loc[c, "registrations"])]
        hidden = int(true_district[code] - true_lsoa.reindex(shown).fillna(0).sum())
        if not shown or hidden < 1:
            continue
        estimate = int(published) - int(lsoa.loc[shown, "registrations"].sum())
        tally.add(estimate == hidden, _cancel_chance(int(true_district[code]), [int(true_lsoa[c]) for c in shown]))


def _filter_attack(frame: pd.DataFrame, layer: Disclosure, tallies: dict) -> None:
    """All cameras minus one kind, per cell: the registrations with no camera of that kind, and the
    cameras of other kinds, when those are 1 to K-1 (never published themselves)."""
    counts = Counted(frame)
    for res in (7, 8):
        everything = counts.by_cell(res).set_index("cell")
        shown_all = published_cells(counts.by_cell(res), layer, res).set_index("cell")
        for kind in ("doorbell", "fixed", "dome"):
            only = counts.by_cell(res, kind=kind).set_index("cell")
            shown_kind = published_cells(counts.by_cell(res, kind=kind), layer, res).set_index("cell")
            both = shown_all.index[~shown_all["suppressed"]].intersection(shown_kind.index[~shown_kind["suppressed"]])
            for cell in both:
                for column in ("registrations", "cameras"):
                    hidden = int(everything.loc[cell, column] - only.loc[cell, column])
                    if 1 <= hidden < K:
                        estimate = int(shown_all.loc[cell, column]) - int(shown_kind.loc[cell, column])
                        tallies[column].add(
                            estimate == hidden,
                            _cancel_chance(int(everything.loc[cell, column]), [int(only.loc[cell, column])]),
                        )


def _sites(path) -> pd.DataFrame:
    with sqlite3.connect(path) as con:
        rows = con.execute(
            "SELECT s.district_code, s.lsoa_code FROM site s JOIN registrant r ON r.id = s.registrant_id "
            "WHERE r.status = 'active'"
        ).fetchall()
    return pd.DataFrame(rows, columns=["district", "lsoa"])


DRAWS = 40  # fresh random keys per draw: the adversary's chance is over the keys


def test_hierarchy_differencing_of_cells_recovers_no_more_than_chance(registry):
    _, _, _, frame = registry
    rng = np.random.default_rng(14)
    tally, plain = Tally(), Tally()
    _hierarchy_attack(frame, LAYER, tally)  # the registry's own keys first
    for _ in range(DRAWS):
        _hierarchy_attack(_rekeyed(frame, rng), LAYER, tally)
    _hierarchy_attack(frame, EXACT, plain)
    print(
        f"\nres-8 minus res-9: {tally.exact} of {tally.attempts} hidden totals recovered exactly "
        f"({tally.exact / tally.attempts:.1%}; chance {tally.expected / tally.attempts:.1%}); without the "
        f"adjustment {plain.exact} of {plain.attempts}"
    )
    assert tally.attempts >= 200 and plain.attempts >= 5 and plain.exact == plain.attempts
    assert tally.at_chance() and tally.exact / tally.attempts < 0.19 + 0.05


def test_district_minus_shown_lsoas_recovers_no_more_than_chance(registry, reference):
    _, _, path, _ = registry
    sites = _sites(path)
    rng = np.random.default_rng(15)
    tally, plain = Tally(), Tally()
    for _ in range(200):
        _area_attack(sites.assign(key=rng.integers(0, 256, len(sites))), reference, LAYER, tally)
    _area_attack(sites.assign(key=0), reference, EXACT, plain)
    print(
        f"\ndistrict minus LSOAs: {tally.exact} of {tally.attempts} recovered exactly "
        f"({tally.exact / tally.attempts:.1%}; chance {tally.expected / tally.attempts:.1%}); without the "
        f"adjustment {plain.exact} of {plain.attempts}"
    )
    assert plain.attempts >= 8 and plain.exact == plain.attempts
    assert tally.attempts >= 1000 and tally.at_chance() and tally.exact / tally.attempts < 0.19 + 0.05


def test_filter_differencing_recovers_no_more_than_chance(registry):
    _, _, _, frame = registry
    rng = np.random.default_rng(16)
    tallies = {"registrations": Tally(), "cameras": Tally()}
    plain = {"registrations": Tally(), "cameras": Tally()}
    _filter_attack(frame, LAYER, tallies)
    for _ in range(DRAWS // 2):
        _filter_attack(_rekeyed(frame, rng), LAYER, tallies)
    _filter_attack(frame, EXACT, plain)
    regs, exact = tallies["registrations"], plain["registrations"]
    print(
        f"\nall minus one kind, registrations: {regs.exact} of {regs.attempts} recovered exactly "
        f"({regs.exact / regs.attempts:.1%}; chance {regs.expected / regs.attempts:.1%}); without the adjustment "
        f"{exact.exact} of {exact.attempts}"
    )
    assert regs.attempts >= 200 and regs.at_chance() and regs.exact / regs.attempts < 0.19 + 0.05
    assert exact.attempts >= 5 and exact.exact == exact.attempts
    # 1 to K-1 cameras of other kinds belong to 1 to K-1 registrations: the filtered view of such a
    # cell shows no number at all (the left-out rule), so this difference is never there to take.
    assert tallies["cameras"].attempts == plain["cameras"].attempts == 0


def test_nothing_at_the_finest_grid_places_fewer_than_k_registrations(registry):
    _, _, _, frame = registry
    counts = Counted(frame)
    for filters in ({}, {"kind": "doorbell"}, {"placement": "indoor"}, {"direction_known": True}):
        true = counts.by_cell(9, **filters).set_index("cell")["registrations"]
        drawn = published_cells(counts.by_cell(9, **filters), LAYER, 9)["cell"]
        assert (true.reindex(drawn) >= K).all(), filters


def test_area_figures_on_either_database(engine, reference):
    """The same reads on SQLite and PostgreSQL/PostGIS: site areas with their keys, counts per area
    and per cell agree with plain SQL (K = 1 and no adjustment: nothing hidden, nothing moved)."""
    import sqlalchemy as sa

    from dashboard.registry.camera_queries import site_areas
    from dashboard.registry.database import session_factory as factory

    generate_demo(
        engine,
        reference,
        seed=2,
        registrations=1500,
        as_of=dt.date(2026, 11, 29),
        pilot_start=dt.date(2026, 4, 13),
        public_launch=dt.date(2026, 7, 6),
    )
    sessions = factory(engine)
    open_layer = Disclosure(PTable.build(1, 0, 0.0))
    with sessions() as s:
        index = CameraIndex.from_frame(active_camera_frame(s))
        areas = area_coverage(s, reference, index, "district", 100, open_layer)
        registrations = s.scalar(sa.text("SELECT count(*) FROM registrant WHERE status = 'active'"))
        key_sum = s.scalar(sa.text("SELECT sum(record_key) FROM registrant WHERE status = 'active'"))
        sites = site_areas(s)
        cells = Counted(active_cell_frame(s)).by_cell(7)
        cameras, with_camera, camera_keys = s.execute(
            sa.text(
                "SELECT count(*), count(DISTINCT s.registrant_id), sum(c.record_key) FROM camera c JOIN site s "
                "ON s.id = c.site_id JOIN registrant r ON r.id = s.registrant_id WHERE c.active AND r.status = 'active'"
            )
        ).one()
    assert int(areas["registrations"].sum()) == registrations == len(sites)
    assert int(sites["registration_key"].sum()) == key_sum
    assert int(cells["cameras"].sum()) == cameras and int(cells["registrations"].sum()) == with_camera
    assert int(cells["cameras_key"].sum()) % 256 == int(camera_keys) % 256
    assert areas["in_view_km2"].notna().all() and (areas["share_postcodes_near"] > 0).all()
