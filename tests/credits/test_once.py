"""No double effect from a double tap: the same offline outcome is not submitted twice, an outcome
is certified once, and an unchanged transcript is issued once."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from lms.core.errors import Conflict
from lms.credits import operations
from lms.credits.models import LearningOutcome, OutcomeKind, OutcomeStatus, Transcript
from lms.extensions import db
from tests.conftest import api_token, sign_in
from tests.credits.conftest import png_bytes, submit, yesterday


def outcomes() -> int:
    return db.session.scalar(select(func.count(LearningOutcome.id)))


def api_submit(app, user, **changes):
    data = {
        "kind": "volunteer",
        "title": "社区防汛志愿服务",
        "hours": "8",
        "occurred_on": yesterday().isoformat(),
        "issuer": "福集镇志愿者协会",
        "evidence": (io.BytesIO(png_bytes()), "证明.png"),
    }
    data.update(changes)
    return app.test_client().post(
        "/api/v1/me/outcomes",
        data=data,
        content_type="multipart/form-data",
        headers=api_token(app.test_client(), user),
    )


def test_the_same_outcome_twice_is_refused_while_pending_or_certified(app, resident, registrar):
    first = api_submit(app, resident)
    assert first.status_code == 201
    again = api_submit(app, resident)
    assert again.status_code == 409
    assert "已经申报过了" in again.get_json()["error"]["message"]
    assert outcomes() == 1
    operations.certify_outcome(registrar, db.session.get(LearningOutcome, first.get_json()["id"]))
    db.session.commit()
    again = api_submit(app, resident)
    assert again.status_code == 409
    assert "已经认证过了" in again.get_json()["error"]["message"]
    assert outcomes() == 1
    # Different learning (another day, other hours) is not a duplicate.
    assert api_submit(app, resident, hours="4").status_code == 201


def test_a_rejected_outcome_may_be_submitted_again(resident, registrar):
    outcome = submit(resident)
    operations.reject_outcome(registrar, outcome, reason="照片看不清")
    db.session.commit()
    again = submit(resident)
    assert again.id != outcome.id
    assert again.status is OutcomeStatus.PENDING


def test_the_database_refuses_a_duplicate_that_slipped_past_the_check(resident):
    first = submit(resident)
    twin = LearningOutcome(
        user_id=resident.id,
        kind=OutcomeKind.VOLUNTEER,
        title=first.title,
        hours=first.hours,
        occurred_on=first.occurred_on,
        issuer="别处",
        status=OutcomeStatus.PENDING,
    )
    db.session.add(twin)
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_the_same_outcome_twice_on_the_page_keeps_one(client, resident):
    sign_in(client, resident)
    form = {
        "kind": "volunteer",
        "title": "社区防汛志愿服务",
        "hours": "8",
        "occurred_on": yesterday().isoformat(),
        "issuer": "福集镇志愿者协会",
    }
    for _ in range(2):
        response = client.post(
            "/me/outcomes/new",
            data={**form, "evidence": [(io.BytesIO(png_bytes()), "证明.png")]},
            content_type="multipart/form-data",
        )
    assert response.status_code == 409
    assert "已经申报过了" in response.get_data(as_text=True)
    assert outcomes() == 1


def test_certifying_a_certified_outcome_is_409(app, resident, registrar):
    outcome = submit(resident)
    headers = api_token(app.test_client(), registrar)
    path = f"/api/v1/outcomes/{outcome.id}/certify"
    assert app.test_client().post(path, headers=headers).status_code == 200
    response = app.test_client().post(path, headers=headers)
    assert response.status_code == 409
    assert "已经处理过了" in response.get_json()["error"]["message"]
    with pytest.raises(Conflict):
        operations.certify_outcome(registrar, outcome)
    db.session.rollback()


def test_an_unchanged_transcript_is_issued_once(app, resident, registrar):
    operations.certify_outcome(registrar, submit(resident))
    db.session.commit()
    headers = api_token(app.test_client(), resident)
    first = app.test_client().post("/api/v1/me/transcripts", headers=headers)
    again = app.test_client().post("/api/v1/me/transcripts", headers=headers)
    assert first.status_code == 201
    assert again.status_code == 200
    assert again.get_json()["serial"] == first.get_json()["serial"]
    assert db.session.scalar(select(func.count(Transcript.id))) == 1
    # New credits: a new transcript.
    operations.certify_outcome(registrar, submit(resident, title="献血", hours="2"))
    db.session.commit()
    third = app.test_client().post("/api/v1/me/transcripts", headers=headers)
    assert third.status_code == 201
    assert third.get_json()["serial"] != first.get_json()["serial"]


def test_a_revoked_transcript_is_not_handed_out_again(resident, registrar):
    entry = operations.certify_outcome(registrar, submit(resident))
    operations.certify_outcome(registrar, submit(resident, title="献血", hours="2"))
    db.session.commit()
    first = operations.issue_transcript(resident)
    db.session.commit()
    assert operations.issue_transcript(resident).serial == first.serial
    operations.reverse_entry(registrar, entry, reason="录入错误")
    db.session.commit()
    second = operations.issue_transcript(resident)
    db.session.commit()
    assert second.serial != first.serial
    assert operations.issue_transcript(resident).serial == second.serial


def test_issuing_twice_on_the_page_says_it_is_the_same(client, resident, registrar):
    operations.certify_outcome(registrar, submit(resident))
    db.session.commit()
    sign_in(client, resident)
    client.post("/me/transcripts")
    page = client.post("/me/transcripts", follow_redirects=True).get_data(as_text=True)
    assert "学分没有变化" in page
    assert db.session.scalar(select(func.count(Transcript.id))) == 1
