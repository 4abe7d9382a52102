"""``/api/v1/metrics``: the project lead's pilot figures for BI tools, with the uptake page's
suppression (nothing drawn from fewer than K registrations or requests; running totals only in
steps of at least K)."""
from __future__ import annotations

import pandas as pd

from dashboard.analytics import uptake
from dashboard.api import blueprint
from dashboard.api.endpoints import endpoint
from dashboard.api.schemas import MetricsQuery, RequestMetrics, UptakeMetrics
from dashboard.figures import uptake_frames
from dashboard.runtime_access import runtime


def _plain(value):
    """A frame cell as JSON: None for a hidden (NA) value, plain ints and floats otherwise."""
    if value is None or pd.isna(value):
        return None
    return value.item() if hasattr(value, "item") else value


def _records(frame: pd.DataFrame, columns: dict[str, str]) -> list[dict]:
    return [{name: _plain(getattr(row, column)) for name, column in columns.items()} for row in frame.itertuples()]


@blueprint.get("/metrics/uptake")
@endpoint("GET", "/api/v1/metrics/uptake", summary="Registrations per day, by district and per campaign (K-suppressed)",
          roles=("lead",), query=MetricsQuery, response=UptakeMetrics)
def metrics_uptake(query: MetricsQuery):
    rt = runtime()
    k = rt.settings.k_min
    frames = uptake_frames()
    daily = uptake.series(frames["registrations"], query.from_, query.to, "day", k)
    districts = uptake.district_uptake(frames["registrations"], frames["cameras"],
                                       pd.DataFrame(rt.reference.districts[["code", "name", "households"]]), k)
    funnel = uptake.funnel(frames["campaigns"], query.from_, query.to, k)
    return {"from": query.from_.isoformat(), "to": query.to.isoformat(), "k": k,
            "daily": [{"day": r.start.isoformat(), "registrations": _plain(r.registrations), "cameras": _plain(r.cameras),
                       "total": _plain(r.total)} for r in daily.itertuples()],
            "by_district": _records(districts, {"code": "code", "name": "name", "registrations": "registrations",
                                                "cameras": "cameras", "registrations_per_1000": "registrations_per_1000"}),
            "funnel": _records(funnel, {c: c for c in uptake.FUNNEL_COLUMNS})}


@blueprint.get("/metrics/requests")
@endpoint("GET", "/api/v1/metrics/requests", summary="Footage request outcomes, by district and crime category "
          "(K-suppressed)", roles=("lead",), query=MetricsQuery, response=RequestMetrics)
def metrics_requests(query: MetricsQuery):
    rt = runtime()
    k = rt.settings.k_min
    requests = uptake_frames()["requests"]
    requests = requests[uptake.in_days(uptake.uk_days(requests["sent_at"]), query.from_, query.to)]
    summary = uptake.request_outcomes(requests, k)
    names = dict(zip(rt.reference.districts["code"], rt.reference.districts["name"]))
    groups = {c: c for c in uptake.BREAKDOWN_COLUMNS}
    return {"from": query.from_.isoformat(), "to": query.to.isoformat(), "k": k, **summary,
            "by_district": _records(uptake.requests_by(requests, "district_code", names, k), groups),
            "by_crime_category": _records(uptake.requests_by(requests, "crime_category", {}, k), groups)}
