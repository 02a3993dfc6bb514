"""Bar charts as inline SVG, drawn in Python (no plotting library).

The SVG is vector: WeasyPrint draws it as paths and text in the PDF, browsers show it as is.
Every label is escaped; the result is :class:`markupsafe.Markup`, ready for an autoescaped
Jinja2 template.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from xml.sax.saxutils import escape, quoteattr

from markupsafe import Markup

PALETTE = ("#1f3a5f", "#2e86ab", "#f18f01", "#6a994e", "#a23b72", "#7d8491")


def nice_step(maximum: float, ticks: int = 5) -> float:
    """A round step (1, 2 or 5 × 10^k) giving about ``ticks`` intervals up to ``maximum``."""
    if maximum <= 0:
        return 1.0
    raw = maximum / ticks
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if raw <= factor * magnitude:
            return max(1.0, factor * magnitude)
    return max(1.0, 10 * magnitude)  # pragma: no cover - the loop always returns


def _thousands(value: int) -> str:
    return f"{value:,}".replace(",", "\u202f")


def _chart_opening(width: int, height: int, title: str) -> list[str]:
    """The opening of a chart's ``<svg>``: its size, its accessible name and its title, shown when given."""
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label={quoteattr(title or "graphique")} '
        'font-family="DejaVu Sans, sans-serif">',
        f"<title>{escape(title or 'graphique')}</title>",
    ]
    if title:
        out.append(
            f'<text x="{width / 2:.1f}" y="18" text-anchor="middle" font-size="13" '
            f'font-weight="bold" fill="#1a1a1a">{escape(title)}</text>'
        )
    return out


def bar_chart_svg(
    categories: Sequence[str],
    series: Sequence[tuple[str, Sequence[int]]],
    *,
    title: str = "",
    width: int = 680,
    height: int = 300,
    colors: Sequence[str] = PALETTE,
) -> Markup:
    """Grouped vertical bars: one group per category, one bar per series, value above each bar."""
    left, right, top = 48, 12, 30 if title else 12
    legend_columns = max(1, min(len(series), 4))
    legend_rows = math.ceil(len(series) / legend_columns) if series else 0
    bottom = 28 + 18 * legend_rows
    plot_w, plot_h = width - left - right, height - top - bottom
    maximum = max((v for _, values in series for v in values), default=0)
    step = nice_step(maximum)
    top_value = step * max(1, math.ceil(maximum / step)) if maximum else step * 5
    scale = plot_h / top_value

    out = _chart_opening(width, height, title)
    # Grid and y axis.
    tick = 0.0
    while tick <= top_value + 1e-9:
        y = top + plot_h - tick * scale
        out.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="#dde3ea" stroke-width="0.8"/>'
        )
        out.append(
            f'<text x="{left - 6}" y="{y + 3.5:.1f}" text-anchor="end" font-size="9" '
            f'fill="#555555">{escape(_thousands(int(tick)))}</text>'
        )
        tick += step
    out.append(
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - right}" y2="{top + plot_h}" '
        'stroke="#333333" stroke-width="1"/>'
    )
    # Bars.
    n_cat, n_ser = max(1, len(categories)), max(1, len(series))
    group_w = plot_w / n_cat
    bar_w = group_w * 0.8 / n_ser
    for c, category in enumerate(categories):
        x0 = left + c * group_w + group_w * 0.1
        for s, (name, values) in enumerate(series):
            value = values[c] if c < len(values) else 0
            h = value * scale
            x, y = x0 + s * bar_w, top + plot_h - h
            color = colors[s % len(colors)]
            out.append(
                f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{max(bar_w - 2, 1):.1f}" '
                f'height="{h:.1f}" fill="{color}"><title>{escape(f"{category} — {name} : {value}")}'
                "</title></rect>"
            )
            out.append(
                f'<text x="{x + bar_w / 2 - 1:.1f}" y="{y - 3:.1f}" text-anchor="middle" font-size="9" '
                f'fill="#1a1a1a">{escape(_thousands(value))}</text>'
            )
        out.append(
            f'<text x="{left + c * group_w + group_w / 2:.1f}" y="{top + plot_h + 14}" '
            f'text-anchor="middle" font-size="10" fill="#1a1a1a">{escape(str(category))}</text>'
        )
    # Legend.
    column_w = (width - left - right) / legend_columns
    for s, (name, _) in enumerate(series):
        row, col = divmod(s, legend_columns)
        x = left + col * column_w
        y = height - bottom + 26 + row * 18
        out.append(f'<rect x="{x:.1f}" y="{y - 9}" width="10" height="10" fill="{colors[s % len(colors)]}"/>')
        out.append(f'<text x="{x + 15:.1f}" y="{y}" font-size="10" fill="#1a1a1a">{escape(name)}</text>')
    out.append("</svg>")
    return Markup("".join(out))


def hbar_chart_svg(
    labels: Sequence[str],
    values: Sequence[int],
    *,
    title: str = "",
    width: int = 680,
    bar_height: int = 16,
    color: str = PALETTE[0],
    label_width: int = 210,
) -> Markup:
    """Horizontal bars, one per label (long labels such as region names stay readable)."""
    top = 30 if title else 8
    row_h = bar_height + 8
    height = top + row_h * max(1, len(labels)) + 10
    plot_w = width - label_width - 50
    maximum = max(values, default=0) or 1
    out = _chart_opening(width, height, title)
    for i, (label, value) in enumerate(zip(labels, values, strict=False)):
        y = top + i * row_h
        w = plot_w * value / maximum
        out.append(
            f'<text x="{label_width - 8}" y="{y + bar_height - 4}" text-anchor="end" font-size="10" '
            f'fill="#1a1a1a">{escape(str(label))}</text>'
        )
        out.append(
            f'<rect class="bar" x="{label_width}" y="{y}" width="{max(w, 0.5):.1f}" height="{bar_height}" '
            f'fill="{color}"><title>{escape(f"{label} : {value}")}</title></rect>'
        )
        out.append(
            f'<text x="{label_width + w + 5:.1f}" y="{y + bar_height - 4}" font-size="10" '
            f'fill="#1a1a1a">{escape(_thousands(value))}</text>'
        )
    out.append(
        f'<line x1="{label_width}" y1="{top - 2}" x2="{label_width}" y2="{height - 8}" stroke="#333333" '
        'stroke-width="1"/>'
    )
    out.append("</svg>")
    return Markup("".join(out))
