"""Cell counts of a frame of cameras (``CELL_COLUMNS``) through the summary tables' own arithmetic:
what ``coverage_cell`` would hold for exactly these cameras (``summaries.cell_contribution``), read
back as the coverage page reads it (``summaries.cells_from``). Tests compare it with sets worked out
row by row, and with the SQL ``GROUP BY``."""

from __future__ import annotations

import pandas as pd

from dashboard.analytics.coverage import camera_choice, one_filter
from dashboard.registry import summaries


class Counted:
    def __init__(self, frame: pd.DataFrame) -> None:
        self.rows = summaries.cell_contribution(frame)

    def by_cell(self, resolution: int, **filters) -> pd.DataFrame:
        return summaries.cells_from(self.rows, resolution, camera_choice(one_filter(**filters)))
