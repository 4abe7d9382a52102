"""A loading indicator for outputs that can take more than a moment (maps, charts, grids).

The old content stays visible, dimmed, under a spinner, so a map does not sit unchanged under a new
label while its cells are recomputed; ``delay_show`` keeps a fast update from flickering."""

from __future__ import annotations

from dash import dcc

DELAY_SHOW_MS = 350


def loading(child, **kwargs) -> dcc.Loading:
    return dcc.Loading(
        child,
        type="circle",
        delay_show=DELAY_SHOW_MS,
        color="#12284c",
        overlay_style={"visibility": "visible", "opacity": 0.5},
        parent_className="ccr-loading",
        **kwargs,
    )
