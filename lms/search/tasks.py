"""Background jobs of search: the worker is the index's one writer."""

from __future__ import annotations

from lms.core.jobs import app_task


@app_task(retries=3, retry_delay=5)
def index_course(course_id: int) -> None:
    """Rewrite (or remove) one course's document from what the database now says."""
    from lms.search.index import update_courses

    update_courses([course_id])


@app_task(retries=3, retry_delay=30)
def rebuild_index() -> None:
    """Rebuild the whole index (new dictionary words are cut as words from then on)."""
    from lms.search.index import rebuild

    rebuild()
