"""The retention summary as the auditor sees it: what is kept and why, what is due, what was erased,
for registrations and for owners' footage."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import html

from dashboard.components.search_views import uk_time
from dashboard.evidence.retention import CLOSED_CASE, DECLINED, Holdings, Tally, days, size_text
from dashboard.registry.retention import RetentionSummary

FOOTAGE_ID = "audit-retention-footage"


def retention_table(summary: RetentionSummary, footage: Holdings | None = None) -> html.Div:
    """Counts of registrations by where they stand under the policy, with the rule for each."""
    months, grace = summary.period_months, summary.grace_days
    first = (
        f"; the first may be erased from {uk_time(summary.first_erasure_at)}"
        if summary.first_erasure_at is not None
        else ""
    )
    rows = [
        ("Kept", f"Confirmed within the last {months} months: consent is current.", summary.current),
        (
            "Overdue, not yet flagged",
            "The next retention run flags them and reminds the owners.",
            summary.overdue_unflagged,
        ),
        (
            "In the grace period",
            f"Flagged as unconfirmed; erased {grace} days after the flag unless the owner confirms{first}.",
            summary.in_grace,
        ),
        (
            "Due for erasure now",
            "Grace period over and still unconfirmed: the next retention run erases them.",
            summary.due_now,
        ),
        (
            "Withdrawn by the owner",
            "Personal data erased at the owner's request from their private link.",
            summary.ended_by_owner,
        ),
        (
            "Erased on request",
            "Personal data erased by an administrator at the owner's request.",
            summary.erased_on_request,
        ),
        (
            "Erased by the retention check",
            f"Not confirmed for {months} months and the grace period passed.",
            summary.erased_by_retention,
        ),
    ]
    if summary.ended_reason_unknown:
        rows.append(("Ended, reason not recorded", "Ended before reasons were kept.", summary.ended_reason_unknown))
    body = [
        html.Tr(
            [
                html.Th(label, scope="row", className="fw-semibold"),
                html.Td(rule, className="text-secondary"),
                html.Td(f"{count:,}", className="text-end"),
            ]
        )
        for label, rule, count in rows
    ]
    return html.Div(
        [
            dbc.Table(
                [
                    html.Thead(
                        html.Tr([html.Th("Registrations"), html.Th("Rule"), html.Th("Count", className="text-end")])
                    ),
                    html.Tbody(body),
                ],
                size="sm",
                className="align-middle mb-2",
            ),
            html.P(
                [
                    f"{summary.active:,} active and {summary.ended:,} ended registrations as of "
                    f"{uk_time(summary.as_of)}. Ended registrations keep no personal data: only the reference, dates, "
                    "district, small area and camera descriptions, which identify nobody. ",
                    f"The audit log's {summary.audit_rows:,} rows are all kept: {summary.audit_kept_because}",
                ],
                className="small text-secondary mb-0",
            ),
            *([footage_table(footage)] if footage is not None else []),
        ]
    )


def _files(t: Tally) -> str:
    return f"{t.files:,}"


def footage_table(h: Holdings) -> html.Div:
    """Owners' footage under its retention rules: files and sizes kept by where they stand, what the
    next run deletes, what has been deleted and erased."""
    p, plan = h.periods, h.plan
    declined, closed = plan.by_rule.get(DECLINED, Tally()), plan.by_rule.get(CLOSED_CASE, Tally())

    def since(rule: str) -> str:
        first = plan.first_due.get(rule)
        return f" (due since {uk_time(first)})" if first is not None else ""

    rows = [
        (
            "Awaiting a decision",
            "Kept while the case is open; an officer accepts or declines each file.",
            h.by_state["awaiting"],
        ),
        ("Accepted exhibits, open cases", "Kept while the case is open.", h.by_state["accepted"]),
        ("Declined, case open", f"Deleted {days(p.declined_days)} after the decision.", h.by_state["declined"]),
        (
            "Files of closed cases",
            f"Deleted {days(p.closed_case_days)} after the case was closed, whatever the decision.",
            h.by_state["closed"],
        ),
        ("Due now: declined", "The next retention run deletes them" + since(DECLINED) + ".", declined),
        ("Due now: closed cases", "The next retention run deletes them" + since(CLOSED_CASE) + ".", closed),
    ]
    body = [
        html.Tr(
            [
                html.Th(label, scope="row", className="fw-semibold"),
                html.Td(rule, className="text-secondary"),
                html.Td(_files(t), className="text-end"),
                html.Td(size_text(t.bytes), className="text-end"),
            ]
        )
        for label, rule, t in rows
    ]
    body.append(
        html.Tr(
            [
                html.Th("Deleted so far", scope="row", className="fw-semibold"),
                html.Td(
                    "Content deleted under these rules; the row keeps only the hash, size, exhibit "
                    "reference and decision.",
                    className="text-secondary",
                ),
                html.Td(f"{h.deleted:,}", className="text-end"),
                html.Td("–", className="text-end"),
            ]
        )
    )
    freed = (
        f" It frees {size_text(plan.freed.bytes)} of disk"
        + (
            f" (the content of {plan.kept_shared:,} of those files stays: a file still kept has the same bytes)"
            if plan.kept_shared
            else ""
        )
        + "."
        if plan.files.files
        else ""
    )
    return html.Div(
        [
            html.H3("Owners' footage", className="h6 mt-3"),
            dbc.Table(
                [
                    html.Thead(
                        html.Tr(
                            [
                                html.Th("Footage"),
                                html.Th("Rule"),
                                html.Th("Files", className="text-end"),
                                html.Th("Size", className="text-end"),
                            ]
                        )
                    ),
                    html.Tbody(body),
                ],
                size="sm",
                className="align-middle mb-2",
            ),
            html.P(
                [
                    f"{h.kept.files:,} files ({size_text(h.kept.bytes)}) kept as of {uk_time(h.as_of)}. The next retention "
                    f"run deletes {plan.files.files:,} ({size_text(plan.files.bytes)}) and erases "
                    f"{plan.statements:,} owners' statements.{freed} Owners' statements held: {h.statements_kept:,}; "
                    f"erased with their files: {h.statements_erased:,}. ",
                    p.in_words(),
                    " Each deletion is in the audit log with the file's hash, never its content.",
                ],
                className="small text-secondary mb-0",
            ),
        ],
        id=FOOTAGE_ID,
    )
