"""Crime data (administrators): import police.uk street-level crime files for the gap analysis, and
see what has been imported.

A data-management action, so only administrators do it (and operators with ``python -m dashboard
crimes import``): analysts and leads who could add crimes of their own could place probe points
and steer the gap analysis onto a house (issue 14). One file at a time, in the official layout
with the official crime categories; a file is checked whole and imported whole or not at all; every
import is in the audit log with the file's name, SHA-256, rows and months
(``dashboard.registry.crime_import``).
"""

from __future__ import annotations

import base64

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import Input, Output, State, dcc, html, no_update
from flask_login import current_user

from dashboard.components.grid_columns import WRAP_HEADERS, figure
from dashboard.components.search_views import uk_time
from dashboard.pages import Page
from dashboard.registry.crime_import import (
    CRIME_CATEGORIES,
    CrimeFileError,
    CrimeImportNotAllowed,
    import_crimes,
    parse_police_uk_csv,
)
from dashboard.registry.crime_queries import crime_catalogue, crime_imports
from dashboard.registry.database import transaction
from dashboard.runtime_access import runtime

PATH, PREFIX = "/crime-data", "crimes-"
UPLOAD, RESULT, SUMMARY, IMPORTS = "crimes-upload", "crimes-upload-result", "crimes-summary", "crimes-imports"
MAX_UPLOAD_BYTES = 3_500_000  # one file per upload; the command takes files of any size

IMPORT_COLUMNS = [
    {"field": "imported_at", "headerName": "Imported", "width": 160},
    {"field": "imported_by", "headerName": "By", "width": 140},
    {"field": "filename", "headerName": "File", "flex": 3},
    {"field": "months", "headerName": "Months", "width": 200},
    {"field": "rows", "headerName": "Crimes", "type": "numericColumn", "valueFormatter": figure(), "width": 110},
    {
        "field": "without_coordinates",
        "headerName": "Without coordinates",
        "type": "numericColumn",
        "valueFormatter": figure(),
        "width": 150,
    },
    {"field": "sha256", "headerName": "SHA-256", "flex": 3},
]


def _months(first, last, n) -> str:
    if first is None:
        return ""
    return f"{first:%Y-%m}" if n == 1 else f"{first:%Y-%m} to {last:%Y-%m} ({n} months)"


def _imports() -> tuple[str, list[dict]]:
    """The summary line and one row per imported file, newest first."""
    with runtime().sessions() as s:
        cat = crime_catalogue(s)
        files = crime_imports(s)
    if cat.files == 0:
        summary = "No crime data imported yet."
    else:
        summary = (
            f"{cat.crimes:,} crimes from {cat.files:,} file(s), {cat.months[0]:%B %Y} to "
            f"{cat.months[-1]:%B %Y}; {cat.without_coordinates:,} without coordinates."
        )
        other = int(cat.types.loc[~cat.types["crime_type"].isin(CRIME_CATEGORIES), "crimes"].sum())
        if other:  # only a database filled before the categories were checked can hold these
            summary += f" {other:,} crimes of types that are not police.uk categories are left out of the gap analysis."
    rows = [
        {
            "imported_at": uk_time(r.imported_at),
            "imported_by": r.imported_by,
            "filename": r.filename,
            "months": _months(r.first_month, r.last_month, r.months),
            "rows": int(r.rows),
            "without_coordinates": int(r.without_coordinates),
            "sha256": r.sha256,
        }
        for r in files.itertuples()
    ]
    return summary, rows


