"""Plain SVG charts for `make bench` (scripts/bench): no plotting library,
only text, so the benchmark draws its own pictures from its raw results.

    cdf(path, title, xlabel, {"label": [seconds, ...]}, log_x=True)
    lines(path, title, xlabel, ylabel, {"label": [(x, y), ...]})
    bars(path, title, unit, [("group", [("label", value), ...]), ...])
"""

import math
from xml.sax.saxutils import escape

W, H = 760, 400
LEFT, RIGHT, TOP, BOTTOM = 70, 200, 40, 60
COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
          "#8c564b", "#e377c2", "#7f7f7f"]


def _nice_ticks(lo, hi, n=5):
    if hi <= lo:
        hi = lo + 1
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = min((m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw),
               default=10 * mag)
    start = math.floor(lo / step) * step
    end = math.ceil(hi / step - 1e-9) * step
    ticks = []
    t = start
    while t <= end + step * 1e-9:
        ticks.append(round(t, 10))
        t += step
    return ticks


def _fmt(v):
    if v == 0:
        return "0"
    if abs(v) >= 100 or v == int(v):
        return f"{v:.0f}"
    if abs(v) >= 1:
        return f"{v:.1f}".rstrip("0").rstrip(".")
    return f"{v:.3g}"


class _Chart:
    def __init__(self, title, xlabel, ylabel):
        self.out = [
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" '
            f'height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif" '
            f'font-size="12">',
            f'<rect width="{W}" height="{H}" fill="white"/>',
            f'<text x="{W / 2}" y="22" text-anchor="middle" '
            f'font-size="15">{escape(title)}</text>',
            f'<text x="{LEFT + (W - LEFT - RIGHT) / 2}" y="{H - 10}" '
            f'text-anchor="middle">{escape(xlabel)}</text>',
            f'<text transform="translate(16 {TOP + (H - TOP - BOTTOM) / 2})'
            f' rotate(-90)" text-anchor="middle">{escape(ylabel)}</text>',
        ]

    def frame(self, xt, yt, xpos, ypos, xfmt=_fmt):
        x0, x1 = LEFT, W - RIGHT
        y0, y1 = H - BOTTOM, TOP
        for t in xt:
            x = xpos(t)
            self.out.append(f'<line x1="{x:.1f}" y1="{y0}" x2="{x:.1f}" '
                            f'y2="{y1}" stroke="#e5e5e5"/>')
            self.out.append(f'<text x="{x:.1f}" y="{y0 + 16}" '
                            f'text-anchor="middle">{xfmt(t)}</text>')
        for t in yt:
            y = ypos(t)
            self.out.append(f'<line x1="{x0}" y1="{y:.1f}" x2="{x1}" '
                            f'y2="{y:.1f}" stroke="#e5e5e5"/>')
            self.out.append(f'<text x="{x0 - 6}" y="{y + 4:.1f}" '
                            f'text-anchor="end">{_fmt(t)}</text>')
        self.out.append(f'<rect x="{x0}" y="{y1}" width="{x1 - x0}" '
                        f'height="{y0 - y1}" fill="none" stroke="#444"/>')

    def legend(self, labels):
        for i, label in enumerate(labels):
            y = TOP + 10 + i * 20
            c = COLORS[i % len(COLORS)]
            self.out.append(f'<rect x="{W - RIGHT + 12}" y="{y - 9}" '
                            f'width="14" height="10" fill="{c}"/>')
            self.out.append(f'<text x="{W - RIGHT + 32}" y="{y}">'
                            f'{escape(label)}</text>')

    def save(self, path):
        self.out.append("</svg>")
        with open(path, "w") as f:
            f.write("\n".join(self.out) + "\n")


