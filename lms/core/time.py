"""Times are timezone-aware UTC inside and shown in the configured zone (Asia/Shanghai)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from flask import current_app


def utcnow() -> datetime:
    return datetime.now(UTC)


def display_zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["LMS_DISPLAY_TIMEZONE"])


def local(moment: datetime | None) -> datetime | None:
    """*moment* in the display zone (naive values are taken as UTC)."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(display_zone())


def format_local(moment: datetime | None, pattern: str = "%Y-%m-%d %H:%M") -> str:
    shown = local(moment)
    return shown.strftime(pattern) if shown else ""


def local_date(moment: datetime) -> date:
    """The calendar day *moment* falls on in the display zone (a resident's "today")."""
    return local(moment).date()
