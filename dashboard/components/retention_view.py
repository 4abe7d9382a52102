"""The retention summary as the auditor sees it: what is kept and why, what is due, what was erased."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import html

from dashboard.components.search_views import uk_time
from dashboard.registry.retention import RetentionSummary


def retention_table(summary: RetentionSummary) -> html.Div:
    """Counts of registrations by where they stand under the policy, with the rule for each."""
    months, grace = summary.period_months, summary.grace_days
    first = (f"; the first may be erased from {uk_time(summary.first_erasure_at)}"
             if summary.first_erasure_at is not None else "")
    rows = [
        ("Kept", f"Confirmed within the last {months} months: consent is current.", summary.current),
        ("Overdue, not yet flagged", "The next retention run flags them and reminds the owners.",
         summary.overdue_unflagged),
        ("In the grace period", f"Flagged as unconfirmed; erased {grace} days after the flag unless the owner "
                                f"confirms{first}.", summary.in_grace),
        ("Due for erasure now", "Grace period over and still unconfirmed: the next retention run erases them.",
         summary.due_now),
        ("Withdrawn by the owner", "Personal data erased at the owner's request from their private link.",
         summary.ended_by_owner),
        ("Erased on request", "Personal data erased by an administrator at the owner's request.",
         summary.erased_on_request),
        ("Erased by the retention check", f"Not confirmed for {months} months and the grace period passed.",
         summary.erased_by_retention),
    ]
    if summary.ended_reason_unknown:
        rows.append(("Ended, reason not recorded", "Ended before reasons were kept.", summary.ended_reason_unknown))
    body = [html.Tr([html.Th(label, scope="row", className="fw-semibold"), html.Td(rule, className="text-secondary"),
                     html.Td(f"{count:,}", className="text-end")]) for label, rule, count in rows]
    return html.Div([
        dbc.Table([html.Thead(html.Tr([html.Th("Registrations"), html.Th("Rule"), html.Th("Count", className="text-end")])),
                   html.Tbody(body)], size="sm", className="align-middle mb-2"),
        html.P([f"{summary.active:,} active and {summary.ended:,} ended registrations as of "
                f"{uk_time(summary.as_of)}. Ended registrations keep no personal data: only the reference, dates, "
                "district, small area and camera descriptions, which identify nobody. ",
                f"The audit log's {summary.audit_rows:,} rows are all kept: {summary.audit_kept_because}"],
               className="small text-secondary mb-0"),
    ])
