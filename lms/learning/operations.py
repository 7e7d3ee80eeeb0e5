"""Every write of the learning feature. Flush, never commit."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from lms.accounts.models import User
from lms.core import signals
from lms.core.errors import Conflict
from lms.core.time import utcnow
from lms.courses.models import Course, CourseStatus
from lms.extensions import db
from lms.learning.models import Enrolment


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
