"""Tiny hand-written SVG charts for the explorers.

The static website stores every precomputed panel of an explorer in the page (as widget
state), so each chart must be small: a few kilobytes of SVG instead of a matplotlib figure
(30-60 KB as SVG, 15-30 KB as PNG). These helpers draw scatter plots, curves and horizontal
stacked bars with labelled axes and units, and nothing else.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

FONT = "font-family:sans-serif;font-size:10px"
PALETTE = ("#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860")
HIGHLIGHT = "#d62728"


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """About ``count`` round tick values covering [low, high]."""
    if not math.isfinite(low) or not math.isfinite(high):
        return []
    if high <= low:
        high = low + (abs(low) or 1.0) * 0.1
    raw = (high - low) / max(count - 1, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = min((m * magnitude for m in (1, 2, 2.5, 5, 10)), key=lambda c: abs(math.log(c / raw)))
    start = math.ceil(low / step - 1e-9) * step
    ticks = []
    value = start
    while value <= high + 1e-9 * step:
        ticks.append(round(value, 10))
        value += step
    return ticks


def _fmt(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.0f}"
    return f"{value:.3g}"


def _n(value: float) -> str:
    """A coordinate with one decimal (keeps the SVG short)."""
    return f"{value:.1f}".rstrip("0").rstrip(".")


class Frame:
    """Axes of one chart: data limits mapped to a ``width`` x ``height`` pixel box."""

    left, right, top, bottom = 44.0, 10.0, 18.0, 34.0

    def __init__(self, xlim: tuple[float, float], ylim: tuple[float, float],
                 width: int = 300, height: int = 210) -> None:  # fmt: skip
        self.xlim = _widen(xlim)
        self.ylim = _widen(ylim)
        self.width, self.height = width, height

    def x(self, value: float) -> float:
        lo, hi = self.xlim
        return self.left + (value - lo) / (hi - lo) * (self.width - self.left - self.right)

    def y(self, value: float) -> float:
        lo, hi = self.ylim
        return (
            self.height
            - self.bottom
            - (value - lo) / (hi - lo) * (self.height - self.top - self.bottom)
        )

    def axes(self, xlabel: str, ylabel: str, title: str = "") -> list[str]:
        """Axis lines, ticks, tick labels, axis labels and the title."""
        x0, x1 = self.left, self.width - self.right
        y0, y1 = self.height - self.bottom, self.top
        parts = [f'<path d="M{_n(x0)} {_n(y1)}V{_n(y0)}H{_n(x1)}" stroke="#444" fill="none"/>']
        for tick in nice_ticks(*self.xlim):
            if self.xlim[0] <= tick <= self.xlim[1]:
                px = self.x(tick)
                parts.append(f'<path d="M{_n(px)} {_n(y0)}v3" stroke="#444"/>'
                             f'<text x="{_n(px)}" y="{_n(y0 + 13)}" text-anchor="middle">'
                             f"{_fmt(tick)}</text>")  # fmt: skip
        for tick in nice_ticks(*self.ylim):
            if self.ylim[0] <= tick <= self.ylim[1]:
                py = self.y(tick)
                parts.append(f'<path d="M{_n(x0 - 3)} {_n(py)}h3" stroke="#444"/>'
                             f'<text x="{_n(x0 - 5)}" y="{_n(py + 3)}" text-anchor="end">'
                             f"{_fmt(tick)}</text>")  # fmt: skip
        parts.append(f'<text x="{_n((x0 + x1) / 2)}" y="{_n(self.height - 4)}" '
                     f'text-anchor="middle">{escape(xlabel)}</text>')  # fmt: skip
        parts.append(f'<text transform="translate(10 {_n((y0 + y1) / 2)}) rotate(-90)" '
                     f'text-anchor="middle">{escape(ylabel)}</text>')  # fmt: skip
        if title:
            parts.append(f'<text x="{_n(x0)}" y="11" font-weight="bold">{escape(title)}</text>')
        return parts

    def wrap(self, parts: Sequence[str], label: str, font: str = FONT) -> str:
        return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{self.width}" '
                f'height="{self.height}" viewBox="0 0 {self.width} {self.height}" role="img" '
                f'aria-label="{escape(label)}" style="{font}">' + "".join(parts) + "</svg>")  # fmt: skip


def _widen(limits: tuple[float, float]) -> tuple[float, float]:
    lo, hi = float(limits[0]), float(limits[1])
    if hi <= lo:
        pad = abs(lo) * 0.05 or 0.5
        return lo - pad, hi + pad
    return lo, hi


def padded(values: Sequence[float], fraction: float = 0.08) -> tuple[float, float]:
    """Limits around ``values`` with a margin of ``fraction`` of their range on each side."""
    finite = [v for v in values if v is not None and math.isfinite(v)]
    if not finite:
        return 0.0, 1.0
    lo, hi = min(finite), max(finite)
    pad = (hi - lo) * fraction or (abs(hi) * 0.05 or 0.5)
    return lo - pad, hi + pad


def scatter(
    points: Sequence[tuple[float, float, int]],
    *,
    highlight: tuple[float, float] | None = None,
    extra: Sequence[tuple[float, float]] = (),
    xlim: tuple[float, float],
    ylim: tuple[float, float],
    xlabel: str,
    ylabel: str,
    title: str = "",
    width: int = 300,
    height: int = 210,
) -> str:
    """Points ``(x, y, group)`` coloured by group; the highlighted point ringed in red; ``extra``
    points (e.g. runs trained in this session) drawn as black diamonds."""
    frame = Frame(xlim, ylim, width, height)
    parts = frame.axes(xlabel, ylabel, title)
    for x, y, group in points:
        parts.append(f'<circle cx="{_n(frame.x(x))}" cy="{_n(frame.y(y))}" r="3" '
                     f'fill="{PALETTE[group % len(PALETTE)]}" fill-opacity="0.8"/>')  # fmt: skip
    for x, y in extra:
        px, py = frame.x(x), frame.y(y)
        parts.append(f'<path d="M{_n(px)} {_n(py - 5)}l5 5l-5 5l-5-5z" fill="#111"/>')
    if highlight is not None:
        parts.append(f'<circle cx="{_n(frame.x(highlight[0]))}" cy="{_n(frame.y(highlight[1]))}"'
                     f' r="7" fill="none" stroke="{HIGHLIGHT}" stroke-width="2.5"/>')  # fmt: skip
    return frame.wrap(parts, title or f"{ylabel} against {xlabel}")


def legend(labels: Sequence[str], extra: str | None = None) -> str:
    """An HTML legend of the scatter groups' colours (and the ``extra`` marker)."""
    items = [
        f'<span style="white-space:nowrap;margin-right:10px"><span style="display:inline-block;'
        f"width:9px;height:9px;border-radius:50%;background:{PALETTE[i % len(PALETTE)]};"
        f'margin-right:3px"></span>{escape(label)}</span>'
        for i, label in enumerate(labels)
    ]
    items.append(f'<span style="white-space:nowrap;margin-right:10px"><span style="display:'
                 f"inline-block;width:9px;height:9px;border-radius:50%;border:2px solid "
                 f'{HIGHLIGHT};margin-right:3px"></span>selected</span>')  # fmt: skip
    if extra:
        items.append(f'<span style="white-space:nowrap">&#9670; {escape(extra)}</span>')
    return '<div style="font-size:11px">' + "".join(items) + "</div>"


