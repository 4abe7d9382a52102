"""Attack 3 of issue 14: differencing by hierarchy and by filter.

The issue's attacker took a district's total minus its shown small-area (LSOA) rows, and a res-8
cell minus its shown res-9 children, and got the hidden counts exactly; and subtracted a filtered
view from a more filtered one (kind against kind + placement). Here the same attacker, through the
JSON API an analyst uses (/api/v1/coverage/areas at both levels, /api/v1/coverage/cells at res
7, 8 and 9 with and without one camera filter), recovers every hidden count (1..K-1) the
published figures allow, and guesses it by the Bayes rule from the published perturbation table.
Scored against the SQLite file:

- against the app as configured, the share recovered exactly must not exceed what an optimal
  attacker gets from independent draws of the table's noise (``odds.bayes_exact_rate_sums`` at the
  true counts involved) plus three standard errors;
- against the same registry with a layer that adjusts nothing, the same attack must recover all of
  them (so the test can fail);
- two filters at once (the filtered-vs-filtered attack) must be refused: 422 from the API, 400 from
  the export, and a forged page value must not draw a two-filter view.
"""

from __future__ import annotations

import io
import math

import h3
import numpy as np
import pandas as pd
import pytest

from tests.adversary.attack import Case, Score, layer_of, merge
from tests.adversary.conftest import client_for, post_callback
from tests.adversary.odds import sum_noise, upper_bound

RESOLUTIONS = (7, 8, 9)
FILTERS = (
    {"kind": "doorbell"},
    {"kind": "fixed"},
    {"kind": "dome"},
    {"kind": "ptz"},
    {"kind": "other"},
    {"placement": "outdoor"},
    {"placement": "indoor"},
    {"direction_known": "true"},
    {"direction_known": "false"},
)


# ----------------------------------------------------------------------------- truth


@pytest.fixture(scope="module")
def cameras(registry) -> pd.DataFrame:
    """Every camera on the active register with its site's cells and areas (what the map counts)."""
    return registry.truth.frame(
        "SELECT c.site_id AS site, s.h3_r7 AS r7, s.h3_r8 AS r8, s.h3_r9 AS r9, c.kind, c.placement, "
        "c.direction_deg IS NOT NULL AS direction_known FROM camera c JOIN site s ON s.id = c.site_id "
        "JOIN registrant r ON r.id = s.registrant_id WHERE c.active = 1 AND r.status = 'active' "
        "AND s.h3_r7 IS NOT NULL"
    )


@pytest.fixture(scope="module")
def areas_truth(registry) -> dict[str, pd.DataFrame]:
    """Active registrations (sites) and their active cameras per district and per LSOA."""
    sites = registry.truth.frame(
        "SELECT s.id AS site, s.district_code AS district, s.lsoa_code AS lsoa, "
        "(SELECT count(*) FROM camera c WHERE c.site_id = s.id AND c.active = 1) AS cameras "
        "FROM site s JOIN registrant r ON r.id = s.registrant_id WHERE r.status = 'active'"
    )
    return {
        level: sites.groupby(level).agg(registrations=("site", "size"), cameras=("cameras", "sum"))
        for level in ("district", "lsoa")
    }


def _mask(frame: pd.DataFrame, filters: dict) -> np.ndarray:
    mask = np.ones(len(frame), dtype=bool)
    for name, value in filters.items():
        if name == "direction_known":
            mask &= frame["direction_known"].astype(bool).to_numpy() == (value == "true")
        else:
            mask &= (frame[name] == value).to_numpy()
    return mask


def true_cells(cameras: pd.DataFrame, res: int, filters: dict | None = None) -> pd.DataFrame:
    chosen = cameras[_mask(cameras, filters or {})]
    return chosen.groupby(f"r{res}").agg(registrations=("site", "nunique"), cameras=("site", "size"))


# ----------------------------------------------------------------------------- what the attacker reads


def published_cells(client, res: int, filters: dict | None = None) -> dict[str, dict]:
    query = "&".join(f"{k}={v}" for k, v in {"res": res, **(filters or {})}.items())
    response = client.get(f"/api/v1/coverage/cells?{query}")
    assert response.status_code == 200, (query, response.get_data(as_text=True)[:300])
    return {c["cell"]: c for c in response.get_json()["cells"]}


def published_areas(client, level: str) -> dict[str, dict]:
    response = client.get(f"/api/v1/coverage/areas?level={level}")
    assert response.status_code == 200
    return {a["code"]: a for a in response.get_json()["areas"]}


