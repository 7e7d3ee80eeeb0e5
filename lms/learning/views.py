"""HTML views of learning: enrol and withdraw, 我的课程, studying a lesson."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from lms.core.forms import EmptyForm, attempt, require_form_token
from lms.courses.catalogue import register_enrolment_lookup
from lms.courses.models import Course, CourseStatus
from lms.extensions import db
from lms.learning import access, bp, operations, overview
from lms.learning.models import Enrolment
from lms.learning.serializers import lesson_detail


def _enrolled_ids(user, course_ids: list[int]) -> set[int]:
    return set(
        db.session.scalars(
            select(Enrolment.course_id).where(
                Enrolment.user_id == user.id,
                Enrolment.course_id.in_(course_ids),
                Enrolment.withdrawn_at.is_(None),
            )
        )
    )


register_enrolment_lookup(_enrolled_ids)


@bp.app_context_processor
def _enrolment_helpers():
    def course_progress(course):
        enrolment = access.active_enrolment(current_user, course)
        return overview.progress_of(current_user, course, enrolment) if enrolment else None

    return {
        "enrolment_for": lambda course: access.active_enrolment(current_user, course),
        "course_progress": course_progress,
    }


@bp.post("/courses/<int:course_id>/enrol")
@login_required
def enrol(course_id: int):
    course = access.get_course_for_enrolment_or_404(course_id)
    require_form_token()
    with attempt() as result:
        _enrolment, new = operations.enrol(current_user, course)
    if result.ok:
        flash(_("报名成功，开始学习吧！") if new else _("您已报名这门课程"), "success")
    return redirect(url_for("courses.course", course_id=course.id))


@bp.post("/courses/<int:course_id>/withdraw")
@login_required
def withdraw(course_id: int):
    course = access.get_course_for_enrolment_or_404(course_id)
    require_form_token()
    with attempt() as result:
        operations.withdraw(current_user, course)
    if result.ok:
        flash(_("已退出这门课程，学习记录仍会保留"), "info")
    return redirect(url_for("courses.course", course_id=course.id))


@bp.get("/me/courses")
@login_required
def my_courses():
    enrolments = db.session.scalars(
        select(Enrolment)
        .join(Enrolment.course)
        .where(
            Enrolment.user_id == current_user.id,
            Enrolment.withdrawn_at.is_(None),
            # a course taken back to draft is out of sight until it is published again
            Course.status != CourseStatus.DRAFT,
        )
        .order_by(Enrolment.enrolled_at.desc())
    ).all()
    return render_template(
        "learning/my_courses.html",
        enrolments=enrolments,
        progress=overview.progress_of_enrolments(current_user, enrolments),
    )


@bp.get("/lessons/<int:lesson_id>")
def lesson(lesson_id: int):
    lesson = access.get_lesson_or_404(lesson_id)
    if not access.can_study(current_user, lesson):
        if not current_user.is_authenticated:
            return redirect(
                url_for("accounts.sign_in", next=url_for("learning.lesson", lesson_id=lesson.id))
            )
        flash(_("请先报名这门课程再开始学习"), "info")
        return redirect(url_for("courses.course", course_id=lesson.course_id))
    progress = None
    if current_user.is_authenticated:
        progress = operations.open_lesson(current_user, lesson)
        db.session.commit()
    lessons = lesson.course.lessons
    index = lessons.index(lesson)
    detail = lesson_detail(lesson, progress)
    enrolment = access.active_enrolment(current_user, lesson.course)
    return render_template(
        "learning/lesson.html",
        lesson=lesson,
        course=lesson.course,
        previous=lessons[index - 1] if index > 0 else None,
        following=lessons[index + 1] if index + 1 < len(lessons) else None,
        progress=progress,
        enrolled=enrolment is not None,
        course_progress=(
            overview.progress_of(current_user, lesson.course, enrolment) if enrolment else None
        ),
        media=detail.media,
        captions_url=detail.captions_url,
        reading_s=detail.reading_s,
        reading_remaining_s=detail.reading_remaining_s,
        empty=EmptyForm(),
    )


@bp.post("/lessons/<int:lesson_id>/learnt")
@login_required
def learnt(lesson_id: int):
    lesson = access.get_lesson_or_404(lesson_id)
    require_form_token()
    with attempt(done=_("这一课已学完")):
        operations.mark_learnt(current_user, lesson)
    return redirect(url_for("learning.lesson", lesson_id=lesson.id))
