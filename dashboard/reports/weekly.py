"""The project lead's weekly report: one UK week (Monday to Sunday) in a self-contained, print-ready
HTML page with its charts as inline SVG, and the tables behind it as CSV. Built from the same frames
and functions as the uptake page, through the same disclosure-control layer (``Disclosure``: counts
adjusted and not shown below K, figures over time differences of fixed-calendar running totals), so
the report's figures are the page's; no Flask or Dash here, so the page route and the ``report
weekly`` command give the same file.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import jinja2
import pandas as pd

from dashboard.analytics import rounding, uptake
from dashboard.analytics.disclosure import Disclosure
from dashboard.analytics.exports import export_bytes
from dashboard.analytics.rounding import round_value
from dashboard.components.svg_chart import bar_line_svg
from dashboard.core.uktime import UK
from dashboard.core.vocab import CAMERA_KINDS, CAMPAIGN_CHANNELS, DECLINE_REASONS, PLACEMENTS, REQUEST_STATUSES

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
WEEKS_SHOWN = 12
TOO_LATE_LABELS = {
    **REQUEST_STATUSES,
    "sent": "Not answered yet",
    "file_accepted": "A file was accepted as an exhibit all the same",
}
TABLES = ("weeks", "districts", "cameras", "campaigns", "requests_by_district", "requests_by_crime", "footage")
FOOTAGE_COLUMNS = ["section", "item", "value"]


@dataclass(frozen=True)
class WeeklyReport:
    week: dt.date  # the Monday
    k: int
    pilot_start: dt.date
    public_launch: dt.date
    force: str
    headline: dict
    requests: dict
    tables: dict[str, pd.DataFrame]
    footage: dict  # uptake.footage_outcomes: what became of the footage asked for this week
    method: str  # Disclosure.describe(): what the adjustment does, for the page
    attribution: tuple[str, ...] = ()  # the reference data's licence statements (district names, households)

    @property
    def week_end(self) -> dt.date:
        return self.week + dt.timedelta(days=6)


def week_of(day: dt.date) -> dt.date:
    """The Monday of ``day``'s week."""
    return uptake.period_start(day, "week")


def last_full_week(now: dt.datetime) -> dt.date:
    """The Monday of the last whole UK week before ``now``.

    >>> last_full_week(dt.datetime(2026, 11, 29, 12, tzinfo=dt.timezone.utc))  # a Sunday: this week is not over
    datetime.date(2026, 11, 16)
    """
    return week_of(now.astimezone(UK).date()) - dt.timedelta(days=7)


def build(
    frames: dict[str, pd.DataFrame],
    districts: pd.DataFrame,
    week: dt.date,
    *,
    layer: Disclosure,
    pilot_start: dt.date,
    public_launch: dt.date,
    force: str,
    now: dt.datetime,
    reconfirm_months: int = 12,
    attribution: tuple[str, ...] = (),
) -> WeeklyReport:
    """The report for the week holding ``week``, for the whole force (weeks are the grain, so every
    figure over time is a difference of weekly fixed-calendar totals, as on the uptake page).

    Parameters
    ----------
    frames : registrations, mix, districts, retired, due (the registrations due to confirm, counted
        with ``reconfirm_months``), campaigns, campaign_list, requests, files (``uptake_queries``)
    districts : code, name, households
    layer : the disclosure-control layer (``runtime().disclosure``)
    reconfirm_months : the retention period (``RETENTION_MONTHS``): "due to confirm" is not confirmed for it
    attribution : the reference data's attribution statements (``ReferenceGeography.attribution``), which
        its licences require wherever the data is shown: printed at the foot of the report
    """
    monday = week_of(week)
    sunday = monday + dt.timedelta(days=6)
    regs, mix, reqs, retired = frames["registrations"], frames["mix"], frames["requests"], frames.get("retired")
    weeks = uptake.registrations_series(
        regs, retired, monday - dt.timedelta(weeks=WEEKS_SHOWN - 1), sunday, "week", layer
    )
    headline = {
        **uptake.headline(regs, retired, monday, sunday, frames["due"], layer),
        "total": uptake.total_so_far(regs, retired, sunday, layer),
    }
    district_codes = districts["code"].astype(object).tolist()
    names = dict(zip(district_codes, districts["name"]))
    tables = {
        "weeks": weeks.rename(columns={"start": "week_starting"}),
        "districts": uptake.district_uptake(frames["districts"], districts, layer)[
            ["code", "name", "households", "registrations", "cameras", "registrations_per_1000"]
        ],
        "cameras": uptake.camera_mix(mix, layer, {"kind": CAMERA_KINDS, "placement": PLACEMENTS}).assign(
            aspect=lambda f: f["aspect"].map(uptake.ASPECTS)
        ),
        "campaigns": uptake.funnel(frames["campaigns"], frames["campaign_list"], monday, sunday, layer).assign(
            channel=lambda f: [CAMPAIGN_CHANNELS.get(c, c) for c in f["channel"]]
        ),
        "requests_by_district": uptake.requests_by(reqs, "district_code", district_codes, names, monday, sunday, layer),
        "requests_by_crime": uptake.requests_by(
            reqs, "crime_category", list(uptake.CRIME_CATEGORIES), {}, monday, sunday, layer
        ),
    }
    footage = uptake.footage_outcomes(reqs, frames["files"], monday, sunday, layer)
    tables["footage"] = footage_table(footage)
    return WeeklyReport(
        monday,
        layer.k,
        pilot_start,
        public_launch,
        force,
        headline,
        uptake.request_outcomes(reqs, monday, sunday, layer),
        tables,
        footage,
        layer.describe(),
        tuple(attribution),
    )


