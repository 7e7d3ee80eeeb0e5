"""How a lesson and its progress look from outside: one payload for the lesson page and the API."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import url_for
from pydantic import BaseModel

from lms.core.time import utcnow
from lms.courses.models import Lesson, LessonKind
from lms.learning import reading
from lms.learning.models import LessonProgress
from lms.media import access as media_access
from lms.media.serializers import MediaOut, media_out

if TYPE_CHECKING:
    from lms.learning.operations import Beat


class ProgressOut(BaseModel):
    watched_s: float
    watched_ratio: float
    completed: bool
    resume_position_s: float


class HeartbeatOut(ProgressOut):
    # Seconds of the intervals just reported that the record does not hold yet (played faster
    # than the server credits, as it sees the time): report them again a little later.
    uncounted_s: float


class LessonDetail(BaseModel):
    id: int
    course_id: int
    title: str
    kind: str
    duration_s: int | None
    required: bool
    body: str
    media: MediaOut | None
    captions_url: str | None
    progress: ProgressOut | None
    # Text and document lessons: the reading time the server asks for, and what is left of it
    # (None for video lessons, and left for guests).
    reading_s: int | None = None
    reading_remaining_s: int | None = None


def progress_out(lesson: Lesson, progress: LessonProgress | None) -> ProgressOut | None:
    if progress is None:
        return None
    return ProgressOut(
        **progress_figures(
            lesson.duration_s,
            progress.watched_s,
            progress.completed_at is not None,
            progress.resume_position_s,
        )
    )


def progress_figures(
    duration_s: int | None, watched_s: float, completed: bool, resume_position_s: float
) -> dict[str, Any]:
    """:class:`ProgressOut`'s fields as a dict (the heartbeat answers with it as it is)."""
    ratio = min(1.0, watched_s / duration_s) if duration_s else (1.0 if completed else 0.0)
    return {
        "watched_s": watched_s,
        "watched_ratio": round(ratio, 4),
        "completed": completed,
        "resume_position_s": resume_position_s,
    }


def heartbeat_out(beat: Beat) -> dict[str, Any]:
    """:class:`HeartbeatOut`'s fields for what a heartbeat left."""
    return {
        **progress_figures(beat.duration_s, beat.watched_s, beat.completed, beat.resume_position_s),
        "uncounted_s": beat.uncounted_s,
    }


def lesson_detail(lesson: Lesson, progress: LessonProgress | None) -> LessonDetail:
    """The lesson with its playable medium, captions and the learner's progress."""
    link = media_access.lesson_media(lesson)
    reading_s = remaining_s = None
    if lesson.kind is not LessonKind.VIDEO:
        reading_s = reading.reading_seconds(lesson)
        if progress is not None:
            remaining_s = (
                0
                if progress.completed_at
                else reading.remaining_seconds(lesson, progress, utcnow())
            )
    return LessonDetail(
        id=lesson.id,
        course_id=lesson.course_id,
        title=lesson.title,
        kind=lesson.kind.value,
        duration_s=lesson.duration_s,
        required=lesson.required,
        body=lesson.body,
        media=media_out(link.asset) if link else None,
        captions_url=url_for("media.captions", lesson_id=lesson.id)
        if link and link.captions_path
        else None,
        progress=progress_out(lesson, progress),
        reading_s=reading_s,
        reading_remaining_s=remaining_s,
    )
