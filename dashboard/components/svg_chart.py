"""Small static charts as SVG text, for the printable weekly report (no browser, no JavaScript and
no image library needed; the report stays one self-contained HTML file), and the round axis ticks
that these and the pages' Plotly charts share (``nice_step``, ``nice_ticks``)."""

from __future__ import annotations

import math
from html import escape

WIDTH, HEIGHT, LEFT, RIGHT, BOTTOM, TOP = 640, 300, 64, 64, 62, 34
AXIS, TEXT, BAR, LINE, HIDDEN = "#52606d", "#323f4b", "#6baed6", "#08519c", "#9aa5b1"


def nice_step(top: float, ticks: int = 5) -> float:
    """A round tick step (1, 2, 2.5 or 5 times a power of ten) giving about ``ticks`` ticks up to ``top``.

    >>> nice_step(94.7), nice_step(3.1), nice_step(0), nice_step(0.42), nice_step(57)
    (20.0, 1.0, 1.0, 0.1, 20.0)
    """
    if not top or top <= 0:
        return 1.0
    raw = top / ticks
    power = 10 ** math.floor(math.log10(raw))
    return float(next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw))


def nice_ticks(top: float, count: int = 5) -> list[int]:
    """Round whole-number ticks from 0 to at least ``top`` (for counts: a step of 1 at least, never 2.5).

    >>> nice_ticks(94.7), nice_ticks(7), nice_ticks(0), nice_ticks(1234)
    ([0, 20, 40, 60, 80, 100], [0, 2, 4, 6, 8], [0, 1], [0, 500, 1000, 1500])
    """
    if top <= 0:
        return [0, 1]
    raw = top / count
    power = 10 ** max(0, math.floor(math.log10(raw))) if raw >= 1 else 1
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    return list(range(0, int(step * math.ceil(top / step)) + 1, int(step)))


