"""Separation of duties: nobody certifies, rejects or reverses anything in their own credit
account, whatever their roles, through the operations, the API and the pages alike; every
decision names who made it."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from lms.accounts.models import Role
from lms.core.errors import Forbidden
from lms.credits import operations
from lms.credits.models import LedgerEntry, OutcomeStatus
from lms.extensions import db
from tests.conftest import api_token, sign_in
from tests.credits.conftest import submit

ROLES = ["resident", "teacher", "town registrar", "county registrar", "admin"]


@pytest.fixture
def people(create_user, teacher, registrar, town_registrar) -> dict:
    """One of each role; all but the resident are residents of 福集镇 or the county too."""
    return {
        "resident": create_user(name="邻居"),
        "teacher": teacher,
        "town registrar": town_registrar,
        "county registrar": registrar,
        "admin": create_user(Role.ADMIN, "福集镇", name="福集站长"),
    }


def post(app, user, path: str, **body):
    return app.test_client().post(
        f"/api/v1{path}", json=body or None, headers=api_token(app.test_client(), user)
    )


# Each role on someone else's outcome ------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("resident", 404),
        ("teacher", 404),
        ("admin", 404),
        ("town registrar", 200),
        ("county registrar", 200),
    ],
)
def test_each_role_certifying_a_residents_outcome(app, people, resident, who, status):
    outcome = submit(resident)
    response = post(app, people[who], f"/outcomes/{outcome.id}/certify")
    assert response.status_code == status, response.get_json()
    db.session.expire_all()
    if status == 200:
        assert outcome.status is OutcomeStatus.CERTIFIED
        assert outcome.decided_by_id == people[who].id  # the certification names who did it
        [entry] = db.session.scalars(select(LedgerEntry).filter_by(outcome_id=outcome.id))
        assert entry.posted_by_id == people[who].id
    else:
        assert outcome.status is OutcomeStatus.PENDING


@pytest.mark.parametrize("who", ROLES)
def test_each_role_on_their_own_outcome_is_refused(app, people, who):
    me = people[who]
    outcome = submit(me)
    certify = post(app, me, f"/outcomes/{outcome.id}/certify")
    reject = post(app, me, f"/outcomes/{outcome.id}/reject", reason="材料不清楚")
    if who.endswith("registrar"):
        # A registrar over their own home unit sees the outcome: refused with the reason.
        for response in certify, reject:
            assert response.status_code == 403
            assert "自己的学习成果" in response.get_json()["error"]["message"]
    else:
        assert certify.status_code == reject.status_code == 403  # not a registrar at all
    db.session.expire_all()
    assert outcome.status is OutcomeStatus.PENDING
    # Another registrar over them may.
    other = people["county registrar" if who != "county registrar" else "town registrar"]
    if who == "county registrar":
        # The county registrar lives in the county unit, above every town registrar: nobody
        # but another county registrar is over them.
        return
    assert post(app, other, f"/outcomes/{outcome.id}/certify").status_code == 200


@pytest.mark.parametrize("who", ["town registrar", "county registrar"])
def test_registrars_cannot_reverse_credits_in_their_own_account(app, people, create_user, who):
    me = people[who]
    county_peer = create_user(Role.REGISTRAR, "泸县", name="另一位县专员")
    entry = operations.certify_outcome(county_peer, submit(me))
    db.session.commit()
    with pytest.raises(Forbidden, match="不能冲正自己账户中的学分"):
        operations.reverse_entry(me, entry, reason="录入错误")
    db.session.rollback()
    response = post(app, me, f"/ledger-entries/{entry.id}/reverse", reason="录入错误")
    assert response.status_code == 403
    assert "不能冲正自己账户中的学分" in response.get_json()["error"]["message"]
    assert db.session.scalar(select(LedgerEntry).filter_by(reverses_id=entry.id)) is None
    # A peer may.
    response = post(app, county_peer, f"/ledger-entries/{entry.id}/reverse", reason="录入错误")
    assert response.status_code == 201


@pytest.mark.parametrize("who", ["resident", "teacher", "admin"])
def test_nobody_but_registrars_reverses(app, people, resident, registrar, who):
    entry = operations.certify_outcome(registrar, submit(resident))
    db.session.commit()
    response = post(app, people[who], f"/ledger-entries/{entry.id}/reverse", reason="录入错误")
    assert response.status_code == 404


def test_operations_refuse_self_certification_whoever_calls(town_registrar):
    outcome = submit(town_registrar)
    with pytest.raises(Forbidden, match="不能认证自己的学习成果"):
        operations.certify_outcome(town_registrar, outcome)
    db.session.rollback()
    with pytest.raises(Forbidden, match="不能审核自己的学习成果"):
        operations.reject_outcome(town_registrar, outcome, reason="材料不清楚")
    db.session.rollback()


def test_the_page_offers_no_decision_on_ones_own_outcome(client, town_registrar):
    outcome = submit(town_registrar)
    sign_in(client, town_registrar)
    page = client.get(f"/credits/outcomes/{outcome.id}").get_data(as_text=True)
    assert f"/credits/outcomes/{outcome.id}/certify" not in page
    assert f"/credits/outcomes/{outcome.id}/reject" not in page
    response = client.post(f"/credits/outcomes/{outcome.id}/certify", follow_redirects=True)
    assert "不能认证自己的学习成果" in response.get_data(as_text=True)
    db.session.expire_all()
    assert outcome.status is OutcomeStatus.PENDING


def test_a_registrars_own_account_page_offers_no_reversal(client, town_registrar, registrar):
    entry = operations.certify_outcome(registrar, submit(town_registrar))
    db.session.commit()
    sign_in(client, town_registrar)
    page = client.get(f"/credits/accounts/{town_registrar.id}").get_data(as_text=True)
    assert f"/credits/entries/{entry.id}/reverse" not in page
    other = client.application.test_client()
    sign_in(other, registrar)
    page = other.get(f"/credits/accounts/{town_registrar.id}").get_data(as_text=True)
    assert f"/credits/entries/{entry.id}/reverse" in page
