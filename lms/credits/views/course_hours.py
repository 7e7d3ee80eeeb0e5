"""课程学时认定: registrars see the courses in their scope whose 学时 wait to be certified, with
what each actually contains beside the claim, and certify them."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from lms.core.forms import attempt
from lms.courses.models import Course
from lms.courses.operations import hours_margin
from lms.credits import access, bp, operations
from lms.credits.forms import CourseHoursForm


def _form(course: Course) -> CourseHoursForm:
    return CourseHoursForm(prefix=f"course-{course.id}")


def _page(failed: tuple[Course, CourseHoursForm] | None = None, status: int = 200):
    access.require_registrar(current_user)
    awaiting = access.courses_for_hours(current_user, certified=False)
    forms = {course.id: _form(course) for course in awaiting}
    if failed is not None:
        forms[failed[0].id] = failed[1]
        if failed[0] not in awaiting:  # certified meanwhile: say so above the list
            for message in failed[1].form_errors:
                flash(message, "error")
    html = render_template(
        "credits/course_hours.html",
        awaiting=awaiting,
        certified=access.courses_for_hours(current_user, certified=True, limit=50),
        measured={course.id: operations.measure_course(course) for course in awaiting},
        forms=forms,
        own={course.id for course in awaiting if _own(course)},
        margin=hours_margin(),
    )
    return html, status


def _own(course: Course) -> bool:
    """Courses the registrar created or teaches (the operation refuses them; the page says so
    instead of offering the form)."""
    return course.created_by_id == current_user.id or any(
        teacher.id == current_user.id for teacher in course.teachers
    )


@bp.get("/credits/course-hours")
@login_required
def course_hours():
    return _page()


@bp.post("/credits/course-hours/<int:course_id>/certify")
@login_required
def certify_course_hours(course_id: int):
    course = access.get_course_for_hours_or_404(course_id, current_user)
    form = _form(course)
    if form.validate_on_submit():
        done = _("“%(title)s”的学时已认定；已学完的居民随即获得学分", title=course.title)
        with attempt(form, done=done) as result:
            operations.certify_course_hours(
                current_user, course, hours=form.hours.data, reason=form.reason.data
            )
        if result.ok:
            return redirect(url_for("credits.course_hours"))
        return _page((course, form), status=result.error.status)
    return _page((course, form), status=422)
