"""Builders for activities: an organiser (the town school's administrator) and activities made
through the operations, by default happening now."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from lms.accounts.models import Role
from lms.activities import operations
from lms.core.time import utcnow
from lms.extensions import db
from tests.conftest import unit


@pytest.fixture
def organiser(create_user):
    """The administrator of 福集镇's community school."""
    return create_user(Role.ADMIN, "福集镇", name="福集校长")


@pytest.fixture
def make_activity(organiser):
    def make(
        *,
        by=None,
        unit_name="福集镇",
        start_in=timedelta(minutes=-10),
        length=timedelta(hours=2),
        **values,
    ):
        start = utcnow() + start_in
        data = operations.ActivityData(
            unit=unit(unit_name),
            kind=values.pop("kind", "lecture"),
            title=values.pop("title", "福集讲堂：防范电信诈骗"),
            place=values.pop("place", "福集镇社区学校三楼报告厅"),
            starts_at=start,
            ends_at=start + length,
            hours=values.pop("hours", Decimal("2")),
            **values,
        )
        activity = operations.create_activity(by or organiser, data)
        db.session.commit()
        return activity

    return make
