"""Every write of the learning feature. Flush, never commit."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any, NamedTuple

from flask_babel import gettext as _
from sqlalchemy import and_, bindparam, exists, select, update
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.orm.util import identity_key

from lms.accounts.models import ApiToken, User
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


class Beat(NamedTuple):
    """What a heartbeat leaves: the figures the player is answered with."""

    progress_id: int
    duration_s: int
    watched_s: float
    completed: bool
    resume_position_s: float
    # What of the report the record does not hold yet (played faster than the bucket credits,
    # as the server sees the time): the player reports it again a little later.
    uncounted_s: float


@functools.cache
def heartbeat_statements(by: str = "user"):
    """The heartbeat's three statements, built once (building them costs more than running).
    The read finds the resident *by* ``user_id`` (signed in already); by ``token_hash``, the
    SHA-256 of an API token, adding the token's and the account's standing; or by the visit
    (``visit_id``), adding the standing of the account that opened it (the last two for
    :mod:`lms.learning.beats`)."""
    lesson, course = Lesson.__table__, Course.__table__
    enrolment, progress, visit = (
        Enrolment.__table__,
        LessonProgress.__table__,
        LessonVisit.__table__,
    )
    token, user = ApiToken.__table__, User.__table__
    joined = lesson.join(course, course.c.id == lesson.c.course_id)
    the_visit = and_(visit.c.id == bindparam("visit_id"), visit.c.lesson_id == lesson.c.id)
    account = (user.c.active.label("user_active"), user.c.must_change_password)
    if by == "token":
        user_id = token.c.user_id
        joined = joined.join(token, token.c.token_hash == bindparam("token_hash"))
        joined = joined.join(user, user.c.id == user_id)
        standing = (
            user_id,
            token.c.expires_at.label("token_expires_at"),
            token.c.revoked_at.label("token_revoked_at"),
            *account,
        )
    elif by == "visit":
        user_id = visit.c.user_id
        joined = joined.join(visit, the_visit).join(user, user.c.id == user_id)
        standing = (user_id, user.c.session_nonce, *account)
    else:
        user_id, standing = bindparam("user_id"), ()
    joined = joined.outerjoin(
        enrolment,
        and_(enrolment.c.course_id == lesson.c.course_id, enrolment.c.user_id == user_id),
    ).outerjoin(progress, and_(progress.c.lesson_id == lesson.c.id, progress.c.user_id == user_id))
    if by != "visit":
        joined = joined.outerjoin(visit, and_(the_visit, visit.c.user_id == user_id))
    read = (
        select(
            lesson.c.kind,
            lesson.c.duration_s,
            course.c.status,
            course.c.completion_threshold,
            enrolment.c.id.label("enrolment_id"),
            enrolment.c.withdrawn_at,
            progress.c.id.label("progress_id"),
            *(progress.c[name] for name in PROGRESS_READ),
            visit.c.started_at,
            visit.c.last_heartbeat_at.label("visit_heartbeat_at"),
            *standing,
        )
        .select_from(joined)
        .where(lesson.c.id == bindparam("lesson_id"))
    )
    write_progress = (
        progress.update()
        .where(progress.c.id == bindparam("old_id"), progress.c.version == bindparam("old_version"))
        .values(
            {
                name: bindparam(f"new_{name}", type_=progress.c[name].type)
                for name in PROGRESS_WRITTEN
            }
        )
    )
    write_visit = visit.update().where(visit.c.id == bindparam("old_id")).values(_visit_changes())
    return read, write_progress, write_visit


@functools.cache
def heartbeat_write_both():
    """The heartbeat's two UPDATEs as one statement, for PostgreSQL (a data-modifying WITH):
    the visit changes only if the progress did, so one row counted means both. Parameters:
    the progress's, and the visit's with its id as ``visit_old_id`` (:func:`both_params`)."""
    _read, write_progress, _write_visit = heartbeat_statements()
    progress, visit = LessonProgress.__table__, LessonVisit.__table__
    written = write_progress.returning(progress.c.id).cte("progress_written")
    return (
        visit.update()
        .where(visit.c.id == bindparam("visit_old_id"), exists(select(written.c.id)))
        .values(_visit_changes())
    )


def both_params(credit: Credit) -> dict[str, Any]:
    visit = dict(credit.visit)
    visit["visit_old_id"] = visit.pop("old_id")
    return {**credit.progress, **visit}


def _visit_changes() -> dict[str, Any]:
    """What a heartbeat changes of its visit."""
    visit = LessonVisit.__table__
    return {
        "last_heartbeat_at": bindparam("new_at", type_=visit.c.last_heartbeat_at.type),
        "position_s": bindparam("new_position_s", type_=visit.c.position_s.type),
        "credited_s": visit.c.credited_s + bindparam("credited", type_=visit.c.credited_s.type),
        "heartbeats": visit.c.heartbeats + 1,
    }


# What a heartbeat reads of the progress row, and what it changes.
PROGRESS_READ = ("version", "intervals", "budget_s", "budget_at", "completed_at")
PROGRESS_WRITTEN = (
    "budget_s",
    "budget_at",
    "intervals",
    "watched_s",
    "resume_position_s",
    "last_heartbeat_at",
    "version",
)


def heartbeat(
    user: User,
    lesson_id: int,
    *,
    visit_id: int,
    position_s: float,
    segments: object,
    rate: float = 1.0,
    now: datetime | None = None,
    drafts: bool = False,
) -> Beat | None:
    """Apply law 4 (see :mod:`lms.learning.watch`): clip and merge the played intervals and
    credit new coverage no faster than the resident's bucket for this lesson allows (shared by
    every tab, visit and retry), nor faster than *rate* allows since this visit's previous
    heartbeat. A visit that is unknown, another resident's, another lesson's or that starts
    after *now* is refused, and nothing is recorded.

    None when there is no such lesson or (unless *drafts*) its course is a draft: whether the
    user may see it then is the courses' rule (the caller asks it, then calls again with
    *drafts*); any other course is seen by everybody.

    The busiest write of the site, so it does what law 4 needs and no more, in SQL statements
    built once: one read (lesson, course, enrolment, progress and visit together), then one
    conditional UPDATE of the progress (``WHERE version =`` the version read: a racing
    heartbeat of another tab makes it match nothing, a conflict the request retries) and one of
    the visit. On SQLite the read runs before the write lock is taken, which is then held only
    for the two UPDATEs and the commit. (:mod:`lms.learning.beats` runs the same steps for a
    player's heartbeat past the rest of the request's machinery.)"""
    read, _write_progress, _write_visit = heartbeat_statements()
    session = db.session()
    connection = session.connection()
    row = connection.execute(
        read, {"lesson_id": lesson_id, "visit_id": visit_id, "user_id": user.id}
    ).first()
    if row is None or (row.status is CourseStatus.DRAFT and not drafts):
        return None
    now = now or utcnow()
    reported = check_heartbeat(row, position_s=position_s, segments=segments, rate=rate, now=now)
    if row.progress_id is None:  # the lesson's page was never opened: the progress starts now
        made = _progress(user, session.get(Lesson, lesson_id), now)
        state = (made.id, *(getattr(made, name) for name in PROGRESS_READ))
    else:
        state = progress_state(row)
    credit = credit_heartbeat(
        row, state, reported, visit_id=visit_id, position_s=position_s, rate=rate, now=now
    )
    write_heartbeat(connection, credit)
    # Copies this session holds are read afresh when next asked (tests, commands).
    identity = session.identity_map
    for model, key in ((LessonProgress, credit.beat.progress_id), (LessonVisit, visit_id)):
        held = identity.get(identity_key(model, key))
        if held is not None:
            session.expire(held)
    if credit.completes:
        _complete(session.get(LessonProgress, credit.beat.progress_id), now)
    return credit.beat


def progress_state(row: Any) -> tuple:
    """The progress as the heartbeat's read found it: its id, then ``PROGRESS_READ``."""
    return (row.progress_id, *(getattr(row, name) for name in PROGRESS_READ))


