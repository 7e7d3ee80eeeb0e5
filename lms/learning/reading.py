"""Reading time: how long a text or document lesson has to be open before it counts as learnt.

The server decides it from what the lesson holds: the plain text at a reading speed of
``LMS_READING_CHARS_PER_MINUTE`` characters, a document's pages (or slides, sheets) at
``LMS_READING_SECONDS_PER_PAGE`` each (estimated from its size when they were not counted),
never less than ``LMS_READING_FLOOR_S`` nor more than ``LMS_READING_CAP_S``. Lesson completion
and the certification of a course's 学时 use the same estimate. Importing this module does
nothing; the configuration is read when a function is called.
"""

from __future__ import annotations

import math
from datetime import datetime

from flask import current_app
from sqlalchemy import select

from lms.core.text import plain_text
from lms.courses.models import Lesson, LessonKind
from lms.extensions import db
from lms.learning.models import LessonProgress
from lms.media.models import Material

# A document whose pages were not counted: assume a page per this many bytes (generous to the
# reader, since pictures make files large without making them longer to read).
BYTES_PER_PAGE = 200 * 1024


def text_seconds(html: str | None) -> float:
    """Seconds to read the plain text of *html* (whitespace does not count)."""
    characters = sum(1 for character in plain_text(html) if not character.isspace())
    return characters * 60 / current_app.config["LMS_READING_CHARS_PER_MINUTE"]


def document_pages(material: Material | None) -> int:
    """The pages of a lesson's document: as counted on upload, else estimated from its size."""
    if material is None:
        return 0
    if material.pages is not None:
        return material.pages
    return max(1, math.ceil(material.size_bytes / BYTES_PER_PAGE))


def reading_seconds(lesson: Lesson) -> int:
    """The reading time of a text or document lesson, in whole seconds (0 for a video lesson,
    whose time is its duration and is watched, not read)."""
    if lesson.kind is LessonKind.VIDEO:
        return 0
    config = current_app.config
    estimate = text_seconds(lesson.body)
    if lesson.kind is LessonKind.DOCUMENT:
        material = db.session.scalar(select(Material).where(Material.lesson_id == lesson.id))
        estimate += document_pages(material) * config["LMS_READING_SECONDS_PER_PAGE"]
    floor, cap = config["LMS_READING_FLOOR_S"], config["LMS_READING_CAP_S"]
    return int(min(cap, max(floor, math.ceil(estimate))))


def remaining_seconds(lesson: Lesson, progress: LessonProgress | None, now: datetime) -> int:
    """Whole seconds until *lesson* may be marked learnt (counting from the first opening)."""
    needed = reading_seconds(lesson)
    if progress is None or progress.opened_at is None:
        return needed
    return max(0, math.ceil(needed - (now - progress.opened_at).total_seconds()))
