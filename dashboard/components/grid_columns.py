"""Column definitions shared by the pages' AG Grids: numbers with thousands separators and a fixed
number of decimals (``assets/js/grid_figures.js``), and headers that wrap between words instead of
being cut to "Registrations per 1,0…"."""

from __future__ import annotations

WRAP_HEADERS = {"wrapHeaderText": True, "autoHeaderHeight": True}


def figure(digits: int = 0) -> dict:
    """A valueFormatter: 1234567 -> "1,234,567" (``digits`` decimals); words (a hidden figure) as they are.

    >>> figure(1)
    {'function': 'ccrFigure(params.value, 1)'}
    """
    return {"function": f"ccrFigure(params.value, {int(digits)})"}


def number_column(field: str, header: str, digits: int = 0, **extra) -> dict:
    """A right-aligned numeric column shown with separators and ``digits`` decimals.

    >>> number_column("households", "Households")["valueFormatter"]
    {'function': 'ccrFigure(params.value, 0)'}
    """
    return {"field": field, "headerName": header, "type": "numericColumn", "valueFormatter": figure(digits), **extra}


def with_wrapped_headers(default_col_def: dict | None = None) -> dict:
    """A grid's ``defaultColDef`` with headers that wrap and grow to fit."""
    return {**(default_col_def or {}), **WRAP_HEADERS}
