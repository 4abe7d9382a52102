"""No analyst or lead figure reads the whole register into an app process (issue 19): after every
one has been counted (coverage cells, area tables, the gap analysis, uptake), on either backend,
the process has never built its in-memory index of the cameras (on SQLite that index is the
officer search's alone), and nothing cached for a computation (the point joins' prepared grids)
holds one. The figures are counted from the register's summary tables, shared by every process and
server."""

from __future__ import annotations

import datetime as dt

import pytest

from dashboard import figures
from dashboard.analytics.gap_report import GapQuery
from dashboard.application import create_app
from dashboard.config import load_settings
from dashboard.demo import generate_demo
from dashboard.geo import near_points
from dashboard.geo.search import CameraIndex
from dashboard.registry import audit
from dashboard.registry.crime_import import import_crimes, parse_police_uk_csv
from dashboard.registry.database import transaction
from dashboard.runtime import prepare


def _every_figure(app) -> None:
    with app.server.app_context():
        for res in (7, 8, 9):
            assert len(figures.cells_shown(res)) > 0
        for level in ("district", "lsoa"):
            for near in (50, 100, 200):
                assert len(figures.areas_for(level, near)) > 0
            report = figures.report_for(GapQuery(radius_m=100, level=level))
            assert not report.too_few and len(report.by_area) > 0
        assert len(figures.uptake_frames()["registrations"]) > 0


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_analyst_and_lead_figures_leave_no_copy_of_the_register_in_the_process(
    backend, request, reference_dir, tmp_path, monkeypatch
):
    url = request.getfixturevalue("pg_url") if backend == "postgresql" else f"sqlite:///{tmp_path / 'r.db'}"
    rt = prepare(load_settings({"DATABASE_URL": url, "REFERENCE_DATA_DIR": str(reference_dir), "SECRET_KEY": "k" * 48}))
    try:
        generate_demo(
            rt.engine,
            rt.reference,
            seed=8,
            registrations=1500,
            as_of=dt.date(2026, 11, 29),
            pilot_start=dt.date(2026, 4, 13),
            public_launch=dt.date(2026, 7, 6),
        )
        with transaction(rt.sessions) as s:
            files = sorted((reference_dir / "police_uk").glob("*-street.csv"))
            for path in files:
                parsed = parse_police_uk_csv(path.read_bytes(), path.name)
                import_crimes(s, parsed, audit.SYSTEM, rt.reference, count=path == files[-1])
        near_points.release_prepared()
        app = create_app(rt)
        if rt.finder.index is not None:
            rt.finder.index.current()  # SQLite: the officer search's own index, built at start-up
        indexed = []
        real = CameraIndex.from_frame.__func__
        monkeypatch.setattr(
            CameraIndex,
            "from_frame",
            classmethod(lambda cls, frame, *a, **k: indexed.append(len(frame)) or real(cls, frame, *a, **k)),
        )
        _every_figure(app)
        assert indexed == []  # no camera index of any size was built for a figure
        assert near_points._prepared.cache_info().currsize == 0  # no grids prepared for a whole-register join
    finally:
        near_points.release_prepared()
        rt.engine.dispose()
