"""CSV exports never hand a spreadsheet a formula to run (a campaign or area named
'=HYPERLINK(...)' comes out as text), and numbers and hidden counts are unchanged."""

from __future__ import annotations

import csv
import io

import pandas as pd

from dashboard.analytics.exports import export_bytes


def test_formula_cells_are_written_as_text():
    frame = pd.DataFrame(
        {
            "campaign": ['=HYPERLINK("http://evil.example","x")', "+44 7700 900123", "@SUM(A1)", "Leek library"],
            "registrations": pd.array([12, None, -3, 40], dtype="Int64"),
            "share": [0.5, 0.25, None, 1.0],
        }
    )
    rows = list(csv.reader(io.StringIO(export_bytes(frame, None, "csv", "t").decode("utf-8"))))
    assert rows == [
        ["campaign", "registrations", "share"],
        ['\'=HYPERLINK("http://evil.example","x")', "12", "0.5"],
        ["'+44 7700 900123", "", "0.25"],
        ["'@SUM(A1)", "-3", ""],
        ["Leek library", "40", "1.0"],
    ]