def footage_table(footage: dict) -> pd.DataFrame:
    """``uptake.footage_outcomes`` as one table (section, item, value; a value not shown is empty):
    what became of the footage asked for in the week, as the report's page shows it."""
    files = footage["files"]
    rows = [
        ("requests", "with a file uploaded", footage["uploaded"].value),
        ("requests", "time to the first upload: median (band)", footage["median_days_to_first_upload"]),
        ("requests", "time to the first upload: 90th percentile (band)", footage["p90_days_to_first_upload"]),
        ("files", "uploaded with the owner's answer", files["files"].value),
        ("files", "accepted as exhibits", files["accepted"].value),
        ("files", "declined", files["declined"].value),
        ("files", "awaiting a decision", files["awaiting"].value),
        ("files", "share of uploaded files accepted", round_value(footage["accepted_share"], "accepted_share")),
    ]
    rows += [("declined files by reason", DECLINE_REASONS[r], c.value) for r, c in footage["declined_reasons"].items()]
    rows += [("requests sent too late", "all sent after the footage was likely overwritten", footage["too_late"].value)]
    rows += [("requests sent too late", TOO_LATE_LABELS[o], c.value) for o, c in footage["too_late_outcomes"].items()]
    return pd.DataFrame(rows, columns=FOOTAGE_COLUMNS).astype({"value": object})


def csv_bytes(report: WeeklyReport, table: str) -> bytes:
    """One table of the report as CSV (hidden values are empty cells)."""
    if table not in report.tables:
        raise ValueError(f"unknown table {table!r}; the report has {', '.join(TABLES)}")
    return export_bytes(report.tables[table], None, "csv", table)


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, trim_blocks=True, lstrip_blocks=True
    )


def _cell(value, k: int, percent: bool = False, rate: bool = False, current: bool = False) -> str:
    """A figure as text. A count over time (a difference of running totals) not shown is "hidden" (see
    the report's note); a count of the register as it is now (``current``) not shown is "fewer than K"."""
    if isinstance(value, uptake.RangeCount):
        return value.text(k)
    if value is None or pd.isna(value):
        return f"fewer than {k}" if current else "hidden"
    # The same rounding as the CSVs and the API (halves up: 51.25 per 1,000 reads 51.3 everywhere).
    if percent:
        return rounding.percent(value)
    if rate:
        return rounding.thousands(value, 1)
    return f"{value:,}" if isinstance(value, int) or float(value).is_integer() else rounding.thousands(value, 2)


def html(report: WeeklyReport, csv_links: dict[str, str] | None = None) -> str:
    """The report as one self-contained HTML page (inline CSS and SVG; prints on A4)."""
    weeks = report.tables["weeks"]
    labels = [f"{d:%d %b}" for d in weeks["week_starting"]]
    chart = bar_line_svg(
        labels,
        [None if pd.isna(v) else int(v) for v in weeks["registrations"]],
        [None if pd.isna(v) else int(v) for v in weeks["total"]],
        title=f"Registrations per week for the {WEEKS_SHOWN} weeks to {report.week_end:%d %B %Y}",
        bar_name="registrations per week",
        line_name="registrations so far",
        x_title="Week starting (Monday)",
        bar_axis="Registrations per week",
        line_axis="Registrations so far",
        hidden_name=f"hidden: fewer than {report.k} or not shown",
    )
    return (
        _environment()
        .get_template("report/weekly.html")
        .render(
            report=report,
            chart=chart,
            decline_reasons=DECLINE_REASONS,
            too_late_labels=TOO_LATE_LABELS,
            cell=lambda v, percent=False, rate=False, current=False: _cell(v, report.k, percent, rate, current),
            csv_links=csv_links or {},
        )
    )


def write(report: WeeklyReport, folder: Path) -> list[Path]:
    """The HTML page and every table as CSV into ``folder``; returns the files written."""
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"weekly-{report.week:%Y-%m-%d}"
    links = {t: f"{stem}-{t}.csv" for t in TABLES}
    written = [folder / f"{stem}.html"]
    written[0].write_text(html(report, links), encoding="utf-8")
    for table, name in links.items():
        (folder / name).write_bytes(csv_bytes(report, table))
        written.append(folder / name)
    return written