def cdf(path, title, xlabel, series, log_x=True):
    """Empirical distribution functions: share of values <= x."""
    vals = [v for xs in series.values() for v in xs if v > 0]
    if not vals:
        return
    lo, hi = min(vals), max(vals)
    if log_x:
        lo_e, hi_e = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
        if hi_e == lo_e:
            hi_e += 1
        xt = [10 ** e for e in range(lo_e, hi_e + 1)]

        def xpos(v):
            v = max(v, 10 ** lo_e)
            return LEFT + (math.log10(v) - lo_e) / (hi_e - lo_e) * \
                (W - LEFT - RIGHT)
    else:
        xt = _nice_ticks(0, hi)
        top = xt[-1]

        def xpos(v):
            return LEFT + v / top * (W - LEFT - RIGHT)

    def ypos(p):
        return H - BOTTOM - p * (H - TOP - BOTTOM)
    ch = _Chart(title, xlabel, "share of runs")
    ch.frame(xt, [0, 0.25, 0.5, 0.75, 1], xpos, ypos)
    for i, (label, xs) in enumerate(series.items()):
        xs = sorted(v for v in xs if v > 0)
        if not xs:
            continue
        pts = [(xpos(xs[0]), ypos(0))]
        for k, v in enumerate(xs):
            pts.append((xpos(v), ypos(k / len(xs))))
            pts.append((xpos(v), ypos((k + 1) / len(xs))))
        d = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
        ch.out.append(f'<polyline points="{d}" fill="none" stroke-width="2" '
                      f'stroke="{COLORS[i % len(COLORS)]}"/>')
    ch.legend(list(series))
    ch.save(path)


def lines(path, title, xlabel, ylabel, series):
    """One polyline per series of (x, y) points."""
    xs = [x for pts in series.values() for x, _ in pts]
    ys = [y for pts in series.values() for _, y in pts]
    if not xs:
        return
    xt, yt = _nice_ticks(0, max(xs)), _nice_ticks(0, max(ys) or 1)

    def xpos(v):
        return LEFT + v / xt[-1] * (W - LEFT - RIGHT)

    def ypos(v):
        return H - BOTTOM - v / yt[-1] * (H - TOP - BOTTOM)
    ch = _Chart(title, xlabel, ylabel)
    ch.frame(xt, yt, xpos, ypos)
    for i, (label, pts) in enumerate(series.items()):
        d = " ".join(f"{xpos(x):.1f},{ypos(y):.1f}" for x, y in pts)
        ch.out.append(f'<polyline points="{d}" fill="none" stroke-width="2" '
                      f'stroke="{COLORS[i % len(COLORS)]}"/>')
    ch.legend(list(series))
    ch.save(path)


def bars(path, title, unit, groups, log_y=False):
    """Grouped bars: groups is [(group label, [(bar label, value)])]; the
    bar labels make the legend, in the order they first appear."""
    labels = []
    for _, bs in groups:
        for label, _ in bs:
            if label not in labels:
                labels.append(label)
    vmax = max((v for _, bs in groups for _, v in bs), default=1) or 1
    if log_y:
        vmin = min((v for _, bs in groups for _, v in bs if v > 0),
                   default=1)
        lo_e = math.floor(math.log10(vmin))
        hi_e = math.ceil(math.log10(vmax))
        hi_e = hi_e if hi_e > lo_e else lo_e + 1
        yt = [10 ** e for e in range(lo_e, hi_e + 1)]

        def ypos(v):
            v = max(v, 10 ** lo_e)
            return H - BOTTOM - (math.log10(v) - lo_e) / (hi_e - lo_e) * \
                (H - TOP - BOTTOM)
        base = 10 ** lo_e
    else:
        yt = _nice_ticks(0, vmax)

        def ypos(v):
            return H - BOTTOM - v / yt[-1] * (H - TOP - BOTTOM)
        base = 0
    ch = _Chart(title, "", unit)
    ch.frame([], yt, lambda v: 0, ypos)
    gw = (W - LEFT - RIGHT) / max(1, len(groups))
    bw = gw * 0.8 / max(1, len(labels))
    for g, (glabel, bs) in enumerate(groups):
        gx = LEFT + g * gw + gw * 0.1
        for label, v in bs:
            k = labels.index(label)
            x = gx + k * bw
            y = ypos(v)
            ch.out.append(f'<rect x="{x:.1f}" y="{y:.1f}" '
                          f'width="{bw * 0.9:.1f}" height="'
                          f'{ypos(base) - y:.1f}" '
                          f'fill="{COLORS[k % len(COLORS)]}"/>')
            ch.out.append(f'<text x="{x + bw * 0.45:.1f}" y="{y - 4:.1f}" '
                          f'text-anchor="middle" font-size="10">'
                          f'{_fmt(v)}</text>')
        for k, part in enumerate(glabel.split("\n")):
            ch.out.append(f'<text x="{LEFT + g * gw + gw / 2:.1f}" '
                          f'y="{H - BOTTOM + 16 + 14 * k}" '
                          f'text-anchor="middle">{escape(part)}</text>')
    ch.legend(labels)
    ch.save(path)