def check_heartbeat(
    row: Any, *, position_s: float, segments: object, rate: float, now: datetime
) -> list[watch.Interval]:
    """The played intervals of a heartbeat, clipped and merged, once the heartbeat is known to
    be one the resident may send (*row*: what the heartbeat's read found); else the error."""
    duration = row.duration_s
    if row.kind is not LessonKind.VIDEO or not duration:
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
    if row.enrolment_id is None or row.withdrawn_at is not None:
        raise Forbidden(_("报名这门课程后才能记录学习进度"))
    if row.started_at is None:
        raise Conflict(_("找不到这次播放记录，请刷新页面后重新播放"), status=404, code="not_found")
    if row.started_at > now:
        raise Conflict(_("这次播放记录的开始时间不对，请刷新页面后重新播放"))
    return reported


class Credit(NamedTuple):
    """What a heartbeat changes (the two UPDATEs' parameters) and answers."""

    progress: dict[str, Any]
    visit: dict[str, Any]
    beat: Beat
    completes: bool  # the lesson becomes completed with this heartbeat


def credit_heartbeat(
    row: Any,
    state: tuple,
    reported: list[watch.Interval],
    *,
    visit_id: int,
    position_s: float,
    rate: float,
    now: datetime,
) -> Credit:
    """Law 4 for one checked heartbeat: the new coverage the bucket and the visit's pace allow.
    *state* is the progress as read (:func:`progress_state`)."""
    progress_id, version, intervals, budget_s, budget_at, completed_at = state
    duration = row.duration_s
    tokens, budget_at = watch.refill(budget_s, budget_at, now)
    last, started_at = row.visit_heartbeat_at, row.started_at
    since = max(last, started_at) if last else started_at
    budget = min(tokens, watch.allowance((now - since).total_seconds(), max_rate=rate))
    intervals, credited = watch.accept(intervals, reported, budget_s=budget)
    watched_s = round(watch.covered(intervals), 3)
    resume_position_s = round(min(position_s, float(duration)), 3)
    completes = (
        completed_at is None and watched_s >= row.completion_threshold / 100 * duration - 1e-6
    )
    return Credit(
        progress={
            "old_id": progress_id,
            "old_version": version,
            "new_budget_s": max(0.0, tokens - credited),
            "new_budget_at": budget_at,
            "new_intervals": intervals,
            "new_watched_s": watched_s,
            "new_resume_position_s": resume_position_s,
            "new_last_heartbeat_at": now,
            "new_version": version + 1,
        },
        visit={
            "old_id": visit_id,
            "new_at": max(now, since),
            "new_position_s": resume_position_s,
            "credited": credited,
        },
        beat=Beat(
            progress_id,
            duration,
            watched_s,
            completed_at is not None or completes,
            resume_position_s,
            round(watch.uncovered(intervals, reported), 3),
        ),
        completes=completes,
    )


def write_heartbeat(connection: Any, credit: Credit) -> None:
    """The heartbeat's two UPDATEs; a progress changed since it was read is a conflict."""
    _read, write_progress, write_visit = heartbeat_statements()
    if connection.execute(write_progress, credit.progress).rowcount != 1:
        raise StaleDataError("the lesson's progress changed since it was read")
    connection.execute(write_visit, credit.visit)


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
    """:func:`heartbeat` for a lesson already known to be visible; returns its progress."""
    beat = heartbeat(
        user,
        lesson.id,
        visit_id=visit_id,
        position_s=position_s,
        segments=segments,
        rate=rate,
        now=now,
        drafts=True,
    )
    if beat is None:  # the lesson was deleted since it was loaded
        raise Conflict(_("找不到该内容"), status=404, code="not_found")
    return db.session.get(LessonProgress, beat.progress_id)


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
