"""The pieces of trainkit's HTML pages (report.html, sweep.html): escaped tables, line charts as
inline SVG, and the page around them.

The pages must open anywhere, years later, from a copied folder: no network, no JavaScript, no
fonts or stylesheets from elsewhere. Inline SVG needs none of these and every browser renders
it. Every piece of text that comes from a run (metric names, config values, overrides, error
messages) goes through ``esc``, so ``<``, ``&`` or quotes in a name cannot break the page.

A chart draws each series as one ``<path class="curve">`` whose ``M``/``L`` commands visit its
finite points in epoch order; a missing or non-finite value (NaN, inf) starts a new sub-path,
so it shows as a gap instead of a line through nowhere. The path carries ``data-series`` (the
name) and ``data-points`` (how many points it draws) for tests and for anyone reading the file.
"""
import html
import math

__all__ = ["esc", "num", "table", "line_chart", "legend", "page", "color"]

# Okabe-Ito's colour-blind-safe palette, then darker variants for sweeps with many jobs
_PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442",
            "#004C7A", "#8F3E00", "#006B4F", "#8A4F75", "#9A6A00", "#3A7A9E", "#555555", "#A39A2F")


def esc(value):
    """``value`` as HTML text (quotes too, so it is safe inside attributes)."""
    return html.escape(str(value), quote=True)


def color(i):
    return _PALETTE[i % len(_PALETTE)]


def finite(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def num(v, digits=4):
    """A number for people: 4 significant digits for floats, ints as they are, '' for None."""
    if v is None:
        return ""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, int):
        return f"{v:,}" if abs(v) >= 10000 else str(v)
    if not math.isfinite(v):
        return str(v)  # nan, inf, -inf
    return f"{v:.{digits}g}"


def table(header, rows, numeric=(), cls=None):
    """An HTML table; cells are escaped; columns listed in ``numeric`` (indices) are right-aligned."""
    head = "".join(f"<th{' class=num' if i in numeric else ''}>{esc(h)}</th>" for i, h in enumerate(header))
    body = []
    for row in rows:
        cells = "".join(f"<td{' class=num' if i in numeric else ''}>{esc(c)}</td>" for i, c in enumerate(row))
        body.append(f"<tr>{cells}</tr>")
    attr = f' class="{esc(cls)}"' if cls else ""
    return f"<table{attr}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


# ----- axes ----------------------------------------------------------------------------------------
def _nice_step(span, count):
    raw = span / max(count, 1)
    power = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if raw <= m * power:
            return m * power
    return 10 * power


def _ticks(lo, hi, count=5):
    step = _nice_step(hi - lo, count)
    first = math.ceil(lo / step - 1e-9) * step
    n = math.floor((hi - first) / step + 1e-9)
    # multiply, don't accumulate: 1 + 5 * 0.2 must be 2.0 (an epoch tick), not 1.9999999999999998
    digits = max(0, 3 - math.floor(math.log10(step)))
    out = []
    for k in range(n + 1):
        t = round(first + k * step, digits)
        out.append(0.0 if abs(t) < step * 1e-9 else t)
    return out


def _y_range(values):
    lo, hi = min(values), max(values)
    if hi == lo:  # a flat line: centre it
        pad = abs(lo) * 0.1 or 1.0
        return lo - pad, hi + pad
    pad = (hi - lo) * 0.05
    return lo - pad, hi + pad


def _tick_label(t, step):
    if step >= 1 and abs(t) < 1e6 and float(t).is_integer():
        return str(int(t))
    return f"{t:.3g}"


