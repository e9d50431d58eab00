"""Self-contained HTML reports: inline SVG charts and tables, no scripts, no network, opens anywhere."""

from __future__ import annotations

from html import escape

COLORS = {"negative": "#d64545", "neutral": "#9aa5b1", "positive": "#3f9142", "pass": "#3f9142",
          "warn": "#d9a400", "fail": "#d64545", "volume": "#4a6fa5",
          "new": "#8e5ea2", "rising": "#d64545", "steady": "#616e7c", "fading": "#9aa5b1"}
_PALETTE = ["#4a6fa5", "#d64545", "#3f9142", "#d9a400", "#8e5ea2", "#9aa5b1"]

CSS = """
body{font:14px/1.45 -apple-system,"Segoe UI","PingFang SC","Microsoft YaHei",sans-serif;margin:24px auto;
max-width:1100px;color:#1f2933;padding:0 16px}
h1{font-size:22px;margin-bottom:4px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #e4e7eb}
.sub{color:#616e7c}.cards{display:flex;gap:12px;flex-wrap:wrap}
.card{border:1px solid #e4e7eb;border-radius:6px;padding:10px 14px;min-width:140px}
.card b{display:block;font-size:20px}table{border-collapse:collapse;width:100%;margin:8px 0}
td,th{border-bottom:1px solid #e4e7eb;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f5f7fa}.num{text-align:right;font-variant-numeric:tabular-nums}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;color:#fff;font-weight:600}
.grid{display:grid;grid-template-columns:1fr 1fr;gap:16px}svg text{font-size:11px;fill:#3e4c59}
"""


def badge(status: str) -> str:
    return f'<span class="badge" style="background:{COLORS.get(status, "#616e7c")}">{escape(status)}</span>'


def page(title: str, subtitle: str, sections: list[str]) -> str:
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
            f'<style>{CSS}</style></head><body><h1>{escape(title)}</h1><div class="sub">{escape(subtitle)}</div>'
            + "".join(sections) + "</body></html>")


def cards(items: list[tuple[str, str]]) -> str:
    return '<div class="cards">' + "".join(
        f'<div class="card">{escape(k)}<b>{v}</b></div>' for k, v in items) + "</div>"


def table(headers: list[str], rows: list[list], numeric: set[int] = frozenset()) -> str:
    """A table; cells are escaped unless they are already-built markup wrapped in ``Markup``."""
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(
        f'<td class="num">{_cell(c)}</td>' if i in numeric else f"<td>{_cell(c)}</td>" for i, c in enumerate(r))
        + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


class Markup(str):
    """A string that is already HTML."""


def _cell(c) -> str:
    if isinstance(c, Markup):
        return c
    if isinstance(c, float):
        return f"{c:.4g}"
    return escape("" if c is None else str(c))


def _legend(names: list[str], colors: list[str], x: int, y: int) -> str:
    out, cx = [], x
    for n, c in zip(names, colors, strict=True):
        out.append(f'<rect x="{cx}" y="{y - 9}" width="10" height="10" fill="{c}"/>'
                   f'<text x="{cx + 14}" y="{y}">{escape(n)}</text>')
        cx += 24 + 7 * len(n)
    return "".join(out)


def _frame(title: str, names: list[str], colors: list[str], width: int, height: int, left: int, top: int,
           plot_h: float, right: int, tick_labels: list[str]) -> list[str]:
    """SVG opening, title, legend and three horizontal grid lines labelled bottom to top."""
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img">'
             f"<title>{escape(title)}</title>", f'<text x="{left}" y="14" font-weight="600">{escape(title)}</text>',
             _legend(names, colors, left + 8 * len(title) + 10, 14)]
    for t, label in zip((0, 0.5, 1.0), tick_labels, strict=True):
        y = top + plot_h * (1 - t)
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e4e7eb"/>'
                     f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end">{label}</text>')
    return parts


def stacked_bars(title: str, categories: list[str], series: dict[str, list[float]], width: int = 520,
                 height: int = 240, percent: bool = True) -> str:
    """One bar per category, stacked by series (e.g. sentiment per platform); shares when ``percent``."""
    names = list(series)
    colors = [COLORS.get(n, _PALETTE[i % len(_PALETTE)]) for i, n in enumerate(names)]
    left, top, bottom = 44, 28, 40
    plot_h, plot_w = height - top - bottom, width - left - 10
    n = max(len(categories), 1)
    bw = plot_w / n
    totals = [sum(series[s][i] for s in names) for i in range(len(categories))]
    vmax = 1.0 if percent else max(totals + [1])
    ticks = [f"{t:.0%}" if percent else f"{vmax * t:.0f}" for t in (0, 0.5, 1.0)]
    parts = _frame(title, names, colors, width, height, left, top, plot_h, 10, ticks)
    for i, cat in enumerate(categories):
        y = top + plot_h
        for s, c in zip(names, colors, strict=True):
            v = series[s][i] / (totals[i] or 1) if percent else series[s][i]
            h = plot_h * v / vmax
            y -= h
            parts.append(f'<rect class="bar" x="{left + i * bw + 2:.1f}" y="{y:.1f}" width="{max(bw - 4, 1):.1f}" '
                         f'height="{h:.1f}" fill="{c}"><title>{escape(cat)} {escape(s)}: '
                         f'{series[s][i]:.4g}</title></rect>')
        if n <= 24:
            parts.append(f'<text x="{left + (i + 0.5) * bw:.1f}" y="{height - bottom + 14}" '
                         f'text-anchor="middle">{escape(cat[:12])}</text>')
    return "".join(parts) + "</svg>"