def layout(rt, _user) -> html.Div:
    summary, rows = _imports()
    return html.Div(
        [
            html.H1("Crime data", className="h3 mb-1"),
            html.P(
                "police.uk street-level crime files for the gap analysis. Importing is an administrator's "
                "data-management action, written to the audit log with the file's name, SHA-256 fingerprint, rows and months; analysts "
                "and project leads see the crimes only through the gap analysis.",
                className="text-secondary",
            ),
            dbc.Card(
                dbc.CardBody(
                    [
                        html.H2("Import a file", className="h5"),
                        dcc.Upload(
                            id=UPLOAD,
                            multiple=False,
                            max_size=MAX_UPLOAD_BYTES,
                            accept=".csv,text/csv",
                            children=html.Div(
                                [
                                    "Drop a police.uk street-level crime CSV here, or ",
                                    html.A("choose a file", href="#", className="fw-semibold"),
                                ]
                            ),
                            className="upload-zone",
                            style_active={"borderColor": "#08519c", "background": "#eef5fc"},
                        ),
                        html.P(
                            [
                                f"One file at a time, up to {MAX_UPLOAD_BYTES / 1e6:.1f} MB, exactly as downloaded from "
                                "data.police.uk (street-level crimes: the columns Crime ID, Month, Reported by, Falls within, "
                                "Longitude, Latitude, Location, LSOA code, LSOA name, Crime type, Last outcome category, Context). "
                                "Crime types must be police.uk's categories: "
                                + ", ".join(CRIME_CATEGORIES)
                                + ". A file is "
                                "checked whole: if anything is wrong nothing is imported, and the message names the line. The same file "
                                "twice is refused. Larger files: python -m dashboard crimes import FILE."
                            ],
                            className="small text-secondary mt-2 mb-0",
                        ),
                        html.Div(id=RESULT, className="mt-2", role="status"),
                    ]
                ),
                className="mb-4",
            ),
            html.H2("Imported files", className="h5"),
            html.P(summary, id=SUMMARY, className="mb-2"),
            dag.AgGrid(
                id=IMPORTS,
                columnDefs=IMPORT_COLUMNS,
                rowData=rows,
                defaultColDef={"minWidth": 110, "resizable": True, "sortable": True, **WRAP_HEADERS},
                columnSize="responsiveSizeToFit",
                style={"height": "360px", "width": "100%"},
                className="mb-4",
            ),
        ]
    )


def import_upload(contents, filename) -> dict:
    """Import one uploaded police.uk file, checked whole, and show the imports now; a file with anything
    wrong imports nothing and the message names what (the summary and table stay as they were)."""
    name = str(filename or "upload.csv")[:200]
    try:
        header, _, payload = str(contents or "").partition(",")
        if not header.endswith(";base64"):
            raise CrimeFileError(f"{name} could not be read; choose the file again.")
        data = base64.b64decode(payload, validate=True)
        parsed = parse_police_uk_csv(data, name)
        with transaction(runtime().sessions) as s:
            done = import_crimes(s, parsed, current_user.actor, runtime().reference)
    except (CrimeFileError, CrimeImportNotAllowed, ValueError) as exc:
        message = (
            str(exc)
            if isinstance(exc, (CrimeFileError, CrimeImportNotAllowed))
            else f"{name} could not be read; choose it again."
        )
        return {
            "result": dbc.Alert(
                ["Nothing was imported. ", message], color="danger", className="mb-0", id=f"{PREFIX}upload-error"
            ),
            "summary": no_update,
            "imports": no_update,
        }
    months = ", ".join(f"{m:%Y-%m}" for m in done.months)
    unplaced = (
        f" {done.without_coordinates:,} have no coordinates: they are kept and counted, but cannot be "
        "placed on the map."
        if done.without_coordinates
        else ""
    )
    ok = dbc.Alert(
        f"Imported {done.rows:,} crimes from {name} ({months}).{unplaced}",
        color="success",
        className="mb-0",
        id=f"{PREFIX}upload-ok",
    )
    summary, rows = _imports()
    return {"result": ok, "summary": summary, "imports": rows}


def register_callbacks(app) -> None:
    app.callback(
        output={
            "result": Output(RESULT, "children"),
            "summary": Output(SUMMARY, "children"),
            "imports": Output(IMPORTS, "rowData"),
        },
        inputs=[Input(UPLOAD, "contents"), State(UPLOAD, "filename")],
        prevent_initial_call=True,
    )(import_upload)


PAGE = Page(
    path=PATH,
    title="Crime data",
    roles=frozenset({"admin"}),
    id_prefix=PREFIX,
    layout=layout,
    register_callbacks=register_callbacks,
)
