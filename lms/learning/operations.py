"""Every write of the learning feature. Flush, never commit."""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from lms.accounts.models import User
from lms.core import signals
from lms.core.errors import Conflict, Forbidden, field_error
from lms.core.time import utcnow
from lms.courses.models import Course, CourseStatus, Lesson, LessonKind
from lms.extensions import db
from lms.learning import watch
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
        db.session.add(enrolment)
        try:
            with db.session.begin_nested():
                db.session.flush()
        except IntegrityError:
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


def _progress(user: User, lesson: Lesson) -> LessonProgress:
    progress = progress_for(user, lesson)
    if progress is None:
        progress = LessonProgress(
            user=user, lesson=lesson, intervals=[], watched_s=0.0, resume_position_s=0.0
        )
        db.session.add(progress)
        try:
            with db.session.begin_nested():
                db.session.flush()
        except IntegrityError:
            progress = progress_for(user, lesson)  # another tab made it first
    return progress


def _require_enrolment(user: User, lesson: Lesson) -> Enrolment:
    enrolment = find_enrolment(user, lesson.course)
    if enrolment is None or not enrolment.active:
        raise Forbidden(_("报名这门课程后才能记录学习进度"))
    return enrolment


def open_lesson(user: User, lesson: Lesson) -> LessonProgress | None:
    """Note that an enrolled resident opened *lesson* (a text or document lesson can then be
    marked learnt). Not enrolled: nothing is recorded."""
    enrolment = find_enrolment(user, lesson.course)
    if enrolment is None or not enrolment.active:
        return None
    progress = _progress(user, lesson)
    if progress.opened_at is None:
        progress.opened_at = utcnow()
        db.session.flush()
    return progress


def start_visit(user: User, lesson: Lesson) -> LessonVisit:
    """A playback session of a video lesson."""
    _require_enrolment(user, lesson)
    if lesson.kind is not LessonKind.VIDEO:
        raise Conflict(_("只有视频课时需要播放记录"))
    visit = LessonVisit(user=user, lesson=lesson, started_at=utcnow())
    db.session.add(visit)
    open_lesson(user, lesson)
    db.session.flush()
    return visit


def find_visit(user: User, lesson: Lesson, visit_id: int) -> LessonVisit | None:
    visit = db.session.get(LessonVisit, visit_id)
    if visit is None or visit.user_id != user.id or visit.lesson_id != lesson.id:
        return None
    return visit


def record_heartbeat(
    user: User,
    lesson: Lesson,
    visit: LessonVisit,
    *,
    position_s: float,
    segments: object,
    now: datetime | None = None,
) -> LessonProgress:
    """Apply law 4: clip and merge the played intervals, crediting no more new coverage than
    the wall-clock time since this user's previous heartbeat for the lesson (in any tab or
    visit) allows at the fastest playback rate."""
    _require_enrolment(user, lesson)
    duration = lesson.duration_s
    if lesson.kind is not LessonKind.VIDEO or not duration:
        raise Conflict(_("这个视频还没有准备好"))
    try:
        reported = watch.clean(segments, float(duration))
    except watch.BadSegments:
        raise field_error("segments", _("播放区间格式不正确")) from None
    if not 0 <= position_s <= duration + 1:
        raise field_error("position_s", _("播放位置超出了视频长度"))
    now = now or utcnow()
    progress = _progress(user, lesson)
    reference = max(moment for moment in (progress.last_heartbeat_at, visit.started_at) if moment)
    budget = watch.allowance((now - reference).total_seconds())
    intervals, credited = watch.accept(
        [tuple(i) for i in progress.intervals], reported, budget_s=budget
    )
    progress.intervals = [list(interval) for interval in intervals]
    progress.watched_s = round(watch.covered(intervals), 3)
    progress.resume_position_s = round(min(position_s, float(duration)), 3)
    progress.last_heartbeat_at = now
    visit.last_heartbeat_at, visit.position_s = now, progress.resume_position_s
    visit.credited_s += credited
    visit.heartbeats += 1
    threshold = lesson.course.completion_threshold / 100
    if progress.completed_at is None and progress.watched_s >= threshold * duration - 1e-6:
        _complete(progress, now)
    db.session.flush()
    return progress


def mark_learnt(user: User, lesson: Lesson) -> LessonProgress:
    """A text or document lesson is learnt once the resident has opened it and says so."""
    _require_enrolment(user, lesson)
    if lesson.kind is LessonKind.VIDEO:
        raise Conflict(_("视频课时看完后会自动完成"))
    progress = progress_for(user, lesson)
    if progress is None or progress.opened_at is None:
        raise Conflict(_("请先打开这一课再标记学完"))
    if progress.completed_at is None:
        _complete(progress, utcnow())
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
