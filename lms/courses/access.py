"""Who may see and change courses; web pages and the API ask the same questions here."""

from __future__ import annotations

from flask import abort
from sqlalchemy import ColumnElement, or_, select

from lms.accounts import access as accounts_access
from lms.accounts.models import OrgUnit, Role, User
from lms.courses.models import Course, CourseStatus, Lesson, course_teacher
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


def get_course_or_404(course_id: int, user: User, *, for_edit: bool = False) -> Course:
    course = db.session.get(Course, course_id)
    if course is None or not can_view_course(user, course):
        abort(404)
    if for_edit and not can_edit_course(user, course):
        abort(403)
    return course


def get_lesson_or_404(lesson_id: int, user: User, *, for_edit: bool = False) -> Lesson:
    lesson = db.session.get(Lesson, lesson_id)
    if lesson is None:
        abort(404)
    get_course_or_404(lesson.course_id, user, for_edit=for_edit)
    return lesson
