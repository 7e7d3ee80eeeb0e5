"""Builders for the credit bank's tests: registrars, completed courses, offline outcomes."""

from __future__ import annotations

import io
import subprocess
from datetime import date, timedelta

import pytest
from PIL import Image

from lms.accounts.models import User
from lms.core.time import local_date, utcnow
from lms.courses.models import Course
from lms.credits import operations
from lms.credits.models import LearningOutcome, OutcomeKind
from lms.extensions import db
from lms.learning import operations as learning


def png_bytes(colour: str = "orange", size=(64, 48)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "PNG")
    return out.getvalue()


def pdf_bytes() -> bytes:
    """A real one-page PDF (drawn by reportlab, which the transcripts use anyway)."""
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    page = canvas.Canvas(out)
    page.drawString(72, 720, "certificate")
    page.showPage()
    page.save()
    return out.getvalue()


def poppler(*command: str) -> str:
    """Run one of poppler's tools (pdftotext, pdffonts, pdftoppm) and return what it prints."""
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout  # noqa: S603


def yesterday() -> date:
    return local_date(utcnow()) - timedelta(days=1)


HOURS_REASON = "配套线下面授和实践练习"


def certify_hours(course: Course, registrar: User, hours=None) -> Course:
    """A registrar certifies *course*'s 学时 (its declared hours unless *hours* says otherwise;
    test courses are short, so the reason is always given), committing like the views do."""
    operations.certify_course_hours(
        registrar, course, hours=course.hours if hours is None else hours, reason=HOURS_REASON
    )
    db.session.commit()
    return course


@pytest.fixture
def create_course(create_course, registrar):
    """The course builder of tests/conftest.py, with the course's 学时 certified by the county
    registrar (the credit bank's tests are about what completions earn); ``certified=False``
    leaves them 学时待认定."""

    def create(*args, certified: bool = True, **kwargs) -> Course:
        course = create_course(*args, **kwargs)
        return certify_hours(course, registrar) if certified else course

    return create


def complete_course(user: User, course: Course) -> None:
    """Enrol, open and mark every lesson learnt (text lessons, opened long enough ago to have
    been read), committing like the views do."""
    learning.enrol(user, course)
    opened = utcnow() - timedelta(hours=1)
    for lesson in course.lessons:
        learning.open_lesson(user, lesson, now=opened)
        learning.mark_learnt(user, lesson)
    db.session.commit()


def submit(
    user: User,
    *,
    kind=OutcomeKind.VOLUNTEER,
    hours="8",
    title="社区防汛志愿服务",
    occurred_on=None,
    files=None,
) -> LearningOutcome:
    files = files if files is not None else [(io.BytesIO(png_bytes()), "证书.png")]
    outcome = operations.submit_outcome(
        user,
        kind=kind,
        title=title,
        hours=hours,
        occurred_on=occurred_on or yesterday(),
        issuer="福集镇志愿者协会",
        evidence=files,
    )
    db.session.commit()
    return outcome
