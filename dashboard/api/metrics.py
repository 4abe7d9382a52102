"""``/api/v1/metrics``: the project lead's pilot figures for BI tools, from the same functions as the
uptake page and through the same disclosure-control layer (``runtime().disclosure``): counts
adjusted and not shown below K; figures over time differences of fixed-calendar running totals
(days for the whole force, whole UK weeks for campaigns and footage requests), so moving from/to
gives nothing that was not already published."""

from __future__ import annotations

import pandas as pd

from dashboard.analytics import uptake
from dashboard.analytics.rounding import rounded_json
from dashboard.api import blueprint
from dashboard.api.endpoints import endpoint
from dashboard.api.schemas import MetricsQuery, RequestMetrics, UptakeMetrics
from dashboard.core.vocab import DECLINE_REASONS
from dashboard.figures import uptake_frames
from dashboard.runtime_access import runtime


def _plain(value):
    """A frame cell as JSON: None for a hidden (NA) value, plain ints and floats otherwise."""
    if isinstance(value, uptake.RangeCount):
        return value.value
    if value is None or pd.isna(value):
        return None
    return value.item() if hasattr(value, "item") else value


def _records(frame: pd.DataFrame, columns: dict[str, str]) -> list[dict]:
    return [{name: _plain(getattr(row, column)) for name, column in columns.items()} for row in frame.itertuples()]


def _districts() -> pd.DataFrame:
    return pd.DataFrame(runtime().reference.districts[["code", "name", "households"]])


@blueprint.get("/metrics/uptake")
@endpoint(
    "GET",
    "/api/v1/metrics/uptake",
    summary="Registrations per day (force-wide), by district and per campaign "
    "(adjusted; ranges are differences of fixed-calendar totals)",
    roles=("lead",),
    query=MetricsQuery,
    response=UptakeMetrics,
)
def metrics_uptake(query: MetricsQuery):
    rt = runtime()
    layer = rt.disclosure
    frames = uptake_frames()
    daily = uptake.registrations_series(
        frames["registrations"], frames.get("retired"), query.from_, query.to, "day", layer
    )
    districts = uptake.district_uptake(frames["districts"], _districts(), layer)
    funnel = uptake.funnel(frames["campaigns"], frames["campaign_list"], query.from_, query.to, layer)
    return rounded_json(
        {
            "from": query.from_.isoformat(),
            "to": query.to.isoformat(),
            "k": layer.k,
            "total_before": daily.attrs["before"],
            "daily": [
                {
                    "day": r.start.isoformat(),
                    "registrations": _plain(r.registrations),
                    "cameras": _plain(r.cameras),
                    "total": _plain(r.total),
                }
                for r in daily.itertuples()
            ],
            "by_district": _records(
                districts,
                {
                    "code": "code",
                    "name": "name",
                    "registrations": "registrations",
                    "cameras": "cameras",
                    "registrations_per_1000": "registrations_per_1000",
                },
            ),
            "funnel_from": funnel.attrs["first"].isoformat(),
            "funnel_to": funnel.attrs["last"].isoformat(),
            "funnel": _records(funnel, {c: c for c in uptake.FUNNEL_COLUMNS}),
        }
    )


@blueprint.get("/metrics/requests")
@endpoint(
    "GET",
    "/api/v1/metrics/requests",
    summary="Footage request outcomes in whole UK weeks, by district and "
    "crime category, and what became of the footage (time to the first upload, files accepted, declined and "
    "why, too-late requests) (adjusted; ranges are differences of fixed-calendar weekly totals)",
    roles=("lead",),
    query=MetricsQuery,
    response=RequestMetrics,
)
def metrics_requests(query: MetricsQuery):
    rt = runtime()
    layer = rt.disclosure
    frames = uptake_frames()
    requests = frames["requests"]
    summary = uptake.request_outcomes(requests, query.from_, query.to, layer)
    first, last = summary["from"], summary["to"]
    codes = list(rt.reference.districts["code"])
    names = dict(zip(codes, rt.reference.districts["name"]))
    groups = {c: c for c in uptake.BREAKDOWN_COLUMNS}
    weeks = uptake.request_weeks(requests, first, last, layer)
    return rounded_json(
        {
            "from": first.isoformat(),
            "to": last.isoformat(),
            "k": layer.k,
            "requests": _plain(summary["requests"]),
            "by_status": {s: _plain(v) for s, v in summary["by_status"].items()},
            **{
                name: summary[name]
                for name in ("response_rate", "median_days_to_footage", "p90_days_to_footage", "useful_share")
            },
            "too_late": _plain(summary["too_late"]),
            "weekly": [
                {"week": r.start.isoformat(), "requests": _plain(r.requests), "total": _plain(r.total)}
                for r in weeks.itertuples()
            ],
            "by_district": _records(
                uptake.requests_by(requests, "district_code", codes, names, first, last, layer), groups
            ),
            "by_crime_category": _records(
                uptake.requests_by(requests, "crime_category", list(uptake.CRIME_CATEGORIES), {}, first, last, layer),
                groups,
            ),
            "footage": _footage(uptake.footage_outcomes(requests, frames["files"], first, last, layer)),
        }
    )


def _footage(out: dict) -> dict:
    """``uptake.footage_outcomes`` as JSON (FootageOutcomes)."""
    files = out["files"]
    return {
        "requests_with_upload": _plain(out["uploaded"]),
        "median_days_to_first_upload": out["median_days_to_first_upload"],
        "p90_days_to_first_upload": out["p90_days_to_first_upload"],
        "files_uploaded": _plain(files["files"]),
        "files_accepted": _plain(files["accepted"]),
        "files_declined": _plain(files["declined"]),
        "files_awaiting": _plain(files["awaiting"]),
        "accepted_share": out["accepted_share"],
        "declined_reasons": [
            {"reason": r, "label": DECLINE_REASONS[r], "files": _plain(c)} for r, c in out["declined_reasons"].items()
        ],
        "too_late_outcomes": {o: _plain(c) for o, c in out["too_late_outcomes"].items()},
    }
