"""Inline SVG line charts (no scripts, no external references)."""

from xml.sax.saxutils import escape

COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b"]


def _nice(v):
    if v <= 0:
        return 1
    mag = 10 ** (len(str(int(v))) - 1)
    for m in (1, 2, 5, 10):
        if v <= m * mag:
            return m * mag
    return 10 * mag


def line_chart(title, series, xlabel="seconds", ylabel="", width=560, height=260):
    """series: {label: [(x, y), ...]} -> an <svg> string."""
    left, right, top, bottom = 60, 150, 28, 40
    pw, ph = width - left - right, height - top - bottom
    pts = [p for s in series.values() for p in s]
    xmax = _nice(max([p[0] for p in pts] + [1]))
    ymax = _nice(max([p[1] for p in pts] + [1]))
    sx = lambda x: left + pw * x / xmax
    sy = lambda y: top + ph - ph * y / ymax
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
           'viewBox="0 0 %d %d" role="img" aria-label="%s">' % (width, height, width, height, escape(title)),
           '<rect width="100%%" height="100%%" fill="#fff"/>',
           '<text x="%d" y="18" font-family="sans-serif" font-size="13" font-weight="bold">%s</text>'
           % (left, escape(title))]
    for i in range(5):
        y = ymax * i / 4
        out.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/>' % (left, sy(y), left + pw, sy(y)))
        out.append('<text x="%d" y="%.1f" font-family="sans-serif" font-size="10" text-anchor="end">%s</text>'
                   % (left - 4, sy(y) + 3, "%g" % y))
        x = xmax * i / 4
        out.append('<text x="%.1f" y="%d" font-family="sans-serif" font-size="10" text-anchor="middle">%s</text>'
                   % (sx(x), top + ph + 14, "%g" % x))
    out.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#000"/>' % (left, top + ph, left + pw, top + ph))
    out.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#000"/>' % (left, top, left, top + ph))
    out.append('<text x="%d" y="%d" font-family="sans-serif" font-size="11" text-anchor="middle">%s</text>'
               % (left + pw // 2, height - 6, escape(xlabel)))
    if ylabel:
        out.append('<text x="12" y="%d" font-family="sans-serif" font-size="11" '
                   'transform="rotate(-90 12 %d)" text-anchor="middle">%s</text>'
                   % (top + ph // 2, top + ph // 2, escape(ylabel)))
    for i, (label, s) in enumerate(series.items()):
        color = COLORS[i % len(COLORS)]
        if s:
            path = " ".join("%.1f,%.1f" % (sx(x), sy(y)) for x, y in s)
            out.append('<polyline fill="none" stroke="%s" stroke-width="1.8" points="%s"/>' % (color, path))
        ly = top + 12 + 16 * i
        out.append('<rect x="%d" y="%d" width="10" height="10" fill="%s"/>' % (left + pw + 10, ly - 9, color))
        out.append('<text x="%d" y="%d" font-family="sans-serif" font-size="11">%s</text>'
                   % (left + pw + 24, ly, escape(label)))
    out.append("</svg>")
    return "\n".join(out)
