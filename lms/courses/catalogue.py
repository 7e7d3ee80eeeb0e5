"""Reading the catalogue: one query builder for the web page and the API."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from sqlalchemy import Select, or_, select

from lms.accounts.models import OrgUnit
from lms.courses.models import Category, Course, CourseStatus

ORDERS = ("newest", "popular")


def catalogue_query(
    *,
    q: str = "",
    category_id: int | None = None,
    org_unit: OrgUnit | None = None,
    order: str = "newest",
) -> Select:
    """Published courses, filtered and ordered."""
    query = select(Course).where(Course.status == CourseStatus.PUBLISHED)
    if q:
        query = query.where(
            or_(
                Course.title.contains(q, autoescape=True),
                Course.summary.contains(q, autoescape=True),
            )
        )
    if category_id:
        query = query.where(Course.category_id == category_id)
    if org_unit is not None:
        query = query.join(Course.provider).where(
            OrgUnit.path.startswith(org_unit.path, autoescape=True)
        )
    if order == "popular":
        return query.order_by(
            Course.enrolment_count.desc(), Course.published_at.desc(), Course.id.desc()
        )
    return query.order_by(Course.published_at.desc(), Course.id.desc())


def active_categories() -> Select:
    return (
        select(Category).where(Category.active.is_(True)).order_by(Category.position, Category.id)
    )


# The learning feature (which depends on courses, not the other way round) tells the catalogue
# which courses a user is enrolled in.
def _no_enrolments(user: object, course_ids: list[int]) -> set[int]:
    return set()


_enrolment_lookup: Callable[[object, list[int]], set[int]] = _no_enrolments


def register_enrolment_lookup(lookup: Callable[[object, list[int]], set[int]]) -> None:
    global _enrolment_lookup
    _enrolment_lookup = lookup


def enrolled_course_ids(user, course_ids: Iterable[int]) -> set[int]:
    """The ids among *course_ids* of courses *user* is enrolled in."""
    ids = list(course_ids)
    if not ids or not getattr(user, "is_authenticated", False):
        return set()
    return _enrolment_lookup(user, ids)
