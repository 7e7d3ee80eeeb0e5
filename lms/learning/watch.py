"""The watched-time rule (law 4), as pure functions over media intervals in seconds.

The player reports which intervals it played. The server clips them to the lesson, merges them
with what it already has, and credits new coverage from a token bucket per resident and lesson:

- the bucket refills at the fastest playback rate (``MAX_RATE`` seconds of media per second of
  wall-clock time) up to ``CAPACITY_S`` (one heartbeat interval at that rate plus ``SLACK_S``),
  and holds ``START_S`` when the resident first opens the lesson;
- a heartbeat credits at most what the bucket holds, and spends what it credits;
- a clock going backwards refills nothing (the bucket keeps its later time).

So over any wall-clock window [t0, t1], however many heartbeats, tabs, visits or retries,
newly credited coverage <= MAX_RATE * (t1 - t0) + CAPACITY_S, and in a window that starts when
the lesson was first opened <= MAX_RATE * (t1 - t0) + START_S. Each heartbeat is further capped
by the rate the player says it played at: ``allowance(elapsed since the visit's previous
heartbeat, max_rate=rate)``; that cap's slack may repeat, the bucket's cannot. Seeking,
replaying and parallel tabs earn nothing extra.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Sequence
from datetime import datetime

Interval = tuple[float, float]

MAX_RATE = 2.0
# The player's heartbeat interval: the bucket holds one heartbeat's worth at the fastest rate.
HEARTBEAT_S = 15.0
# Network jitter and rounding: a heartbeat may arrive a little sooner than the playback it reports.
SLACK_S = 3.0
CAPACITY_S = MAX_RATE * HEARTBEAT_S + SLACK_S
START_S = SLACK_S
MAX_SEGMENTS = 500
# What a lesson's record may hold: a resident who seeks about a lesson leaves separate pieces,
# each stored and read again by every heartbeat. No honest viewing leaves this many; a client
# that scatters its reports to grow the record gets no credit for new pieces beyond it.
MAX_INTERVALS = 1000
# Players report the end a little past the stated duration (rounding, the last frame); more than
# this is not playback of this lesson and is refused rather than clipped.
OVERSHOOT_S = 5.0


class BadSegments(ValueError):
    """The reported intervals are not a list of [from, to] pairs of finite numbers."""


def clean(raw: object, duration_s: float) -> list[Interval]:
    """Validate *raw* (``[[from, to], …]``), clip each interval to ``[0, duration_s]``, round
    its bounds to the millisecond (what is stored stays short) and merge.
    Negative, NaN, infinite or reversed numbers are refused, and so are intervals reaching past
    the end of the lesson by more than ``OVERSHOOT_S``."""
    if not isinstance(raw, list) or len(raw) > MAX_SEGMENTS:
        raise BadSegments(f"segments must be a list of at most {MAX_SEGMENTS} pairs")
    intervals = []
    for item in raw:
        if not isinstance(item, list | tuple) or len(item) != 2:
            raise BadSegments("each segment must be a [from, to] pair")
        start, end = item
        if not all(_finite_number(value) for value in (start, end)):
            raise BadSegments("segment bounds must be finite numbers")
        start, end = float(start), float(end)
        if start < 0 or end < start:
            raise BadSegments("segments must satisfy 0 <= from <= to")
        if end > duration_s + OVERSHOOT_S:
            raise BadSegments("segment outside the lesson")
        start, end = round(min(start, duration_s), 3), round(min(end, duration_s), 3)
        if end > start:
            intervals.append((start, end))
    return merge(intervals)


def _finite_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted, non-overlapping intervals covering the same points."""
    merged: list[Interval] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def covered(intervals: Sequence[Interval]) -> float:
    return sum(end - start for start, end in intervals)


def uncovered_parts(
    existing: Sequence[Interval], interval: Interval, *, first: int = 0
) -> list[Interval]:
    """The parts of *interval* that *existing* (merged) does not cover, in time order. Intervals
    of *existing* before index *first* are taken to end before *interval* starts."""
    start, end = interval
    parts = []
    for index in range(first, len(existing)):
        have_start, have_end = existing[index]
        if have_end <= start:
            continue
        if have_start >= end:
            break
        if have_start > start:
            parts.append((start, have_start))
        start = max(start, have_end)
        if start >= end:
            break
    if start < end:
        parts.append((start, end))
    return parts


def uncovered(existing: Sequence[Interval], reported: Sequence[Interval]) -> float:
    """Seconds of *reported* (merged) that *existing* (merged) does not cover."""
    ends = [end for _start, end in existing]
    return sum(
        end - start
        for interval in reported
        for start, end in uncovered_parts(
            existing, interval, first=bisect.bisect_right(ends, interval[0])
        )
    )


def allowance(elapsed_s: float, *, max_rate: float = MAX_RATE, slack_s: float = SLACK_S) -> float:
    """The most new coverage playing at *max_rate* adds in *elapsed_s* seconds of wall-clock
    time, plus *slack_s* (a heartbeat's cap by the rate it reports, besides the bucket)."""
    return max(0.0, elapsed_s) * max_rate + slack_s


def refill(tokens_s: float, at: datetime | None, now: datetime) -> tuple[float, datetime]:
    """The bucket as of *now*: (seconds it holds, its new time). A bucket without a time has
    just been opened and holds ``START_S``; a clock going backwards (*now* before *at*) refills
    nothing and keeps the later time, so stepping back and forth earns nothing either."""
    if at is None:
        return START_S, now
    elapsed = (now - at).total_seconds()
    tokens_s = min(max(0.0, tokens_s), CAPACITY_S)
    if elapsed <= 0:
        return tokens_s, at
    return min(CAPACITY_S, tokens_s + elapsed * MAX_RATE), now


def accept(
    existing: Sequence[Interval], reported: Sequence[Interval], *, budget_s: float
) -> tuple[list[Interval], float]:
    """Add *reported* to *existing*, crediting at most *budget_s* seconds of new coverage, taken
    in time order (nothing when the record would grow past ``MAX_INTERVALS`` pieces). Returns
    the new merged intervals and the seconds newly credited."""
    existing = merge(existing)
    ends = [end for _start, end in existing]
    credited: list[Interval] = []
    remaining = max(0.0, budget_s)
    # The reported intervals, merged, are disjoint and in time order, so what one of them earns
    # never overlaps a later one: each is measured against *existing* alone (merged once), from
    # the first interval of it that ends after its start.
    for interval in merge(reported):
        if remaining <= 0:
            break
        first = bisect.bisect_right(ends, interval[0])
        for start, end in uncovered_parts(existing, interval, first=first):
            if remaining <= 0:
                break
            if end - start > remaining:  # a part of the part, ending on a whole millisecond
                end = math.floor((start + remaining) * 1000) / 1000
                if end <= start:
                    break
            # A whole part is credited as (start, end) itself: start + (end - start) may differ
            # from end in the last bit, and a repeated report would then add a sliver.
            credited.append((start, end))
            remaining -= end - start
    if not credited:
        return existing, 0.0
    result = merge([*existing, *credited])
    if len(result) > MAX_INTERVALS and len(result) > len(existing):
        return existing, 0.0
    # The parts credited are disjoint from *existing* and from each other.
    return result, covered(credited)