def curve(
    xs: Sequence[float],
    ys: Sequence[float],
    *,
    point: tuple[float, float] | None,
    xlabel: str,
    ylabel: str,
    title: str = "",
    diagonal: bool = False,
    width: int = 230,
    height: int = 210,
    max_points: int = 80,
) -> str:
    """A curve on [0, 1] x [0, 1] (ROC, precision-recall) with one marked point."""
    frame = Frame((0.0, 1.0), (0.0, 1.0), width, height)
    parts = frame.axes(xlabel, ylabel, title)
    if diagonal:
        parts.append(f'<path d="M{_n(frame.x(0))} {_n(frame.y(0))}L{_n(frame.x(1))} '
                     f'{_n(frame.y(1))}" stroke="#bbb" stroke-dasharray="3 3"/>')  # fmt: skip
    pairs = simplify(list(xs), list(ys), max_points)
    path = "M" + "L".join(f"{_n(frame.x(x))} {_n(frame.y(y))}" for x, y in pairs)
    parts.append(f'<path d="{path}" stroke="{PALETTE[0]}" stroke-width="1.8" fill="none"/>')
    if point is not None:
        parts.append(f'<circle cx="{_n(frame.x(point[0]))}" cy="{_n(frame.y(point[1]))}" r="5"'
                     f' fill="{HIGHLIGHT}"/>')  # fmt: skip
    return frame.wrap(parts, title or f"{ylabel} against {xlabel}")


