"""The watch-time bound (law 4) as a property of the real operation: whatever the timings of
the heartbeats (bursts, long pauses, parallel tabs and visits, replays, equal timestamps, a
clock stepping back), no window of wall-clock time earns more new coverage than the fastest
playback rate allows plus the bucket's capacity, and a window from the first opening no more
than the rate plus the few seconds the bucket starts with."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete

from lms.core.errors import OperationError
from lms.core.time import utcnow
from lms.courses import operations as courses
from lms.courses.models import LessonKind
from lms.extensions import db
from lms.learning import operations as learning
from lms.learning import watch
from lms.learning.models import LessonProgress, LessonVisit

DURATION = 3600
EPSILON = 0.01  # watched_s is kept to the millisecond


@pytest.fixture
def studying(resident, create_course):
    """A video lesson (and another one) of a course *resident* is enrolled in; each call
    forgets what the resident has done on them, so every example starts from scratch."""
    course = create_course(lessons=0, publish=False)
    lesson = courses.add_lesson(course, title="第一讲", kind=LessonKind.VIDEO, duration_s=DURATION)
    other = courses.add_lesson(course, title="第二讲", kind=LessonKind.VIDEO, duration_s=60)
    courses.publish_course(course)
    learning.enrol(resident, course)
    db.session.commit()

    def fresh():
        for model in (LessonProgress, LessonVisit):
            db.session.execute(delete(model).where(model.user_id == resident.id))
        db.session.commit()
        return lesson, other

    return fresh


pairs = st.tuples(st.floats(0, DURATION), st.floats(0, DURATION)).map(lambda p: sorted(p))
segments = st.lists(pairs, max_size=4) | st.just([[0, DURATION]])
gaps = st.sampled_from([0, 0, 0.001, 0.5, 3, 14.9, 15, 60, 3600]) | st.floats(0, 120)
rates = st.sampled_from([1, 2, 1.5, 0.75]) | st.floats(0.01, watch.MAX_RATE)
steps = st.lists(
    st.one_of(
        st.tuples(st.just("visit"), gaps),
        st.tuples(st.just("beat"), gaps, st.integers(0, 4), segments, rates),
        st.tuples(st.just("replay"), gaps),
        st.tuples(st.just("foreign"), gaps, segments),
    ),
    min_size=1,
    max_size=30,
)


def play(resident, lesson, other, steps, *, backwards: bool = False):
    """Run *steps* through the operation; the bucket's clock and coverage credited at each
    accepted heartbeat, and when the lesson was opened."""
    opened = utcnow()
    visits = [learning.start_visit(resident, lesson, now=opened)]
    foreign = learning.start_visit(resident, other, now=opened)
    db.session.commit()
    moment, clock, watched, last = opened, opened, 0.0, None
    credits = []
    for step in steps:
        moment += timedelta(seconds=step[1])
        if backwards and step[1] > 60:
            moment -= timedelta(seconds=2 * step[1])  # the clock steps back instead
        if step[0] == "visit":
            if moment >= opened:
                visits.append(learning.start_visit(resident, lesson, now=moment))
                db.session.commit()
            continue
        if step[0] == "beat":
            _kind, _gap, index, played, rate = step
            last = (visits[index % len(visits)].id, played, rate)
        elif step[0] == "foreign":
            # Another lesson's visit replayed against this lesson: refused, nothing recorded.
            last_foreign = (foreign.id, step[2], 1)
            with pytest.raises(OperationError) as refused:
                beat(resident, lesson, last_foreign, moment)
            assert refused.value.status == 404
            db.session.rollback()
            continue
        if last is None:
            continue
        try:
            progress = beat(resident, lesson, last, moment)
        except OperationError as error:
            refused = error
        else:
            refused = None
        if refused is not None:
            # Only a clock gone back before a visit began is refused here.
            assert backwards
            assert refused.status == 409
            db.session.rollback()
            continue
        db.session.commit()
        clock = max(clock, moment)
        credits.append((clock, progress.watched_s - watched))
        watched = progress.watched_s
    return opened, credits


def beat(resident, lesson, heartbeat, moment):
    visit_id, played, rate = heartbeat
    return learning.record_heartbeat(
        resident,
        lesson,
        visit_id=visit_id,
        position_s=played[-1][1] if played else 0,
        segments=played,
        rate=rate,
        now=moment,
    )


def assert_bounded(opened, credits):
    for first, (start, _credit) in enumerate(credits):
        total = 0.0
        for end, credit in credits[first:]:
            total += credit
            elapsed = (end - start).total_seconds()
            assert total <= watch.MAX_RATE * elapsed + watch.CAPACITY_S + EPSILON
    total = 0.0
    for end, credit in credits:
        total += credit
        since_opening = (end - opened).total_seconds()
        assert total <= watch.MAX_RATE * since_opening + watch.START_S + EPSILON


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=steps)
def test_no_window_earns_more_than_the_rate_allows(resident, studying, steps):
    lesson, other = studying()
    assert_bounded(*play(resident, lesson, other, steps))


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=steps)
def test_a_clock_stepping_back_earns_nothing_extra(resident, studying, steps):
    # Windows are measured on the bucket's clock (the latest moment it has seen): a clock
    # that goes back refills nothing until it has caught up again.
    lesson, other = studying()
    assert_bounded(*play(resident, lesson, other, steps, backwards=True))


def test_the_bounds_constants():
    assert watch.CAPACITY_S == watch.MAX_RATE * watch.HEARTBEAT_S + watch.SLACK_S == 33
    assert watch.START_S == 3