def _shown(row) -> bool:
    return row is not None and row["registrations"] is not None


# ----------------------------------------------------------------------------- the attacks


def parent_minus_children(client, app, cameras, parent_res: int, measure: str) -> Score:
    """A shown cell minus its shown children one grid finer: the hidden children's count."""
    layer = layer_of(app)
    score = Score(
        f"res-{parent_res} cell minus its shown res-{parent_res + 1} children ({measure})", layer.ptable, layer.k
    )
    parents, children = published_cells(client, parent_res), published_cells(client, parent_res + 1)
    true_parent, true_child = true_cells(cameras, parent_res), true_cells(cameras, parent_res + 1)
    for cell, row in parents.items():
        if not _shown(row):
            continue
        kids = [k for k in h3.cell_to_children(cell, parent_res + 1) if _shown(children.get(k))]
        truth_kids = [int(true_child.at[k, measure]) for k in kids]
        hidden = int(true_parent.at[cell, measure]) - sum(truth_kids)
        if 1 <= hidden < layer.k:
            score.add(
                Case(
                    hidden,
                    (row[measure],),
                    tuple(children[k][measure] for k in kids),
                    (int(true_parent.at[cell, measure]),),
                    tuple(truth_kids),
                    cell,
                )
            )
    return score


def district_minus_small_areas(client, app, areas_truth, measure: str) -> Score:
    """A district's total minus its shown LSOA rows: the hidden LSOAs' count."""
    layer = layer_of(app)
    score = Score(f"district minus its shown LSOAs ({measure})", layer.ptable, layer.k)
    districts, small = published_areas(client, "district"), published_areas(client, "lsoa")
    ref = app.server.extensions["ccr"].reference.small_areas
    parent_of = dict(zip(ref["code"], ref["district_code"]))
    truth_d, truth_l = areas_truth["district"], areas_truth["lsoa"]
    for code, row in districts.items():
        if row[measure] is None:
            continue
        kids = [c for c, r in small.items() if parent_of.get(c) == code and r[measure] is not None]
        truth_kids = [int(truth_l[measure].get(c, 0)) for c in kids]
        hidden = int(truth_d[measure].get(code, 0)) - sum(truth_kids)
        if 1 <= hidden < layer.k:
            score.add(
                Case(
                    hidden,
                    (row[measure],),
                    tuple(small[c][measure] for c in kids),
                    (int(truth_d[measure].get(code, 0)),),
                    tuple(truth_kids),
                    code,
                )
            )
    return score


def unfiltered_minus_filtered(client, app, cameras, measure: str) -> Score:
    """A cell of the whole map minus the same cell with one camera filter: the registrations (or
    cameras) the filter leaves out."""
    layer = layer_of(app)
    score = Score(f"all cameras minus one filter, res 7-9 ({measure})", layer.ptable, layer.k)
    for res in RESOLUTIONS:
        whole, true_whole = published_cells(client, res), true_cells(cameras, res)
        for filters in FILTERS:
            part, true_part = published_cells(client, res, filters), true_cells(cameras, res, filters)
            for cell, row in part.items():
                if not (_shown(row) and _shown(whole.get(cell))):
                    continue
                a, b = int(true_whole.at[cell, measure]), int(true_part.at[cell, measure])
                if 1 <= a - b < layer.k:
                    score.add(Case(a - b, (whole[cell][measure],), (row[measure],), (a,), (b,), f"{cell} {filters}"))
    return score


def complement_views(client, app, cameras) -> Score:
    """Outdoors + indoors - all (and direction known + not known - all), cell by cell: the
    registrations with cameras on both sides of the filter."""
    layer = layer_of(app)
    score = Score("two complementary filters minus all, res 7-9 (registrations)", layer.ptable, layer.k)
    pairs = (
        ({"placement": "outdoor"}, {"placement": "indoor"}),
        ({"direction_known": "true"}, {"direction_known": "false"}),
    )
    for res in RESOLUTIONS:
        whole, true_whole = published_cells(client, res), true_cells(cameras, res)
        for first, second in pairs:
            one, two = published_cells(client, res, first), published_cells(client, res, second)
            t1, t2 = true_cells(cameras, res, first), true_cells(cameras, res, second)
            for cell in set(one) & set(two):
                if not (_shown(one[cell]) and _shown(two[cell]) and _shown(whole.get(cell))):
                    continue
                a, b, total = (int(t.at[cell, "registrations"]) for t in (t1, t2, true_whole))
                if 1 <= a + b - total < layer.k:
                    score.add(
                        Case(
                            a + b - total,
                            (one[cell]["registrations"], two[cell]["registrations"]),
                            (whole[cell]["registrations"],),
                            (a, b),
                            (total,),
                            f"{cell} {first}",
                        )
                    )
    return score


