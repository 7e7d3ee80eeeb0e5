"""The watched-time rule as pure functions: clipping, merging and the wall-clock bound."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lms.learning import watch


def test_clean_clips_to_the_lesson_and_merges():
    assert watch.clean([[5, 10], [8, 20], [95, 102]], 100) == [(5, 20), (95, 100)]


@pytest.mark.parametrize(
    "raw",
    [
        [[-1, 5]],
        [[5, 1]],
        [[math.nan, 5]],
        [[0, math.inf]],
        [["0", 5]],
        [[True, 5]],
        [[1, 2, 3]],
        [1, 2],
        "0-5",
        {"from": 0},
        [[0, 1]] * (watch.MAX_SEGMENTS + 1),
        [[95, 130]],
        [[200, 300]],
    ],
)
def test_clean_refuses_what_is_not_a_list_of_intervals(raw):
    with pytest.raises(watch.BadSegments):
        watch.clean(raw, 100)


def test_accept_credits_no_more_than_the_budget_in_time_order():
    intervals, credited = watch.accept([(0, 30)], [(0, 100)], budget_s=33)
    assert intervals == [(0, 63)]
    assert credited == 33


def test_replaying_what_is_covered_earns_nothing():
    intervals, credited = watch.accept([(0, 60)], [(10, 50), (0, 60)], budget_s=1000)
    assert intervals == [(0, 60)]
    assert credited == 0


def test_allowance_is_twice_the_elapsed_time_plus_slack():
    assert watch.allowance(15) == 2 * 15 + watch.SLACK_S
    assert watch.allowance(-5) == watch.SLACK_S


intervals = st.lists(
    st.tuples(st.floats(0, 1000), st.floats(0, 1000)).map(lambda p: (min(p), max(p))), max_size=20
)


@given(existing=intervals, reported=intervals, budget=st.floats(0, 2000))
def test_accept_never_credits_more_than_the_budget_and_never_loses_coverage(
    existing, reported, budget
):
    before = watch.merge(existing)
    after, credited = watch.accept(before, reported, budget_s=budget)
    assert credited <= budget + 1e-6
    assert credited >= -1e-9
    assert math.isclose(watch.covered(after), watch.covered(before) + credited, abs_tol=1e-6)
    for start, end in before:  # what was watched stays watched
        assert any(s <= start + 1e-9 and end <= e + 1e-9 for s, e in after)
    assert after == watch.merge(after)


@given(existing=intervals, reported=intervals)
def test_accepting_the_same_report_twice_adds_nothing_the_second_time(existing, reported):
    once, _credited = watch.accept(existing, reported, budget_s=10_000)
    twice, credited = watch.accept(once, reported, budget_s=10_000)
    assert twice == once
    assert credited == pytest.approx(0, abs=1e-9)


def test_the_bucket_refills_at_the_fastest_rate_up_to_its_capacity():
    from datetime import UTC, datetime, timedelta

    opened = datetime(2026, 3, 1, 8, tzinfo=UTC)
    assert watch.refill(0, None, opened) == (watch.START_S, opened)
    later = opened + timedelta(seconds=5)
    assert watch.refill(1, opened, later) == (1 + 5 * watch.MAX_RATE, later)
    much_later = opened + timedelta(hours=1)
    assert watch.refill(0, opened, much_later) == (watch.CAPACITY_S, much_later)


def test_a_clock_going_backwards_refills_nothing():
    from datetime import UTC, datetime, timedelta

    at = datetime(2026, 3, 1, 8, tzinfo=UTC)
    assert watch.refill(4, at, at - timedelta(minutes=10)) == (4, at)


def test_a_record_scattered_into_too_many_pieces_earns_nothing_new_in_pieces():
    pieces = [(index * 2.0, index * 2.0 + 1) for index in range(watch.MAX_INTERVALS)]
    # One more separate piece: nothing credited, the record as it was.
    assert watch.accept(pieces, [(2001.0, 2001.5)], budget_s=10) == (pieces, 0.0)
    # Filling a gap joins two pieces: credited as usual.
    joined, credited = watch.accept(pieces, [(1.0, 2.0)], budget_s=10)
    assert credited == 1.0
    assert len(joined) == watch.MAX_INTERVALS - 1


def test_reported_bounds_are_kept_to_the_millisecond_and_a_part_credit_ends_on_one():
    assert watch.clean([[0.12345, 9.87654]], 60) == [(0.123, 9.877)]
    merged, credited = watch.accept([], [(0.0, 10.0)], budget_s=1.23456)
    assert merged == [(0.0, 1.234)]
    assert credited == pytest.approx(1.234)
