"""The administrators' storage view: space used on the evidence disk by where each file stands, and
what the next retention run frees. Built from ``dashboard.evidence.retention.StorageReport``."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import html

from dashboard.components.search_views import uk_time
from dashboard.evidence.retention import (
    CLOSED_CASE,
    DECLINED,
    RULE_LABELS,
    STATE_LABELS,
    STATES,
    StorageReport,
    Tally,
    days,
    size_text,
)

USED, DISK, NEXT, COMING = "storage-used", "storage-disk", "storage-next", "storage-coming"


def _count(n: int, word: str) -> str:
    return f"{n:,} {word}{'s' if n != 1 else ''}"


def _row(label: str, tally: Tally, note: str, *, strong: bool = False) -> html.Tr:
    cls = "fw-semibold" if strong else None
    return html.Tr(
        [
            html.Th(label, scope="row", className=cls),
            html.Td(f"{tally.files:,}", className="text-end text-nowrap"),
            html.Td(size_text(tally.bytes), className="text-end text-nowrap"),
            html.Td(note, className="text-secondary"),
        ]
    )


def _table(head: list[str], rows: list, table_id: str) -> dbc.Table:
    cells = [html.Th(h, className="text-end" if h in ("Files", "Size") else None) for h in head]
    return dbc.Table(
        [html.Thead(html.Tr(cells)), html.Tbody(rows)],
        size="sm",
        className="align-middle mb-2",
        id=table_id,
        responsive=True,
    )


def storage_view(report: StorageReport) -> html.Div:
    h, disk, plan = report.holdings, report.disk, report.holdings.plan
    p = h.periods
    notes = {
        "awaiting": "Kept while the case is open.",
        "accepted": "Kept while the case is open.",
        "declined": f"Deleted {days(p.declined_days)} after the decision.",
        "closed": f"Deleted {days(p.closed_case_days)} after the case was closed.",
    }
    used = [_row(STATE_LABELS[s], h.by_state[s], notes[s]) for s in STATES]
    used.append(
        _row(
            "Unfinished uploads (part files on disk)",
            disk.parts,
            f"{_count(h.uploading.files, 'upload')} still arriving in the database "
            f"({size_text(h.uploading.bytes)} received); the nightly run deletes those whose link has closed.",
        )
    )
    used.append(
        _row(
            "On the evidence disk in all",
            disk.stored + disk.parts,
            "Complete files (each content stored once, however many files share it) and part files.",
            strong=True,
        )
    )

    shared = h.kept.bytes - h.contents.bytes
    gap = report.unaccounted
    disk_lines = [
        html.P(
            [
                html.Strong("Stored files: "),
                f"{_count(disk.stored.files, 'file')} ({size_text(disk.stored.bytes)}) on the disk; the database lists "
                f"{_count(h.contents.files, 'content')} ({size_text(h.contents.bytes)})"
                + (
                    f", {size_text(shared)} less than the files above add up to, because some files share the same "
                    "content"
                    if shared > 0
                    else ""
                )
                + ".",
            ],
            className="mb-1",
        ),
    ]
    if gap.files or gap.bytes:
        more = gap.files > 0 or gap.bytes > 0
        disk_lines.append(
            dbc.Alert(
                (
                    f"{_count(abs(gap.files), 'file')} ({size_text(abs(gap.bytes))}) on the disk that no kept file in the "
                    "database refers to: an interrupted deletion (the next retention run finishes it) or files copied in "
                    "by hand."
                    if more
                    else f"{_count(abs(gap.files), 'file')} ({size_text(abs(gap.bytes))}) that the database lists are missing "
                    "from the disk: run the integrity check."
                ),
                color="warning",
                className="py-2 small mb-1",
            )
        )
    low = disk.free_bytes < disk.min_free_bytes
    disk_lines.append(
        html.P(
            [
                html.Strong("Free on the evidence disk: "),
                f"{size_text(disk.free_bytes)} of {size_text(disk.total_bytes)} "
                f"({disk.free_bytes / disk.total_bytes:.0%} free). "
                if disk.total_bytes
                else f"{size_text(disk.free_bytes)}. ",
                f"EVIDENCE_MIN_FREE_MB keeps {disk.min_free_bytes // (1 << 20):,} MB free: an upload that would eat into it is "
                "refused, and the owner is asked to try later.",
            ],
            className="mb-1",
        )
    )
    if low:
        disk_lines.append(
            dbc.Alert(
                "Less space is free than EVIDENCE_MIN_FREE_MB keeps: owners' uploads are being "
                "refused. Free space on the disk or give it more.",
                color="danger",
                className="py-2 small mb-1",
            )
        )

    due_rows = []
    for rule in (DECLINED, CLOSED_CASE):
        t = plan.by_rule.get(rule, Tally())
        first = plan.first_due.get(rule)
        due_rows.append(_row(RULE_LABELS[rule], t, f"due since {uk_time(first)}" if first else "none due"))
    due_rows.append(
        _row(
            "In all",
            plan.files,
            f"frees {size_text(plan.freed.bytes)} of disk ({_count(plan.freed.files, 'stored content')})",
            strong=True,
        )
    )
    next_lines = [_table(["Rule", "Files", "Size", "When"], due_rows, NEXT)]
    if plan.kept_shared:
        next_lines.append(
            html.P(
                f"The content of {_count(plan.kept_shared, 'file')} stays on the disk: a file still "
                "kept has the same bytes.",
                className="small text-secondary mb-1",
            )
        )
    next_lines.append(
        html.P(f"Owners' statements erased with their last file: {plan.statements:,}.", className="small mb-2")
    )
    if plan.coming:
        coming = [
            html.Tr(
                [
                    html.Th(f"{c.day:%a %d %b %Y}", scope="row"),
                    html.Td(RULE_LABELS[c.rule]),
                    html.Td(f"{c.files:,}", className="text-end"),
                    html.Td(size_text(c.bytes), className="text-end"),
                ]
            )
            for c in plan.coming
        ]
        next_lines += [
            html.H3(f"Falling due in the next {plan.horizon_days} days", className="h6 mt-3"),
            _table(["Day (UK)", "Rule", "Files", "Size"], coming, COMING),
        ]
    else:
        next_lines.append(
            html.P(
                f"Nothing else falls due in the next {plan.horizon_days} days.",
                className="small text-secondary mb-0",
                id=COMING,
            )
        )

    return html.Div(
        [
            dbc.Card(
                dbc.CardBody(
                    [
                        html.H2("Space used", className="h5"),
                        _table(["State", "Files", "Size", "Kept until"], used, USED),
                        html.Div(disk_lines, id=DISK, className="small"),
                    ]
                ),
                className="mb-3",
            ),
            dbc.Card(
                dbc.CardBody(
                    [
                        html.H2("The next retention run", className="h5"),
                        html.P(
                            f"Run nightly (python -m dashboard retention run). As of {uk_time(h.as_of)} it would delete:",
                            className="small text-secondary",
                        ),
                        *next_lines,
                    ]
                ),
                className="mb-3",
            ),
        ]
    )
