"""One unit of work is one transaction, on SQLite too: a savepoint that is the first write of a
request (creating a user, enrolling) is undone by a later failure in the same request."""

from __future__ import annotations

from sqlalchemy import func, select

from lms.accounts import operations as accounts
from lms.accounts.models import User
from lms.courses.models import Course
from lms.credits.models import CreditAccount
from lms.extensions import db
from lms.learning import operations as learning
from lms.learning.models import Enrolment
from tests.conftest import PASSWORD, new_phone, unit


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_a_failure_after_a_nested_first_write_rolls_everything_back(app, county):
    db.session.commit()
    users, credit_accounts = count(User), count(CreditAccount)
    db.session.close()  # a fresh unit of work, as a request begins

    accounts.create_user(
        phone=new_phone(), name="半途", password=PASSWORD, org_unit=unit("福集镇一村")
    )
    db.session.rollback()  # the request failed after its first (nested) write

    assert count(User) == users
    assert count(CreditAccount) == credit_accounts


def test_an_enrolment_rolled_back_leaves_no_row(app, resident, create_course):
    user_id, course_id = resident.id, create_course().id
    db.session.close()
    learning.enrol(db.session.get(User, user_id), db.session.get(Course, course_id))
    db.session.rollback()
    assert count(Enrolment) == 0


def test_a_request_that_fails_after_a_nested_write_keeps_nothing(app, county, client):
    """Through the HTTP stack: sign-up refused after the user row was written in a savepoint."""
    before = count(User)

    @app.post("/_test/half")
    def half():
        accounts.create_user(
            phone=new_phone(), name="半途", password=PASSWORD, org_unit=unit("福集镇一村")
        )
        raise accounts.OperationError("后面的步骤失败了")

    response = client.post("/_test/half")
    assert response.status_code == 422
    db.session.expire_all()
    assert count(User) == before
