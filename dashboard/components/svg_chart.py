"""Small static charts as SVG text, for the printable weekly report (no browser, no JavaScript and
no image library needed; the report stays one self-contained HTML file)."""
from __future__ import annotations

from html import escape

WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 640, 240, 48, 36, 16


def bar_line_svg(labels: list[str], bars: list[int | None], line: list[int | None], *, title: str,
                 bar_name: str, line_name: str) -> str:
    """Bars (left axis) and a line (right axis) over the same labels; a None bar is not drawn and a
    None line point is skipped (the line joins the points either side).

    >>> svg = bar_line_svg(["a", "b", "c"], [3, None, 5], [10, None, 20], title="T", bar_name="B", line_name="L")
    >>> svg.count("<rect class='bar'"), svg.count("<circle"), svg.startswith("<svg")
    (2, 2, True)
    """
    n = max(len(labels), 1)
    plot_w, plot_h = WIDTH - 2 * LEFT, HEIGHT - BOTTOM - TOP
    bar_top = max([b for b in bars if b is not None] or [1]) or 1
    line_top = max([v for v in line if v is not None] or [1]) or 1
    step = plot_w / n
    parts = [f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {WIDTH} {HEIGHT}' role='img' "
             f"aria-label='{escape(title, quote=True)}' class='chart'>",
             f"<title>{escape(title)}</title>",
             f"<line x1='{LEFT}' y1='{TOP + plot_h}' x2='{LEFT + plot_w}' y2='{TOP + plot_h}' stroke='#52606d'/>"]
    for i, value in enumerate(bars):
        if value is None:
            continue
        h = plot_h * value / bar_top
        parts.append(f"<rect class='bar' x='{LEFT + i * step + step * 0.15:.1f}' y='{TOP + plot_h - h:.1f}' "
                     f"width='{step * 0.7:.1f}' height='{h:.1f}' fill='#6baed6'><title>{escape(labels[i])}: "
                     f"{value:,}</title></rect>")
    points = [(LEFT + i * step + step / 2, TOP + plot_h - plot_h * v / line_top) for i, v in enumerate(line)
              if v is not None]
    if points:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        parts.append(f"<polyline points='{path}' fill='none' stroke='#08519c' stroke-width='2'/>")
        parts += [f"<circle cx='{x:.1f}' cy='{y:.1f}' r='3' fill='#08519c'/>" for x, y in points]
    every = max(1, n // 6)
    for i, label in enumerate(labels):
        if i % every == 0:
            parts.append(f"<text x='{LEFT + i * step + step / 2:.1f}' y='{HEIGHT - BOTTOM / 2:.1f}' font-size='11' "
                         f"text-anchor='middle' fill='#323f4b'>{escape(label)}</text>")
    parts += [f"<text x='4' y='{TOP + 10}' font-size='11' fill='#323f4b'>{bar_top:,}</text>",
              f"<text x='{WIDTH - 4}' y='{TOP + 10}' font-size='11' text-anchor='end' fill='#08519c'>{line_top:,}</text>",
              f"<text x='{LEFT}' y='{TOP - 4}' font-size='11' fill='#323f4b'>&#9632; {escape(bar_name)}  "
              f"<tspan fill='#08519c'>&#8212; {escape(line_name)}</tspan></text>", "</svg>"]
    return "".join(parts)
