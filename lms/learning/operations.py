"""Every write of the learning feature. Flush, never commit."""

from __future__ import annotations

import functools
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import and_, bindparam, select, update
from sqlalchemy.orm import attributes
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.orm.util import identity_key

from lms.accounts.models import User
from lms.core import signals
from lms.core.errors import Conflict, Forbidden, field_error
from lms.core.rows import add_unique
from lms.core.time import utcnow
from lms.courses.models import Course, CourseStatus, Lesson, LessonKind
from lms.extensions import db
from lms.learning import reading, watch
from lms.learning.models import Enrolment, LessonProgress, LessonVisit


def find_enrolment(user: User, course: Course) -> Enrolment | None:
    return db.session.scalar(select(Enrolment).filter_by(user_id=user.id, course_id=course.id))


def enrol(user: User, course: Course) -> tuple[Enrolment, bool]:
    """Enrol *user* in *course*. Returns the enrolment and whether it is new (or renewed);
    enrolling twice returns the existing enrolment."""
    if course.status is not CourseStatus.PUBLISHED:
        raise Conflict(_("该课程尚未发布或已下架，暂不能报名"))
    enrolment = find_enrolment(user, course)
    if enrolment is not None and enrolment.active:
        return enrolment, False
    if enrolment is None:
        enrolment = Enrolment(user=user, course=course)
        if not add_unique(enrolment):
            # A parallel request (a double tap) enrolled first: theirs stands.
            return find_enrolment(user, course), False
    else:
        enrolment.withdrawn_at = None
        enrolment.enrolled_at = utcnow()
    course.enrolment_count = Course.enrolment_count + 1
    db.session.flush()
    signals.enrolled.send(enrolment)
    return enrolment, True


def withdraw(user: User, course: Course) -> None:
    """Leave *course*. The row stays, so the learning record is kept if the resident returns."""
    enrolment = find_enrolment(user, course)
    if enrolment is None or not enrolment.active:
        raise Conflict(_("您没有报名这门课程"), status=404, code="not_found")
    enrolment.withdrawn_at = utcnow()
    course.enrolment_count = Course.enrolment_count - 1
    db.session.flush()
    signals.withdrawn.send(enrolment)


# Lessons: opening, watching, completing ------------------------------------------------------


def progress_for(user: User, lesson: Lesson) -> LessonProgress | None:
    return db.session.scalar(select(LessonProgress).filter_by(user_id=user.id, lesson_id=lesson.id))


def _progress(user: User, lesson: Lesson, now: datetime) -> LessonProgress:
    progress = progress_for(user, lesson)
    if progress is None:
        # The watch-time bucket starts nearly empty: a burst right after opening earns little.
        progress = LessonProgress(
            user=user,
            lesson=lesson,
            intervals=[],
            watched_s=0.0,
            resume_position_s=0.0,
            budget_s=watch.START_S,
            budget_at=now,
        )
        if not add_unique(progress):
            progress = progress_for(user, lesson)  # another tab made it first
    return progress


def _require_enrolment(user: User, lesson: Lesson) -> Enrolment:
    enrolment = find_enrolment(user, lesson.course)
    if enrolment is None or not enrolment.active:
        raise Forbidden(_("报名这门课程后才能记录学习进度"))
    return enrolment


def open_lesson(
    user: User, lesson: Lesson, *, now: datetime | None = None
) -> LessonProgress | None:
    """Note that an enrolled resident opened *lesson*: the reading time of a text or document
    lesson and the watch-time bucket count from the first opening. Not enrolled: nothing is
    recorded."""
    enrolment = find_enrolment(user, lesson.course)
    if enrolment is None or not enrolment.active:
        return None
    now = now or utcnow()
    progress = _progress(user, lesson, now)
    if progress.opened_at is None:
        progress.opened_at = now
        db.session.flush()
    return progress


def start_visit(user: User, lesson: Lesson, *, now: datetime | None = None) -> LessonVisit:
    """A playback session of a video lesson."""
    _require_enrolment(user, lesson)
    if lesson.kind is not LessonKind.VIDEO:
        raise Conflict(_("只有视频课时需要播放记录"))
    now = now or utcnow()
    visit = LessonVisit(user=user, lesson=lesson, started_at=now)
    db.session.add(visit)
    open_lesson(user, lesson, now=now)
    db.session.flush()
    return visit


