"""Search: a Whoosh index of the published courses, Chinese segmented with jieba.

Lower features know nothing of search; it listens to their signals and updates the index
after the transaction commits, through the job queue (DESIGN.md, law 2).
"""

from flask import Blueprint

from lms.core import signals
from lms.core.jobs import after_commit

bp = Blueprint("search", __name__)
api_bp = Blueprint("search_api", __name__, url_prefix="/api/v1")


def _reindex(course, **extra) -> None:
    from lms.extensions import db
    from lms.search.tasks import index_course

    after_commit(db.session, index_course, course.id)


def _reindex_if_published(course, **extra) -> None:
    from lms.courses.models import CourseStatus

    if course.status is CourseStatus.PUBLISHED:
        _reindex(course)


signals.course_published.connect(_reindex)
signals.course_unpublished.connect(_reindex)
signals.course_changed.connect(_reindex_if_published)

from lms.search import api, tasks, views  # noqa: E402,F401  (routes and jobs register on import)
