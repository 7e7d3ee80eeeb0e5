"""The geometry of the participation charts, drawn as SVG by the templates (no script, so the
Content-Security-Policy stays as it is). Every chart has a ``viewBox`` and scales to the
screen: 320 units wide is readable on a 360 px phone. The numbers are also in the table beside
each chart, which is what screen readers read."""

from __future__ import annotations

from dataclasses import dataclass

WIDTH = 320


@dataclass
class Bar:
    label: str
    value: float | None  # what the bar shows (per cent or a count)
    text: str  # the value as written beside the bar
    x: float
    y: float
    width: float
    height: float
    reached: bool = False
    href: str | None = None


@dataclass
class Chart:
    width: int
    height: int
    bars: list[Bar]
    target_x: float | None = None  # horizontal charts: where the target line is
    target_text: str = ""
    axis: list[tuple[float, str]] | None = None  # ticks: (position, label)
    plot_left: float = 0
    plot_right: float = WIDTH
    plot_top: float = 0
    plot_bottom: float = 0


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value:g}%"


def rate_bars(rows, target: int | None, *, hrefs=None, label_width: float = 78) -> Chart:
    """One horizontal bar per row (``row.label``, ``row.rate`` in per cent) on a 0–100 % scale,
    with the target as a dashed line."""
    row_height, top = 26, 18
    left, right = label_width, WIDTH - 40
    span = right - left
    bars = []
    for index, row in enumerate(rows):
        rate = row.rate
        y = top + index * row_height
        bars.append(
            Bar(
                label=row.label,
                value=rate,
                text=_percent(rate),
                x=left,
                y=y + 4,
                width=max(0.0, min(rate or 0, 100)) / 100 * span,
                height=row_height - 8,
                reached=rate is not None and target is not None and rate >= target,
                href=(hrefs or {}).get(getattr(row, "key", None)),
            )
        )
    height = top + len(rows) * row_height + 8
    return Chart(
        width=WIDTH,
        height=height,
        bars=bars,
        target_x=left + target / 100 * span if target is not None else None,
        target_text=f"{target}%" if target is not None else "",
        plot_left=left,
        plot_right=right,
        plot_top=top,
        plot_bottom=height - 8,
    )


def share_bars(rows, *, label_width: float = 104) -> Chart:
    """Horizontal bars of ``row.took_part_share`` (per cent of registered residents)."""

    class _Row:
        def __init__(self, row):
            self.label, self.rate, self.key = row.label, row.took_part_share, row.key

    return rate_bars([_Row(row) for row in rows], None, label_width=label_width)


def month_columns(rows) -> Chart:
    """One column per month (``row.took_part``, residents who took part), oldest first, with
    a few ticks on the left and every third month named below."""
    left, right, top, bottom = 34, WIDTH - 4, 10, 150
    height = bottom + 24
    peak = max([row.took_part for row in rows] + [1])
    scale = _nice(peak)
    step = (right - left) / max(len(rows), 1)
    bars = []
    for index, row in enumerate(rows):
        h = row.took_part / scale * (bottom - top)
        bars.append(
            Bar(
                label=row.label,
                value=row.took_part,
                text=f"{row.took_part:,}",
                x=left + index * step + step * 0.15,
                y=bottom - h,
                width=step * 0.7,
                height=h,
            )
        )
    ticks = [
        (bottom - fraction * (bottom - top), _short(scale * fraction)) for fraction in (0, 0.5, 1)
    ]
    return Chart(
        width=WIDTH,
        height=height,
        bars=bars,
        axis=ticks,
        plot_left=left,
        plot_right=right,
        plot_top=top,
        plot_bottom=bottom,
    )


def _nice(value: float) -> float:
    """A round number at or above *value* (1, 2, 5 × 10^n)."""
    magnitude = 1
    while magnitude * 10 <= value:
        magnitude *= 10
    for factor in (1, 2, 5, 10):
        if factor * magnitude >= value:
            return factor * magnitude
    return 10 * magnitude


def _short(value: float) -> str:
    if value >= 10000:
        return f"{value / 10000:g}万"
    return f"{value:g}"