@functools.cache
def _heartbeat_statements():
    """The heartbeat's three statements, built once (building them costs more than running)."""
    visit, progress = LessonVisit.__table__, LessonProgress.__table__
    read = (
        select(
            Enrolment.withdrawn_at.is_not(None),
            LessonProgress,
            visit.c.started_at,
            visit.c.last_heartbeat_at,
        )
        .select_from(Enrolment)
        .outerjoin(
            LessonProgress,
            and_(
                LessonProgress.user_id == Enrolment.user_id,
                LessonProgress.lesson_id == bindparam("lesson_id"),
            ),
        )
        .outerjoin(
            visit,
            and_(
                visit.c.id == bindparam("visit_id"),
                visit.c.user_id == Enrolment.user_id,
                visit.c.lesson_id == bindparam("lesson_id"),
            ),
        )
        .where(
            Enrolment.user_id == bindparam("user_id"),
            Enrolment.course_id == bindparam("course_id"),
        )
        .execution_options(populate_existing=True)
    )
    write_progress = (
        progress.update()
        .where(progress.c.id == bindparam("old_id"), progress.c.version == bindparam("old_version"))
        .values({name: bindparam(f"new_{name}", type_=progress.c[name].type) for name in _WRITTEN})
    )
    write_visit = (
        visit.update()
        .where(visit.c.id == bindparam("old_id"))
        .values(
            last_heartbeat_at=bindparam("new_at", type_=visit.c.last_heartbeat_at.type),
            position_s=bindparam("new_position_s", type_=visit.c.position_s.type),
            credited_s=visit.c.credited_s + bindparam("credited", type_=visit.c.credited_s.type),
            heartbeats=visit.c.heartbeats + 1,
        )
    )
    return read, write_progress, write_visit


# What a heartbeat changes in the progress row.
_WRITTEN = (
    "budget_s",
    "budget_at",
    "intervals",
    "watched_s",
    "resume_position_s",
    "last_heartbeat_at",
    "version",
)


def _heartbeat_rows(user: User, lesson: Lesson, visit_id: int):
    """The resident's enrolment (whether active), progress and (their own, this lesson's)
    visit in one read: ``(withdrawn, progress, visit started at, visit's last heartbeat)``, or
    None when not enrolled. The progress is read afresh (a copy in the session may be old)."""
    return db.session.execute(
        _heartbeat_statements()[0],
        {
            "lesson_id": lesson.id,
            "visit_id": visit_id,
            "user_id": user.id,
            "course_id": lesson.course_id,
        },
    ).first()