def simplify(xs: list[float], ys: list[float], max_points: int) -> list[tuple[float, float]]:
    """At most ``max_points`` points of a curve, keeping its ends and its corners roughly."""
    pairs = list(zip(xs, ys, strict=True))
    if len(pairs) <= max_points:
        return pairs
    step = (len(pairs) - 1) / (max_points - 1)
    keep = sorted({round(i * step) for i in range(max_points)})
    return [pairs[i] for i in keep]


def text_width(text: str, font_px: float) -> float:
    """Rough width in pixels of ``text`` in a sans-serif font of ``font_px`` pixels (an upper
    estimate: 0.6 em per character, the width of digits and wide lower-case letters)."""
    return 0.6 * font_px * len(text)


def label_rows(
    labels: Sequence[tuple[str, float]], font_px: float, lo: float, hi: float, gap: float = 8.0
) -> list[tuple[str, float, str, int]]:
    """Place text labels at x positions on as few rows as possible without overlaps.

    ``labels`` are (text, x); each label starts at its x (``"start"``) or, when it would run past
    ``hi``, ends there (``"end"``). A label goes on the first row where it keeps ``gap`` pixels
    from every label already on that row. Returns (text, x, anchor, row) per label, in order.
    """
    rows: list[list[tuple[float, float]]] = []
    placed = []
    for text, x in labels:
        width = text_width(text, font_px)
        anchor = "start" if x + 3 + width <= hi else "end"
        x0, x1 = (x + 3, x + 3 + width) if anchor == "start" else (x - 3 - width, x - 3)
        x0 = max(x0, lo)
        free = (i for i, taken in enumerate(rows)
                if all(x1 + gap <= a or b + gap <= x0 for a, b in taken))  # fmt: skip
        row = next(free, len(rows))
        if row == len(rows):
            rows.append([])
        rows[row].append((x0, x1))
        placed.append((text, x, anchor, row))
    return placed