def bar_line_svg(
    labels: list[str],
    bars: list[int | None],
    line: list[int | None],
    *,
    title: str,
    bar_name: str,
    line_name: str,
    x_title: str = "",
    bar_axis: str = "",
    line_axis: str = "",
    hidden_name: str = "hidden",
) -> str:
    """Bars (left axis) and a line (right axis) over the same labels, with both y axes ticked at round
    numbers and titled, and the labels along the x axis. A None bar is hidden, not zero: its slot is a
    hatched grey band with a legend entry ``hidden_name``; a None line point is skipped (the line
    joins the points either side).

    >>> svg = bar_line_svg(["a", "b", "c"], [3, None, 5], [10, None, 20], title="T", bar_name="B", line_name="L")
    >>> svg.count("<rect class='bar'"), svg.count("<rect class='hidden'"), svg.count("<circle"), svg.startswith("<svg")
    (2, 1, 2, True)
    """
    n = max(len(labels), 1)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - BOTTOM - TOP
    base = TOP + plot_h
    bar_ticks = nice_ticks(max([b for b in bars if b is not None] or [0]))
    line_ticks = nice_ticks(max([v for v in line if v is not None] or [0]))
    bar_top, line_top = bar_ticks[-1], line_ticks[-1]
    step = plot_w / n
    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {WIDTH} {HEIGHT}' role='img' "
        f"aria-label='{escape(title, quote=True)}' class='chart'>",
        f"<title>{escape(title)}</title>",
        "<defs><pattern id='hidden-hatch' width='6' height='6' patternUnits='userSpaceOnUse' "
        f"patternTransform='rotate(45)'><line x1='0' y1='0' x2='0' y2='6' stroke='{HIDDEN}' stroke-width='2'/>"
        "</pattern></defs>",
    ]
    # y axes: gridlines and ticks at round numbers, left for the bars, right for the line
    for tick in bar_ticks:
        y = base - plot_h * tick / bar_top
        parts.append(f"<line x1='{LEFT}' y1='{y:.1f}' x2='{LEFT + plot_w}' y2='{y:.1f}' stroke='#e5e7eb'/>")
        parts.append(
            f"<text class='tick y-left' x='{LEFT - 6}' y='{y + 4:.1f}' font-size='11' text-anchor='end' "
            f"fill='{TEXT}'>{tick:,}</text>"
        )
    for tick in line_ticks:
        y = base - plot_h * tick / line_top
        parts.append(
            f"<text class='tick y-right' x='{LEFT + plot_w + 6}' y='{y + 4:.1f}' font-size='11' "
            f"fill='{LINE}'>{tick:,}</text>"
        )
    parts += [
        f"<line x1='{LEFT}' y1='{TOP}' x2='{LEFT}' y2='{base}' stroke='{AXIS}'/>",
        f"<line x1='{LEFT + plot_w}' y1='{TOP}' x2='{LEFT + plot_w}' y2='{base}' stroke='{AXIS}'/>",
        f"<line x1='{LEFT}' y1='{base}' x2='{LEFT + plot_w}' y2='{base}' stroke='{AXIS}'/>",
    ]
    for i, value in enumerate(bars):
        x = LEFT + i * step + step * 0.15
        if value is None:
            parts.append(
                f"<rect class='hidden' x='{x:.1f}' y='{TOP}' width='{step * 0.7:.1f}' height='{plot_h}' "
                f"fill='url(#hidden-hatch)' stroke='{HIDDEN}'><title>{escape(labels[i])}: "
                f"{escape(hidden_name)}</title></rect>"
            )
            continue
        h = plot_h * value / bar_top
        parts.append(
            f"<rect class='bar' x='{x:.1f}' y='{base - h:.1f}' width='{step * 0.7:.1f}' height='{h:.1f}' "
            f"fill='{BAR}'><title>{escape(labels[i])}: {value:,}</title></rect>"
        )
    points = [(LEFT + i * step + step / 2, base - plot_h * v / line_top) for i, v in enumerate(line) if v is not None]
    if points:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        parts.append(f"<polyline points='{path}' fill='none' stroke='{LINE}' stroke-width='2'/>")
        parts += [f"<circle cx='{x:.1f}' cy='{y:.1f}' r='3' fill='{LINE}'/>" for x, y in points]
    every = max(1, math.ceil(n / 6))
    for i, label in enumerate(labels):
        x = LEFT + i * step + step / 2
        parts.append(f"<line x1='{x:.1f}' y1='{base}' x2='{x:.1f}' y2='{base + 4}' stroke='{AXIS}'/>")
        if i % every == 0:
            parts.append(
                f"<text class='tick x' x='{x:.1f}' y='{base + 16}' font-size='11' text-anchor='middle' "
                f"fill='{TEXT}'>{escape(label)}</text>"
            )
    middle = TOP + plot_h / 2
    parts += [
        f"<text class='axis-title x' x='{LEFT + plot_w / 2:.1f}' y='{base + 34}' font-size='12' text-anchor='middle' "
        f"fill='{TEXT}'>{escape(x_title)}</text>"
        if x_title
        else "",
        f"<text class='axis-title y-left' x='14' y='{middle:.1f}' font-size='12' text-anchor='middle' fill='{TEXT}' "
        f"transform='rotate(-90 14 {middle:.1f})'>{escape(bar_axis or bar_name)}</text>",
        f"<text class='axis-title y-right' x='{WIDTH - 10}' y='{middle:.1f}' font-size='12' text-anchor='middle' "
        f"fill='{LINE}' transform='rotate(90 {WIDTH - 10} {middle:.1f})'>{escape(line_axis or line_name)}</text>",
        _legend(bar_name, line_name, hidden_name, any(b is None for b in bars)),
        "</svg>",
    ]
    return "".join(parts)


def _legend(bar_name: str, line_name: str, hidden_name: str, with_hidden: bool) -> str:
    y = 14
    items = [
        f"<rect x='{LEFT}' y='{y - 9}' width='10' height='10' fill='{BAR}'/>"
        f"<text x='{LEFT + 14}' y='{y}' font-size='11' fill='{TEXT}'>{escape(bar_name)}</text>",
        f"<line x1='{LEFT + 190}' y1='{y - 4}' x2='{LEFT + 204}' y2='{y - 4}' stroke='{LINE}' stroke-width='2'/>"
        f"<text x='{LEFT + 208}' y='{y}' font-size='11' fill='{LINE}'>{escape(line_name)}</text>",
    ]
    if with_hidden:
        items.append(
            f"<rect class='legend-hidden' x='{LEFT + 360}' y='{y - 9}' width='10' height='10' "
            f"fill='url(#hidden-hatch)' stroke='{HIDDEN}'/><text x='{LEFT + 374}' y='{y}' font-size='11' "
            f"fill='{TEXT}'>{escape(hidden_name)}</text>"
        )
    return f"<g class='legend'>{''.join(items)}</g>"
