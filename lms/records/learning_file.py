"""The learning file (学习档案): everything a resident learnt, in time order, gathered from the
learning records and the credit bank. Read-only; columns are selected rather than whole rows,
so a file of thousands of records stays quick."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from decimal import Decimal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from lms.accounts.models import User
from lms.core.time import display_zone
from lms.courses.models import Course, Lesson, LessonKind
from lms.credits.models import (
    CreditAccount,
    EntryKind,
    LearningOutcome,
    LedgerEntry,
    OutcomeKind,
    OutcomeStatus,
)
from lms.credits.operations import account_for
from lms.extensions import db
from lms.learning.models import Enrolment, LessonProgress


class ItemKind(enum.StrEnum):
    ENROLMENT = "enrolment"
    LESSON = "lesson"
    COURSE = "course"
    OUTCOME = "outcome"
    CREDIT = "credit"

    @property
    def label(self) -> str:
        return str(
            {
                "enrolment": _l("报名课程"),
                "lesson": _l("学完课时"),
                "course": _l("完成课程"),
                "outcome": _l("线下成果"),
                "credit": _l("学分记录"),
            }[self.value]
        )


@dataclass
class Item:
    occurred_at: datetime
    kind: ItemKind
    title: str
    hours: Decimal | None = None
    credits: Decimal | None = None
    detail: str = ""
    # What the xAPI export needs beyond the page: ids, lesson intervals and lengths.
    ref: dict = field(default_factory=dict)


@dataclass
class YearTotal:
    year: int
    hours: Decimal = Decimal("0.0")
    credits: Decimal = Decimal("0.0")
    records: int = 0


@dataclass
class LearningFile:
    holder: User
    account: CreditAccount | None
    items: list[Item]
    totals: list[YearTotal]

    @property
    def years(self) -> list[int]:
        """The years the file has records in, newest first."""
        return [total.year for total in self.totals]


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return _("%(h)s小时%(m)s分", h=hours, m=minutes)
    if minutes:
        return _("%(m)s分%(s)s秒", m=minutes, s=secs)
    return _("%(s)s秒", s=secs)


def _enrolment_items(user: User) -> list[Item]:
    items = []
    rows = db.session.execute(
        select(
            Enrolment.enrolled_at,
            Enrolment.completed_at,
            Course.id,
            Course.title,
            Course.certified_hours,
        )
        .join(Course, Enrolment.course_id == Course.id)
        .where(Enrolment.user_id == user.id)
    )
    for enrolled_at, completed_at, course_id, title, hours in rows:
        ref = {"course_id": course_id}
        items.append(Item(enrolled_at, ItemKind.ENROLMENT, title, ref=ref))
        if completed_at is not None:
            items.append(
                Item(
                    completed_at,
                    ItemKind.COURSE,
                    title,
                    # The course's certified 学时; none counted while they await certification.
                    hours=hours,
                    detail=_("全部必修课时已学完")
                    if hours is not None
                    else _("全部必修课时已学完 · 学时待认定，认定后计入学分"),
                    ref=ref,
                )
            )
    return items


def _lesson_items(user: User) -> list[Item]:
    rows = db.session.execute(
        select(
            LessonProgress.completed_at,
            LessonProgress.watched_s,
            LessonProgress.intervals,
            Lesson.id,
            Lesson.title,
            Lesson.kind,
            Lesson.duration_s,
            Course.id,
            Course.title,
        )
        .join(Lesson, LessonProgress.lesson_id == Lesson.id)
        .join(Course, Lesson.course_id == Course.id)
        .where(LessonProgress.user_id == user.id, LessonProgress.completed_at.is_not(None))
    )
    items = []
    for completed_at, watched, intervals, lesson_id, title, kind, length, course_id, course in rows:
        if kind is LessonKind.VIDEO:
            detail = _("%(course)s · 实际观看 %(time)s", course=course, time=_duration(watched))
        else:
            detail = course
        ref = {
            "course_id": course_id,
            "course_title": course,
            "lesson_id": lesson_id,
            "video": kind is LessonKind.VIDEO,
            "watched_s": watched,
            "length_s": length,
            "intervals": intervals or [],
        }
        items.append(Item(completed_at, ItemKind.LESSON, title, detail=detail, ref=ref))
    return items


def _outcome_items(user: User) -> list[Item]:
    rows = db.session.execute(
        select(
            LearningOutcome.id,
            LearningOutcome.kind,
            LearningOutcome.title,
            LearningOutcome.hours,
            LearningOutcome.occurred_on,
            LearningOutcome.issuer,
            LearningOutcome.status,
            LearningOutcome.reason,
            LearningOutcome.attendance_id,
            LearningOutcome.description,
        ).where(
            LearningOutcome.user_id == user.id, LearningOutcome.kind != OutcomeKind.ONLINE_COURSE
        )
    )
    # Translated labels are looked up once, not once a row.
    kinds = {kind: kind.label for kind in OutcomeKind}
    statuses = {status: status.label for status in OutcomeStatus}
    zone = display_zone()
    items = []
    for (
        outcome_id,
        kind,
        title,
        hours,
        occurred_on,
        issuer,
        status,
        reason,
        attended,
        place,
    ) in rows:
        moment = datetime.combine(occurred_on, time(12), tzinfo=zone).astimezone(UTC)
        # An activity attended: its organiser and place (the outcome's description holds it).
        where = f" · {place}" if attended is not None and place else ""
        detail = f"{kinds[kind]} · {issuer}{where} · {statuses[status]}"
        if status in (OutcomeStatus.REJECTED, OutcomeStatus.REVOKED) and reason:
            detail += f"（{reason}）"
        ref = {"outcome_id": outcome_id, "kind": str(kind), "status": str(status)}
        certified = status is OutcomeStatus.CERTIFIED
        items.append(
            Item(
                moment,
                ItemKind.OUTCOME,
                title,
                hours=hours if certified else None,
                detail=detail,
                ref=ref,
            )
        )
    return items


def _credit_items(account: CreditAccount | None) -> list[Item]:
    if account is None:
        return []
    rows = db.session.execute(
        select(
            LedgerEntry.id,
            LedgerEntry.occurred_at,
            LedgerEntry.kind,
            LedgerEntry.amount,
            LedgerEntry.memo,
            LedgerEntry.reverses_id,
            LedgerEntry.outcome_id,
            LearningOutcome.title,
            LearningOutcome.course_id,
        )
        .outerjoin(LearningOutcome, LedgerEntry.outcome_id == LearningOutcome.id)
        .where(LedgerEntry.account_id == account.id)
    )
    items = []
    for entry_id, at, kind, amount, memo, reverses_id, outcome_id, title, course_id in rows:
        detail = memo if kind is EntryKind.DEPOSIT else _("冲正：%(reason)s", reason=memo)
        ref = {
            "entry_id": entry_id,
            "reverses_id": reverses_id,
            "outcome_id": outcome_id,
            "course_id": course_id,
        }
        items.append(
            Item(at, ItemKind.CREDIT, title or memo, credits=amount, detail=detail, ref=ref)
        )
    return items


def build(user: User, *, year: int | None = None, kind: ItemKind | None = None) -> LearningFile:
    """The learning file of *user*, newest first, filtered by local year and kind; the yearly
    totals always cover the whole file."""
    account = account_for(user)
    everything = [
        *_enrolment_items(user),
        *_lesson_items(user),
        *_outcome_items(user),
        *_credit_items(account),
    ]
    zone = display_zone()
    by_year: dict[int, YearTotal] = {}
    chosen = []
    for item in everything:
        item_year = item.occurred_at.astimezone(zone).year
        total = by_year.setdefault(item_year, YearTotal(item_year))
        total.records += 1
        if item.kind in (ItemKind.COURSE, ItemKind.OUTCOME) and item.hours:
            total.hours += item.hours
        if item.credits:
            total.credits += item.credits
        if (year is None or item_year == year) and (kind is None or item.kind is kind):
            chosen.append(item)
    chosen.sort(key=lambda item: item.occurred_at, reverse=True)
    totals = sorted(by_year.values(), key=lambda total: total.year, reverse=True)
    return LearningFile(
        holder=user,
        account=account,
        items=chosen,
        totals=totals,
    )
