"""Who may see and change courses; web pages and the API ask the same questions here."""

from __future__ import annotations

from flask import abort
from flask_babel import gettext as _
from sqlalchemy import ColumnElement, or_, select

from lms.accounts import access as accounts_access
from lms.accounts.models import OrgUnit, Role, User
from lms.courses.models import Category, Course, CourseStatus, Lesson, course_teacher
from lms.extensions import db


def teacher_units(user: User) -> list[OrgUnit]:
    return accounts_access.grant_units(user, Role.TEACHER)


def can_create_course(user: User) -> bool:
    return bool(teacher_units(user))


def can_edit_course(user: User, course: Course) -> bool:
    if not user.is_authenticated:
        return False
    return any(
        teacher.id == user.id for teacher in course.teachers
    ) or accounts_access.has_role_over(user, Role.ADMIN, course.provider)


def can_view_course(user: User, course: Course) -> bool:
    return course.status is not CourseStatus.DRAFT or can_edit_course(user, course)


def can_unpublish_course(user: User, course: Course) -> bool:
    return accounts_access.has_role_over(user, Role.ADMIN, course.provider)


def can_manage_categories(user: User) -> bool:
    return accounts_access.is_county_admin(user)


def editable_courses_condition(user: User) -> ColumnElement[bool]:
    """SQL: the courses *user* teaches or administers."""
    teaches = Course.id.in_(
        select(course_teacher.c.course_id).where(course_teacher.c.user_id == user.id)
    )
    admin_scopes = accounts_access.grant_units(user, Role.ADMIN)
    administers = Course.provider_id.in_(
        select(OrgUnit.id).where(accounts_access.within(admin_scopes, OrgUnit.path))
    )
    return or_(teaches, administers)


def ensure_can_create_course(user: User) -> None:
    """Only teachers open courses; anyone else is refused (403) before anything is written."""
    if not can_create_course(user):
        abort(403, _("只有教师可以开设课程"))


def get_course_or_404(course_id: int, user: User, *, for_edit: bool = False) -> Course:
    """The course, if *user* may see it (else 404) and, *for_edit*, change it (else 403).
    The same loader serves pages and the API (where the abort becomes the error JSON)."""
    course = db.session.get(Course, course_id)
    if course is None or not can_view_course(user, course):
        abort(404)
    if for_edit and not can_edit_course(user, course):
        abort(403, _("您不能修改这门课程"))
    return course


def get_lesson_or_404(lesson_id: int, user: User, *, for_edit: bool = False) -> Lesson:
    """The lesson, if *user* may see its course (and, *for_edit*, change it)."""
    lesson = db.session.get(Lesson, lesson_id)
    if lesson is None:
        abort(404)
    get_course_or_404(lesson.course_id, user, for_edit=for_edit)
    return lesson


def ensure_can_manage_categories(user: User) -> None:
    if not can_manage_categories(user):
        abort(403)


def get_category_or_404(category_id: int, user: User) -> Category:
    """A category, for the county administrators who keep the list (others get 403)."""
    ensure_can_manage_categories(user)
    category = db.session.get(Category, category_id)
    if category is None:
        abort(404)
    return category
