"""Every write of the courses feature: courses, lessons and categories. Flush, never commit."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select, update

from lms.accounts import operations as accounts
from lms.accounts.models import OrgUnit, User
from lms.core import signals, storage
from lms.core.errors import Conflict, Forbidden, OperationError, field_error
from lms.core.jobs import after_commit
from lms.core.numbers import exact_hours
from lms.core.tasks import delete_media_file
from lms.core.text import clean_title, plain_text
from lms.core.time import utcnow
from lms.courses import access
from lms.courses.content import cover_files, sanitise_html, save_cover, save_picture
from lms.courses.models import Category, Course, CourseStatus, Lesson, LessonKind
from lms.extensions import db

MAX_HOURS = Decimal("999.9")


def _hours(value) -> Decimal:
    try:
        amount = Decimal(str(value)).quantize(Decimal("0.1"))
    except (InvalidOperation, ValueError, TypeError):
        raise field_error("hours", _("学时必须是数字")) from None
    if not amount.is_finite() or amount <= 0:
        raise field_error("hours", _("学时必须大于 0"))
    if amount > MAX_HOURS:
        raise field_error("hours", _("学时不能超过 %(n)s", n=MAX_HOURS))
    return amount


def _category(category: Category | None) -> Category:
    if category is None or not category.active:
        raise field_error("category", _("请选择有效的课程分类"))
    return category


def _summary(value: str | None) -> str:
    summary = sanitise_html(value).strip()
    if len(summary) > 20_000:
        raise field_error("summary", _("简介太长，请控制在 20000 字以内"))
    return summary


def create_course(
    teacher: User,
    *,
    title: str,
    summary: str,
    category: Category | None,
    hours,
    provider: OrgUnit | None = None,
    is_open: bool = False,
    cover=None,
) -> Course:
    """A draft course taught by *teacher* and provided by one of the teacher's units (the
    first one unless *provider* says which). Whether the caller may open courses at all is
    asked before, in access."""
    units = access.teacher_units(teacher)
    provider = provider or (units[0] if units else None)
    if provider is None or not any(unit.id == provider.id for unit in units):
        raise Forbidden(_("只能以自己任教的单位开设课程"))
    course = Course(
        title=clean_title(title),
        summary=_summary(summary),
        category=_category(category),
        hours=_hours(hours),
        provider=provider,
        created_by=teacher,
        teachers=[teacher],
        status=CourseStatus.DRAFT,
        is_open=is_open,
    )
    if cover is not None:
        course.cover = _store_cover(cover)
    db.session.add(course)
    db.session.flush()
    return course


def update_course(
    course: Course,
    *,
    title: str,
    summary: str,
    category: Category | None,
    hours,
    is_open: bool | None = None,
    cover=None,
) -> Course:
    ensure_editable(course)
    course.title, course.summary = clean_title(title), _summary(summary)
    course.category, course.hours = _category(category), _hours(hours)
    if is_open is not None:
        course.is_open = is_open
    if cover is not None:
        old, course.cover = course.cover, _store_cover(cover)
        if old:
            for relative in cover_files(old):
                after_commit(db.session, delete_media_file, relative)
    db.session.flush()
    signals.course_changed.send(course)
    return course


def _store_cover(stream) -> str:
    relative = save_cover(stream)
    for written in cover_files(relative):
        storage.discard_on_rollback(db.session, written)
    return relative


def publish_course(course: Course) -> Course:
    if course.status is CourseStatus.PUBLISHED:
        return course
    if course.status is CourseStatus.ARCHIVED:
        raise Conflict(_("已归档的课程不能重新发布"))
    if not course.lessons:
        raise OperationError(_("课程至少要有一节课才能发布"), status=409, code="conflict")
    course.status = CourseStatus.PUBLISHED
    course.published_at = course.published_at or utcnow()
    db.session.flush()
    signals.course_published.send(course)
    return course


def unpublish_course(course: Course) -> Course:
    """Back to draft (the provider unit's administrators take a course down this way)."""
    if course.status is not CourseStatus.PUBLISHED:
        raise Conflict(_("课程未处于发布状态"))
    return _take_down(course, CourseStatus.DRAFT)


def archive_course(course: Course) -> Course:
    """Archived courses leave the catalogue; enrolled residents keep their records."""
    if course.status is CourseStatus.ARCHIVED:
        raise Conflict(_("课程已归档"))
    return _take_down(course, CourseStatus.ARCHIVED)


def _take_down(course: Course, status: CourseStatus) -> Course:
    course.status = status
    db.session.flush()
    signals.course_unpublished.send(course)
    return course


# Certified hours (课程学时认定) ----------------------------------------------------------------


def hours_margin() -> Decimal:
    """How far above the measured content hours may be certified without a written reason."""
    return Decimal(str(current_app.config["LMS_HOURS_MARGIN"]))


def certify_course_hours(
    registrar: User,
    course: Course,
    *,
    hours,
    measured_hours: Decimal,
    reason: str | None = None,
    measured: dict | None = None,
) -> Course:
    """A registrar certifies the 学时 a course earns credits on, once, against what it contains
    (*measured_hours*: video minutes and reading time, measured by the caller). Hours above the
    measured content by more than the margin need a written reason, which is kept with the
    course and in the audit trail. Whether *registrar* acts for the provider's unit is asked
    before, in access; who may never certify (the course's teachers and author) is decided here.
    """
    if registrar.id == course.created_by_id or any(t.id == registrar.id for t in course.teachers):
        raise Forbidden(_("您是这门课程的开设者或授课教师，不能认定它的学时"))
    if course.certified_hours is not None:
        raise Conflict(_("这门课程的学时已经认定过了，不能重复认定"))
    amount = exact_hours(hours, maximum=MAX_HOURS, too_many=_("学时不能超过 %(n)s", n=MAX_HOURS))
    reason = " ".join((reason or "").split())
    if len(reason) > 500:
        raise field_error("reason", _("理由不能超过 500 个字"))
    ceiling = (Decimal(measured_hours) * (1 + hours_margin())).quantize(Decimal("0.1"))
    if amount > ceiling and len(reason) < 2:
        raise field_error(
            "reason",
            _(
                "认定的 %(hours)s 学时超过实测内容 %(measured)s 学时较多（上限 %(ceiling)s），"
                "请写明理由",
                hours=amount,
                measured=Decimal(measured_hours).quantize(Decimal("0.1")),
                ceiling=ceiling,
            ),
        )
    now = utcnow()
    # One conditional UPDATE decides, so two registrars (or a double tap re-run after a
    # conflict) cannot both certify.
    result = db.session.execute(
        update(Course)
        .where(Course.id == course.id, Course.certified_hours.is_(None))
        .values(
            certified_hours=amount,
            hours_certified_at=now,
            hours_certified_by_id=registrar.id,
            hours_certification_reason=reason or None,
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise Conflict(_("这门课程的学时已经认定过了，不能重复认定"))
    db.session.refresh(course)
    accounts.audit(
        registrar,
        "course_hours_certified",
        target=course,
        hours=str(amount),
        declared_hours=str(course.hours),
        measured_hours=str(Decimal(measured_hours).quantize(Decimal("0.1"))),
        measured=measured or {},
        margin=str(hours_margin()),
        reason=reason,
    )
    db.session.flush()
    return course


# Lessons ------------------------------------------------------------------------------------


def add_picture(course: Course, stream) -> tuple[str, int, int]:
    """Store a picture for *course*'s lesson texts (checked and shrunk by content.save_picture);
    its relative path and size. The lesson's body refers to it by its address; the file goes
    again when the request's transaction rolls back."""
    ensure_editable(course)
    relative, width, height = save_picture(stream)
    storage.discard_on_rollback(db.session, relative)
    return relative, width, height


def ensure_editable(course: Course) -> None:
    if course.status is CourseStatus.ARCHIVED:
        raise Conflict(_("已归档的课程不能再修改"))


def _lesson_body(value: str | None) -> str:
    body = sanitise_html(value).strip()
    if not plain_text(body) and "<img" not in body:
        raise field_error("body", _("请填写课时内容"))
    if len(body) > 200_000:
        raise field_error("body", _("课时内容太长"))
    return body


def add_lesson(
    course: Course,
    *,
    title: str,
    kind: LessonKind = LessonKind.TEXT,
    body: str = "",
    required: bool = True,
    duration_s: int | None = None,
) -> Lesson:
    """Append a lesson. Text lessons need a body; video and document lessons carry a file,
    which the media feature links to the lesson."""
    ensure_editable(course)
    body = _lesson_body(body) if kind is LessonKind.TEXT else sanitise_html(body).strip()
    position = (
        db.session.scalar(select(func.max(Lesson.position)).where(Lesson.course_id == course.id))
        or 0
    ) + 1
    lesson = Lesson(
        course=course,
        title=clean_title(title),
        kind=kind,
        body=body,
        required=required,
        position=position,
        duration_s=duration_s,
    )
    db.session.add(lesson)
    db.session.flush()
    signals.course_changed.send(course)
    return lesson


def add_text_lesson(course: Course, *, title: str, body: str, required: bool = True) -> Lesson:
    return add_lesson(course, title=title, body=body, required=required)


def update_text_lesson(lesson: Lesson, *, title: str, body: str, required: bool) -> Lesson:
    ensure_editable(lesson.course)
    body = _lesson_body(body)
    lesson.title, lesson.body, lesson.required = clean_title(title), body, required
    db.session.flush()
    signals.course_changed.send(lesson.course)
    return lesson


def delete_lesson(lesson: Lesson) -> None:
    course = lesson.course
    if course.status is not CourseStatus.DRAFT:
        raise Conflict(_("已发布的课程不能删除课时，请先撤回为草稿"))
    course.lessons.remove(lesson)
    _renumber(course)
    signals.course_changed.send(course)


def move_lesson(lesson: Lesson, offset: int) -> None:
    """Move *lesson* up (-1) or down (+1) among its course's lessons."""
    ensure_editable(lesson.course)
    lessons = list(lesson.course.lessons)
    index = lessons.index(lesson)
    target = index + offset
    if 0 <= target < len(lessons):
        lessons[index], lessons[target] = lessons[target], lessons[index]
        for position, item in enumerate(lessons, start=1):
            item.position = position
        db.session.flush()


def _renumber(course: Course) -> None:
    db.session.flush()
    for position, item in enumerate(sorted(course.lessons, key=lambda x: x.position), start=1):
        item.position = position
    db.session.flush()


# Categories ---------------------------------------------------------------------------------


def create_category(name: str) -> Category:
    name = " ".join(plain_text(name).split())
    if not name or len(name) > 40:
        raise field_error("name", _("分类名称应为 1 到 40 个字"))
    if db.session.scalar(select(Category.id).filter_by(name=name)):
        raise Conflict(_("已有同名分类"), fields={"name": [_("已有同名分类")]})
    position = (db.session.scalar(select(func.max(Category.position))) or 0) + 1
    category = Category(name=name, position=position)
    db.session.add(category)
    db.session.flush()
    return category


def update_category(category: Category, *, name: str, active: bool) -> Category:
    name = " ".join(plain_text(name).split())
    if not name or len(name) > 40:
        raise field_error("name", _("分类名称应为 1 到 40 个字"))
    clash = db.session.scalar(
        select(Category.id).where(Category.name == name, Category.id != category.id)
    )
    if clash:
        raise Conflict(_("已有同名分类"), fields={"name": [_("已有同名分类")]})
    category.name, category.active = name, active
    db.session.flush()
    for course in db.session.scalars(select(Course).filter_by(category=category)):
        signals.course_changed.send(course)
    return category