def joint_guess_share(client, app, cameras, parent_res: int) -> tuple[int, int]:
    """A stronger attacker on the cell hierarchy: reads the cameras column too. Registrations and
    cameras of the same cells are adjusted independently, and the hidden cameras come with the
    hidden registrations (1 + Poisson(m - 1) cameras each, m the published force-wide cameras per
    registration). Returns (recovered, cases) for the hidden registrations."""
    layer = layer_of(app)
    parents, children = published_cells(client, parent_res), published_cells(client, parent_res + 1)
    true_parent, true_child = true_cells(cameras, parent_res), true_cells(cameras, parent_res + 1)
    summary = client.get("/api/v1/summary").get_json()
    extra = summary["active_cameras"] / summary["active_registrations"] - 1
    right = n = 0
    for cell, row in parents.items():
        if not _shown(row):
            continue
        kids = [k for k in h3.cell_to_children(cell, parent_res + 1) if _shown(children.get(k))]
        hidden = int(true_parent.at[cell, "registrations"]) - sum(int(true_child.at[k, "registrations"]) for k in kids)
        if not 1 <= hidden < layer.k:
            continue
        n += 1
        noise = {
            m: sum_noise(layer.ptable, (row[m],), [children[k][m] for k in kids]) for m in ("registrations", "cameras")
        }
        seen = {m: row[m] - sum(children[k][m] for k in kids) for m in ("registrations", "cameras")}

        def likelihood(h: int) -> float:
            lam = extra * h
            cams = sum(
                math.exp(-lam) * lam ** (c - h) / math.factorial(c - h) * noise["cameras"].get(seen["cameras"] - c, 0)
                for c in range(h, 6 * h + 12)
            )
            return noise["registrations"].get(seen["registrations"] - h, 0.0) * cams

        right += max(range(1, layer.k), key=likelihood) == hidden
    return right, n


# ----------------------------------------------------------------------------- tests


def _check(score: Score, exact: Score, report) -> None:
    report(score.line())
    assert exact.n == score.n, "the exact layer hides the same counts (hiding depends on true counts only)"
    assert exact.n == 0 or exact.recovered == exact.n, (
        f"without the adjustment the attack must recover every hidden count: {exact.line()}"
    )
    assert score.share <= score.bound, (
        f"LEAK: {score.name}: {score.recovered} of {score.n} hidden counts recovered exactly ({score.share:.1%}), "
        f"above what independent noise allows ({score.chance:.1%}, at most {score.bound:.1%} with sampling error). "
        f"Examples: {score.examples()}"
    )


def test_a_cell_minus_its_shown_children_gives_only_noise(apps, registry, cameras, report):
    noisy, exact = client_for(apps.noisy, "analyst"), client_for(apps.exact, "analyst")
    scores, exact_scores = [], []
    for parent in (7, 8):
        for measure in ("registrations", "cameras"):
            scores.append(parent_minus_children(noisy, apps.noisy, cameras, parent, measure))
            exact_scores.append(parent_minus_children(exact, apps.exact, cameras, parent, measure))
    for s, e in zip(scores, exact_scores):
        report(s.line())
        assert e.recovered == e.n, f"without the adjustment: {e.line()}"
    total = merge("cell minus its shown children, res 7->8 and 8->9, registrations and cameras", scores)
    assert total.n >= 100, f"too few hidden counts to measure ({total.n}); the demo registry is too small"
    _check(total, merge("exact", exact_scores), report)
    right, n = (sum(x) for x in zip(*(joint_guess_share(noisy, apps.noisy, cameras, p) for p in (7, 8))))
    chance = merge("", [s for s in scores if "registrations" in s.name]).chance
    report(
        f"  an attacker reading the cameras column as well: {right} of {n} hidden registration counts "
        f"({right / n:.1%}; single-figure optimum {chance:.1%}, 3-SE bound {upper_bound(chance, n):.1%})"
    )