# ----- the chart -----------------------------------------------------------------------------------
def line_chart(title, series, marker=None, x_label="epoch", width=560, height=230):
    """An ``<svg>`` line chart of ``series``: ``[(name, [(x, y), ...], colour, dashed)]``.

    ``y`` may be None or non-finite (a gap). ``marker`` = ``(x, label)`` draws a dashed vertical
    line (the best epoch) with its label. x values are epochs (ints)."""
    left, right, top, bottom = 58, 12, 26, 36
    pw, ph = width - left - right, height - top - bottom
    xs = [x for _, pts, _, _ in series for x, _ in pts]
    ys = [y for _, pts, _, _ in series for _, y in pts if finite(y)]
    out = [f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" role="img" aria-label="{esc(title)}">',
           f'<text class="title" x="{left}" y="16">{esc(title)}</text>']
    if not xs or not ys:
        out.append(f'<text class="empty" x="{left + pw / 2:.0f}" y="{top + ph / 2:.0f}" text-anchor="middle">'
                   "no finite values yet</text>")
        for name, _, col, _ in series:  # still one (empty) path per series
            out.append(f'<path class="curve" data-series="{esc(name)}" data-points="0" d="" stroke="{col}"/>')
        out.append("</svg>")
        return "".join(out)
    x0, x1 = min(xs), max(xs)
    if x0 == x1:
        x0, x1 = x0 - 1, x1 + 1
    y0, y1 = _y_range(ys)

    def px(x):
        return left + (x - x0) / (x1 - x0) * pw

    def py(y):
        return top + (1 - (y - y0) / (y1 - y0)) * ph

    # grid and axes
    ystep = _nice_step(y1 - y0, 5)
    for t in _ticks(y0, y1):
        y = py(t)
        out.append(f'<line class="grid" x1="{left}" x2="{left + pw}" y1="{y:.1f}" y2="{y:.1f}"/>'
                   f'<text class="tick" x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{_tick_label(t, ystep)}</text>')
    xstep = max(1, _nice_step(x1 - x0, 8))
    for t in _ticks(x0, x1, 8):
        if xstep >= 1 and not float(t).is_integer():
            continue
        x = px(t)
        out.append(f'<line class="grid" x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{top + ph}"/>'
                   f'<text class="tick" x="{x:.1f}" y="{top + ph + 15}" text-anchor="middle">{_tick_label(t, xstep)}</text>')
    out.append(f'<rect class="frame" x="{left}" y="{top}" width="{pw}" height="{ph}"/>'
               f'<text class="axis" x="{left + pw / 2:.0f}" y="{height - 4}" text-anchor="middle">{esc(x_label)}</text>')
    if marker is not None and x0 <= marker[0] <= x1:
        x = px(marker[0])
        out.append(f'<line class="best" x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{top + ph}"/>' +
                   (f'<text class="best-label" x="{x - 4:.1f}" y="{top + 11}" text-anchor="end">' if x > left + 0.6 * pw
                   else f'<text class="best-label" x="{x + 4:.1f}" y="{top + 11}">') + f'{esc(marker[1])}</text>')
    hover = len(set(xs)) <= 60  # a tooltip circle per point, while that stays small
    for name, pts, col, dashed in series:
        d, count, pen_down, dots = [], 0, False, []
        for i, (x, y) in enumerate(pts):
            if not finite(y):
                pen_down = False
                continue
            d.append(f"{'L' if pen_down else 'M'}{px(x):.1f},{py(y):.1f}")
            count += 1
            isolated = not pen_down and not (i + 1 < len(pts) and finite(pts[i + 1][1]))
            pen_down = True
            if hover or isolated:
                dots.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="{3 if isolated else 2.2}" fill="{col}">'
                            f'<title>{esc(name)} at {esc(x_label)} {x}: {esc(num(y, 6))}</title></circle>')
        dash = ' stroke-dasharray="5 3"' if dashed else ""
        out.append(f'<path class="curve" data-series="{esc(name)}" data-points="{count}" d="{" ".join(d)}" '
                   f'stroke="{col}"{dash}/>')
        out.extend(dots)
    out.append("</svg>")
    return "".join(out)


def legend(entries):
    """An HTML legend below a chart: ``[(name, colour, dashed)]``."""
    items = "".join(f'<li><span class="swatch{" dashed" if dashed else ""}" style="border-color:{col}"></span>'
                    f"{esc(name)}</li>" for name, col, dashed in entries)
    return f'<ul class="legend">{items}</ul>'


_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px auto;max-width:1180px;
padding:0 16px;color:#222;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:3px}
.sub{color:#555;margin:0 0 12px}.status-ok{color:#006B4F}.status-bad{color:#B00020}
table{border-collapse:collapse;margin:6px 0}th,td{padding:3px 10px;border-bottom:1px solid #eee;text-align:left;
vertical-align:top}th{background:#f6f6f6}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.charts{display:flex;flex-wrap:wrap;gap:18px}.chart-box{border:1px solid #e4e4e4;border-radius:6px;padding:6px 8px}
svg.chart text{font:11px system-ui,sans-serif;fill:#444}svg.chart text.title{font-weight:600;font-size:12px;fill:#222}
svg.chart .grid{stroke:#eee}svg.chart .frame{fill:none;stroke:#bbb}
svg.chart path.curve{fill:none;stroke-width:1.8;stroke-linejoin:round;stroke-linecap:round}
svg.chart .best{stroke:#888;stroke-dasharray:4 3}svg.chart text.best-label{fill:#666}
ul.legend{list-style:none;margin:2px 0 0;padding:0;display:flex;flex-wrap:wrap;gap:4px 14px;font-size:12px;
max-width:560px}ul.legend .swatch{display:inline-block;width:18px;margin-right:5px;border-top:2.5px solid;
vertical-align:middle}ul.legend .swatch.dashed{border-top-style:dashed}
tr.bad td{color:#B00020}div.wide{overflow-x:auto}details{margin:14px 0}details summary{cursor:pointer;font-weight:600}
code{background:#f4f4f4;padding:0 3px;border-radius:3px}
pre.config{background:#f8f8f8;border:1px solid #e4e4e4;padding:10px;overflow:auto;font-size:12.5px}
"""


def page(title, body):
    """A whole self-contained HTML document."""
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{esc(title)}</title><style>{_CSS}</style></head>\n<body>\n{body}\n</body></html>\n")