def stacked_bars(
    bars: Sequence[tuple[str, Sequence[tuple[str, float]]]],
    *,
    limits: Sequence[tuple[str, float]] = (),
    unit: str = "GB",
    title: str = "",
    width: int = 460,
    bar_height: int = 22,
    font_px: int = 12,
) -> str:
    """Horizontal stacked bars: ``bars`` = [(label, [(part, value), ...]), ...]; ``limits`` are
    vertical dashed lines (e.g. GPU sizes) with their labels above the bars, on as many rows as
    it takes for no two labels to overlap. Text is ``font_px`` pixels high."""
    left = max([text_width(label, font_px) for label, _ in bars] + [40.0]) + 10
    right = 16.0
    line = font_px + 4  # height of a row of text
    totals = [sum(v for _, v in parts) for _, parts in bars]
    largest = max(totals + [v for _, v in limits] + [1e-9])
    # room right of the longest bar for its total ("73.1"), so the number never sits on a bar
    room = max([text_width(f"{t:.1f}", font_px) + 8 for t in totals] + [0.0])
    span = max(width - right - left, 1.0)
    longest = max(totals + [1e-9])
    high = max(largest * 1.04, longest * span / max(span - room, 1.0))
    frame = Frame((0.0, high), (0.0, 1.0), width, 100)
    frame.left, frame.right = left, right
    ordered = sorted(limits, key=lambda item: item[1])
    rows = label_rows([(label, frame.x(value)) for label, value in ordered], font_px,
                      left, width - right)  # fmt: skip
    n_rows = max((row for *_, row in rows), default=-1) + 1
    top = 6.0 + line * n_rows + (line if title else 0) + 4
    height = int(top + len(bars) * (bar_height + 8) + 2 * line + 8)
    frame.top, frame.height = top, height
    parts_svg: list[str] = []
    if title:
        parts_svg.append(f'<text x="{_n(left)}" y="{_n(font_px + 2)}" font-weight="bold">'
                         f"{escape(title)}</text>")  # fmt: skip
    y = top
    names: list[str] = []
    for label, segments in bars:
        x = 0.0
        parts_svg.append(f'<text x="{_n(left - 6)}" y="{_n(y + bar_height / 2 + font_px / 3)}" '
                         f'text-anchor="end">{escape(label)}</text>')  # fmt: skip
        for name, value in segments:
            if name not in names:
                names.append(name)
            colour = PALETTE[names.index(name) % len(PALETTE)]
            x0, x1 = frame.x(x), frame.x(x + value)
            if x1 - x0 > 0.05:
                parts_svg.append(f'<rect x="{_n(x0)}" y="{_n(y)}" width="{_n(x1 - x0)}" '
                                 f'height="{bar_height}" fill="{colour}"><title>{escape(name)}: '
                                 f"{value:.2f} {unit}</title></rect>")  # fmt: skip
            x += value
        total = f"{x:.1f}"
        tx = frame.x(x) + 4
        parts_svg.append(f'<text x="{_n(tx)}" y="{_n(y + bar_height / 2 + font_px / 3)}" '
                         f'font-weight="bold">{total}</text>')  # fmt: skip
        y += bar_height + 8
    axis_y = y + 2
    parts_svg.append(f'<path d="M{_n(left)} {_n(axis_y)}H{_n(width - right)}" stroke="#444"/>')
    for tick in nice_ticks(*frame.xlim):
        if tick <= frame.xlim[1]:
            px = frame.x(tick)
            parts_svg.append(f'<path d="M{_n(px)} {_n(axis_y)}v3" stroke="#444"/><text '
                             f'x="{_n(px)}" y="{_n(axis_y + 3 + line - 2)}" text-anchor="middle">'
                             f"{_fmt(tick)}</text>")  # fmt: skip
    parts_svg.append(f'<text x="{_n(width - right)}" y="{_n(axis_y + 3 + 2 * line)}" '
                     f'text-anchor="end">{escape(unit)}</text>')  # fmt: skip
    first_row = 6.0 + (line if title else 0) + font_px
    for label, px, anchor, row in rows:
        ty = first_row + line * row
        tx = px + (3 if anchor == "start" else -3)
        parts_svg.append(f'<path d="M{_n(px)} {_n(ty - font_px + 2)}V{_n(axis_y)}" '
                         f'stroke="#c44e52" stroke-dasharray="4 3"/><text x="{_n(tx)}" '
                         f'y="{_n(ty)}" text-anchor="{anchor}" fill="#c44e52" '
                         f'class="lk-limit">{escape(label)}</text>')  # fmt: skip
    font = f"font-family:sans-serif;font-size:{font_px}px"
    svg = frame.wrap(parts_svg, title or "stacked bars", font)
    keys = "".join(
        f'<span style="white-space:nowrap;margin-right:12px"><span style="display:inline-block;'
        f'width:11px;height:11px;background:{PALETTE[i % len(PALETTE)]};margin-right:4px">'
        f"</span>{escape(name)}</span>"
        for i, name in enumerate(names)
    )
    return svg + f'<div style="font-size:{font_px}px">{keys}</div>'
