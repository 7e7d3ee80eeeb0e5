"""Reading the catalogue: one query builder for the web page and the API."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal

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


# The credits a course earns are the credit bank's figure (its conversion rules applied to the
# certified 学时). The credit bank, which depends on courses and not the other way round, gives
# the catalogue its one function for it, so the pages, the API and the ledger share it.
def _no_credits(course: Course) -> Decimal | None:
    return None


_credit_figure: Callable[[Course], Decimal | None] = _no_credits


def register_credit_figure(figure: Callable[[Course], Decimal | None]) -> None:
    global _credit_figure
    _credit_figure = figure


def course_credits(course: Course) -> Decimal | None:
    """The credits *course* earns, or None while its 学时 await certification (学时待认定)."""
    if course.certified_hours is None:
        return None
    return _credit_figure(course)