def line_chart(title: str, x_labels: list[str], series: dict[str, list[float | None]], width: int = 520,
               height: int = 240, percent: bool = False, highlight_last: bool = False) -> str:
    """Lines over shared x labels (days or hours); None leaves a gap."""
    names = list(series)
    colors = [COLORS.get(n, _PALETTE[i % len(_PALETTE)]) for i, n in enumerate(names)]
    left, top, bottom = 50, 28, 40
    plot_h, plot_w = height - top - bottom, width - left - 14
    vals = [v for s in names for v in series[s] if v is not None]
    vmax = max(vals + [1e-9]) * 1.1
    n = max(len(x_labels), 2)
    ticks = [f"{vmax * t:.0%}" if percent else f"{vmax * t:.3g}" for t in (0, 0.5, 1.0)]
    parts = _frame(title, names, colors, width, height, left, top, plot_h, 14, ticks)

    def xy(i, v):
        return left + plot_w * i / (n - 1), top + plot_h * (1 - v / vmax)

    for s, c in zip(names, colors, strict=True):
        pts = [xy(i, v) for i, v in enumerate(series[s]) if v is not None]
        if pts:
            parts.append(f'<polyline class="series" fill="none" stroke="{c}" stroke-width="2" points="'
                         + " ".join(f"{x:.1f},{y:.1f}" for x, y in pts) + '"/>')
            parts += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{c}"/>' for x, y in pts]
    if highlight_last and x_labels:
        x, _ = xy(len(x_labels) - 1, 0)
        parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{top + plot_h}" stroke="#d9a400" '
                     'stroke-dasharray="4 3"/>')
    step = max(1, len(x_labels) // 8)
    for i in range(0, len(x_labels), step):
        x, _ = xy(i, 0)
        parts.append(f'<text x="{x:.1f}" y="{height - bottom + 14}" text-anchor="middle">{escape(x_labels[i])}</text>')
    return "".join(parts) + "</svg>"


def histogram_pair(title: str, labels: list[str], ref: list[float], cur: list[float], width: int = 520,
                   height: int = 220) -> str:
    """Reference vs current shares per bin or category, side by side."""
    left, top, bottom = 44, 28, 40
    plot_h, plot_w = height - top - bottom, width - left - 10
    vmax = max(list(ref) + list(cur) + [1e-9]) * 1.1
    bw = plot_w / max(len(labels), 1)
    parts = _frame(title, ["reference", "current"], [_PALETTE[0], _PALETTE[1]], width, height, left, top, plot_h, 10,
                   [f"{vmax * t:.0%}" for t in (0, 0.5, 1.0)])
    for i, lab in enumerate(labels):
        for j, (v, c) in enumerate(((ref[i], _PALETTE[0]), (cur[i], _PALETTE[1]))):
            h = plot_h * v / vmax
            parts.append(f'<rect class="bar" x="{left + i * bw + 2 + j * (bw - 4) / 2:.1f}" y="{top + plot_h - h:.1f}" '
                         f'width="{max((bw - 4) / 2, 1):.1f}" height="{h:.1f}" fill="{c}"><title>{escape(lab)}: '
                         f'{v:.3f}</title></rect>')
        if len(labels) <= 16:
            parts.append(f'<text x="{left + (i + 0.5) * bw:.1f}" y="{height - bottom + 14}" '
                         f'text-anchor="middle">{escape(lab[:8])}</text>')
    return "".join(parts) + "</svg>"


def sparkline(values: list[float | None], width: int = 90, height: int = 22) -> Markup:
    """A tiny trend line (None = a day without data, drawn as a gap); the last point is marked."""
    vmax = max([v for v in values if v is not None] + [1e-9])
    n = max(len(values) - 1, 1)
    pts = [(2 + (width - 4) * i / n, height - 2 - (height - 4) * v / vmax) for i, v in enumerate(values) if v is not None]
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
    last = f'<circle cx="{pts[-1][0]:.1f}" cy="{pts[-1][1]:.1f}" r="2" fill="#d64545"/>' if pts else ""
    tip = escape(" ".join("-" if v is None else f"{v:.1%}" for v in values))
    return Markup(f'<svg class="spark" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}">'
                  f'<title>{tip}</title><polyline fill="none" stroke="#4a6fa5" stroke-width="1.5" points="{line}"/>'
                  f"{last}</svg>")