def record_heartbeat(
    user: User,
    lesson: Lesson,
    *,
    visit_id: int,
    position_s: float,
    segments: object,
    rate: float = 1.0,
    now: datetime | None = None,
) -> LessonProgress:
    """Apply law 4 (see :mod:`lms.learning.watch`): clip and merge the played intervals and
    credit new coverage no faster than the resident's bucket for this lesson allows (shared by
    every tab, visit and retry), nor faster than *rate* allows since this visit's previous
    heartbeat. A visit that is unknown, another resident's, another lesson's or that starts
    after *now* is refused, and nothing is recorded.

    The busiest write of the site: one read (enrolment, progress and visit together), then one
    conditional UPDATE of the progress (``WHERE version = `` the version read; a racing
    heartbeat of another tab makes it match nothing, a conflict the request retries) and one of
    the visit, so the write lock is held only for the two statements and the commit."""
    duration = lesson.duration_s
    if lesson.kind is not LessonKind.VIDEO or not duration:
        raise Conflict(_("这个视频还没有准备好"))
    if not (isinstance(rate, int | float) and 0 < rate <= watch.MAX_RATE):
        raise field_error(
            "rate", _("播放速度应大于 0 且不超过 %(rate)s 倍", rate=f"{watch.MAX_RATE:g}")
        )
    try:
        reported = watch.clean(segments, float(duration))
    except watch.BadSegments:
        raise field_error("segments", _("播放区间格式不正确")) from None
    if not 0 <= position_s <= duration + 1:
        raise field_error("position_s", _("播放位置超出了视频长度"))
    now = now or utcnow()
    row = _heartbeat_rows(user, lesson, visit_id)
    if row is None or row[0]:
        raise Forbidden(_("报名这门课程后才能记录学习进度"))
    _withdrawn, progress, started_at, last_heartbeat_at = row
    if started_at is None:
        raise Conflict(_("找不到这次播放记录，请刷新页面后重新播放"), status=404, code="not_found")
    if started_at > now:
        raise Conflict(_("这次播放记录的开始时间不对，请刷新页面后重新播放"))
    if progress is None:
        progress = _progress(user, lesson, now)
    tokens, budget_at = watch.refill(progress.budget_s, progress.budget_at, now)
    since = max(last_heartbeat_at, started_at) if last_heartbeat_at else started_at
    budget = min(tokens, watch.allowance((now - since).total_seconds(), max_rate=rate))
    intervals, credited = watch.accept(
        [tuple(i) for i in progress.intervals], reported, budget_s=budget
    )
    changes = {
        "budget_s": max(0.0, tokens - credited),
        "budget_at": budget_at,
        "intervals": [list(interval) for interval in intervals],
        "watched_s": round(watch.covered(intervals), 3),
        "resume_position_s": round(min(position_s, float(duration)), 3),
        "last_heartbeat_at": now,
        "version": progress.version + 1,
    }
    _read, write_progress, write_visit = _heartbeat_statements()
    written = db.session.execute(
        write_progress,
        {
            "old_id": progress.id,
            "old_version": progress.version,
            **{f"new_{name}": value for name, value in changes.items()},
        },
    )
    if written.rowcount != 1:
        raise StaleDataError("the lesson's progress changed since it was read")
    for key, value in changes.items():
        attributes.set_committed_value(progress, key, value)
    db.session.execute(
        write_visit,
        {
            "old_id": visit_id,
            "new_at": max(now, since),
            "new_position_s": changes["resume_position_s"],
            "credited": credited,
        },
    )
    held = db.session.identity_map.get(identity_key(LessonVisit, visit_id))
    if held is not None:  # a copy in this session: read the new figures when next asked
        db.session.expire(held, ["last_heartbeat_at", "position_s", "credited_s", "heartbeats"])
    threshold = lesson.course.completion_threshold / 100
    if progress.completed_at is None and progress.watched_s >= threshold * duration - 1e-6:
        _complete(progress, now)
        db.session.flush()
    return progress


def mark_learnt(user: User, lesson: Lesson, *, now: datetime | None = None) -> LessonProgress:
    """A text or document lesson is learnt once the resident has had it open for its reading
    time (:func:`lms.learning.reading.reading_seconds`, from the first opening) and says so.
    Marking a learnt lesson again returns it unchanged."""
    _require_enrolment(user, lesson)
    if lesson.kind is LessonKind.VIDEO:
        raise Conflict(_("视频课时看完后会自动完成"))
    progress = progress_for(user, lesson)
    if progress is None or progress.opened_at is None:
        raise Conflict(_("请先打开这一课再标记学完"))
    if progress.completed_at is not None:
        return progress
    now = now or utcnow()
    remaining = reading.remaining_seconds(lesson, progress, now)
    if remaining > 0:
        minutes, seconds = divmod(remaining, 60)
        raise Conflict(
            _(
                "请再学习 %(minutes)s 分 %(seconds)s 秒后再标记学完",
                minutes=minutes,
                seconds=seconds,
            ),
            code="too_early",
        )
    _complete(progress, now)
    db.session.flush()
    return progress


def _complete(progress: LessonProgress, now: datetime) -> None:
    progress.completed_at = now
    db.session.flush()
    course = progress.lesson.course
    required = [lesson.id for lesson in course.lessons if lesson.required]
    done = set(
        db.session.scalars(
            select(LessonProgress.lesson_id).where(
                LessonProgress.user_id == progress.user_id,
                LessonProgress.lesson_id.in_(required),
                LessonProgress.completed_at.is_not(None),
            )
        )
    )
    if set(required) <= done:
        # One conditional UPDATE decides, so retries and racing heartbeats signal exactly once.
        result = db.session.execute(
            update(Enrolment)
            .where(
                Enrolment.user_id == progress.user_id,
                Enrolment.course_id == course.id,
                Enrolment.completed_at.is_(None),
            )
            .values(completed_at=now)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:
            enrolment = find_enrolment(progress.user, course)
            db.session.refresh(enrolment)
            signals.course_completed.send(enrolment)