def test_a_district_minus_its_shown_small_areas_gives_only_noise(apps, areas_truth, report):
    noisy, exact = client_for(apps.noisy, "analyst"), client_for(apps.exact, "analyst")
    scores = [district_minus_small_areas(noisy, apps.noisy, areas_truth, m) for m in ("registrations", "cameras")]
    exact_scores = [district_minus_small_areas(exact, apps.exact, areas_truth, m) for m in ("registrations", "cameras")]
    total = merge("district minus its shown LSOAs (registrations and cameras)", scores)
    _check(total, merge("exact", exact_scores), report)
    # Every district, hidden part small or not: without the adjustment the subtraction is exact.
    districts, small = published_areas(exact, "district"), published_areas(exact, "lsoa")
    ref = apps.exact.server.extensions["ccr"].reference.small_areas
    parent_of = dict(zip(ref["code"], ref["district_code"]))
    for code, row in districts.items():
        kids = [r["registrations"] for c, r in small.items() if parent_of.get(c) == code and r["registrations"]]
        hidden = row["registrations"] - sum(kids)
        assert hidden == int(areas_truth["district"]["registrations"][code]) - sum(
            int(areas_truth["lsoa"]["registrations"].get(c, 0))
            for c, r in small.items()
            if parent_of.get(c) == code and r["registrations"]
        ), code


def test_a_filtered_view_against_the_whole_map_gives_only_noise(apps, cameras, report):
    noisy, exact = client_for(apps.noisy, "analyst"), client_for(apps.exact, "analyst")
    for measure in ("registrations", "cameras"):
        score = unfiltered_minus_filtered(noisy, apps.noisy, cameras, measure)
        _check(score, unfiltered_minus_filtered(exact, apps.exact, cameras, measure), report)
    score = complement_views(noisy, apps.noisy, cameras)
    _check(score, complement_views(exact, apps.exact, cameras), report)
    # Not a hidden count, but worth knowing: the same records get the same figure, so a filtered
    # view that equals the whole map tells that every camera of every owner there passes the filter.
    whole = {c: (r["registrations"], r["cameras"]) for c, r in published_cells(noisy, 9).items()}
    same = {}
    for filters in FILTERS:
        part = published_cells(noisy, 9, filters)
        same["=".join(next(iter(filters.items())))] = sum(
            1
            for c, r in part.items()
            if r["registrations"] is not None and (r["registrations"], r["cameras"]) == whole.get(c)
        )
    report(
        f"  homogeneity: of {len(whole)} res-9 cells drawn, a one-filter view equals the whole map (every owner "
        f"there has only such cameras) in {sum(v > 0 for v in same.values())} filters: "
        + ", ".join(f"{k} {v}" for k, v in same.items() if v)
    )


def _two_filter_views(cameras, res: int) -> int:
    """What the kind vs kind+placement attack would recover if two filters were offered: cells
    whose kind view and kind+placement view differ by 1..K-1 registrations (truth)."""
    found = 0
    for kind in ("doorbell", "fixed", "dome", "ptz", "other"):
        a = true_cells(cameras, res, {"kind": kind})["registrations"]
        for placement in ("outdoor", "indoor"):
            b = true_cells(cameras, res, {"kind": kind, "placement": placement})["registrations"]
            both = a[(a >= 8)].index.intersection(b[b >= 8].index)
            d = a[both] - b[both]
            found += int(((d >= 1) & (d < 8)).sum())
    return found


