"""A map's colour key: one swatch per class of a choropleth, then the no-data swatches."""

from __future__ import annotations

from dash import html

from dashboard.components.colour import NO_DATA, class_colours


def legend(
    title: str,
    breaks: list[float],
    lowest: float,
    hidden_text: str,
    *,
    percent: bool = False,
    decimals: int | None = None,
    extra: list[tuple[str, str]] = (),
) -> html.Div:
    """Classes ``lowest..breaks[0]``, ``breaks[0]..breaks[1]``, ... as counts (the next class
    starts one above the last upper bound), or, with ``percent``, as shares 0..1 shown in %, or
    with ``decimals``, as rates."""

    def text(value: float) -> str:
        if percent:
            return f"{value * 100:.1f}%"
        return f"{value:,.{decimals}f}" if decimals is not None else f"{value:,.0f}"

    items, lower = [], lowest
    for colour, upper in zip(class_colours(breaks), breaks):
        span = text(lower) if upper == lower else f"{text(lower)} – {text(upper)}"
        items.append(html.Li([html.Span(className="legend-swatch", style={"background": colour}), span]))
        lower = upper if percent or decimals is not None else upper + 1
    for colour, label in [(NO_DATA, hidden_text), *extra]:
        items.append(html.Li([html.Span(className="legend-swatch", style={"background": colour}), label]))
    return html.Div(
        [html.P(title, className="legend-title mb-1"), html.Ul(items, className="legend-list")], className="map-legend"
    )