def test_filtered_against_filtered_views_are_refused(apps, cameras, report):
    client = client_for(apps.noisy, "analyst")
    asked = 0
    for res in RESOLUTIONS:
        for combo in (
            "kind=doorbell&placement=indoor",
            "kind=dome&direction_known=true",
            "placement=outdoor&direction_known=false",
            "kind=fixed&placement=outdoor&direction_known=true",
            "kind=doorbell&kind=fixed",
        ):
            response = client.get(f"/api/v1/coverage/cells?res={res}&{combo}")
            asked += 1
            if combo.startswith("kind=doorbell&kind="):
                # a repeated parameter: refused, or read as one filter (never as two)
                assert (
                    response.status_code == 422
                    or len(response.get_json()["cells"]) == len(published_cells(client, res, {"kind": "doorbell"}))
                    or len(response.get_json()["cells"]) == len(published_cells(client, res, {"kind": "fixed"}))
                ), combo
                continue
            assert response.status_code == 422, (res, combo, response.status_code)
            fields = {e["field"] for e in response.get_json()["errors"]}
            assert fields & {"kind", "placement", "direction_known"}, fields
            for fmt in ("csv", "geojson"):
                exported = client.get(
                    f"/coverage/export/cells.{fmt}?res={res}&"
                    + combo.replace("direction_known=true", "direction=known").replace(
                        "direction_known=false", "direction=unknown"
                    )
                )
                asked += 1
                assert exported.status_code == 400, (res, combo, fmt)
                assert exported.get_data(as_text=True).startswith("Cannot export:")
    # The page offers one "Cameras" choice; a forged value naming two filters is not a two-filter view.
    whole = post_callback(client, apps.noisy, "coverage-cells.data", {"coverage-res": "9", "coverage-cameras": "all"})
    for forged in (
        "kind:doorbell+placement:indoor",
        "kind:doorbell,placement:indoor",
        "kind:doorbell&placement=indoor",
    ):
        response = post_callback(
            client, apps.noisy, "coverage-cells.data", {"coverage-res": "9", "coverage-cameras": forged}
        )
        asked += 1
        assert response.status_code in (200, 204, 400, 403), forged
        if response.status_code == 200:
            drawn = response.get_json()["response"]["coverage-cells"]
            assert drawn == whole.get_json()["response"]["coverage-cells"], (
                f"a forged camera choice {forged!r} drew another view than the whole map"
            )
    would = sum(_two_filter_views(cameras, res) for res in RESOLUTIONS)
    report(
        f"filtered vs filtered (kind vs kind + placement): refused on all {asked} attempts (API 422, export 400, "
        f"forged page value drew the whole map); offered, it would expose {would:,} hidden counts of 1-7 "
        "registrations (truth)"
    )


def test_forged_non_text_camera_choices_are_refused_without_a_server_error(apps):
    """A forged body may carry a list or an object where the page sends text: it must be refused
    (or read as the default view), never crash the callback (a server error is not a refusal the
    design allows: "bad input: a clear message, never a 500")."""
    client = client_for(apps.noisy, "analyst")
    crashed = []
    for forged in (["kind:doorbell", "placement:indoor"], {"kind": "doorbell", "placement": "indoor"}):
        for field in ("coverage-cameras", "coverage-res"):
            values = {"coverage-res": "9", "coverage-cameras": "all", field: forged}
            try:
                response = post_callback(client, apps.noisy, "coverage-cells.data", values)
                status = response.status_code
            except Exception as exc:  # noqa: BLE001 - the test client re-raises what would be a 500
                status = f"500 ({type(exc).__name__}: {exc})"
            if not isinstance(status, int) or status >= 500:
                crashed.append(f"{field}={forged!r}: {status}")
    assert not crashed, (
        "forged callback values crash the coverage callback instead of being refused (not a "
        "disclosure, but a server error on bad input): " + "; ".join(crashed)
    )


def test_the_same_figure_gets_the_same_answer_on_every_route(apps, registry, report):
    """Averaging: if one set of registrations were published with different adjustments on different
    routes, their mean would close in on the true count. A district's registrations and cameras (the
    overview API, the coverage table, the lead's uptake metrics) and a small area's registrations per
    1,000 households (the coverage table, the gap analysis's recruitment targets) must be the same
    figure wherever they are shown."""
    analyst, lead = client_for(apps.noisy, "analyst"), client_for(apps.noisy, "lead")
    summary = {r["code"]: r for r in analyst.get("/api/v1/summary").get_json()["districts"]}
    areas = published_areas(analyst, "district")
    uptake = {
        r["code"]: r for r in lead.get("/api/v1/metrics/uptake?from=2026-11-02&to=2026-11-08").get_json()["by_district"]
    }
    compared = 0
    for code, row in areas.items():
        for measure in ("registrations", "cameras"):
            values = {row[measure], summary[code][measure], uptake[code][measure]}
            assert len(values) == 1, f"{code} {measure} differs between routes: {values}"
            compared += 1
    small = published_areas(analyst, "lsoa")
    for level in ("lsoa", "district"):
        targets = pd.read_csv(
            io.StringIO(
                analyst.get(f"/gaps/export/targets.csv?period=all&type=all&radius=100&level={level}").get_data(
                    as_text=True
                )
            ),
            dtype={"code": str},
        )
        source = small if level == "lsoa" else areas
        for row in targets.dropna(subset=["registrations_per_1000"]).itertuples():
            assert abs(row.registrations_per_1000 - source[row.code]["registrations_per_1000"]) < 0.006, row.code
            compared += 1
    report(
        f"averaging across routes: {compared} figures compared (district registrations and cameras on three "
        "routes, registrations per 1,000 households of small areas and districts on two): each the same everywhere"
    )
