"""The credit bank's pages: what residents and registrars see and do without JavaScript."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from lms.accounts.models import Role
from lms.credits import operations
from lms.credits.models import ConversionRule, LearningOutcome, OutcomeStatus
from lms.extensions import db
from tests.conftest import sign_in
from tests.credits.conftest import complete_course, png_bytes, submit, yesterday


def outcome_form(**changes) -> dict:
    form = {
        "kind": "certificate",
        "title": "中式面点师（初级）证书",
        "hours": "12",
        "occurred_on": yesterday().isoformat(),
        "issuer": "泸县人力资源和社会保障局",
        "evidence": [
            (io.BytesIO(png_bytes()), "证书.png"),
            (io.BytesIO(png_bytes("red")), "背面.png"),
        ],
    }
    form.update(changes)
    return form


def test_resident_submits_an_outcome_on_the_page(client, resident):
    sign_in(client, resident)
    assert client.get("/me/outcomes/new").status_code == 200
    response = client.post(
        "/me/outcomes/new", data=outcome_form(), content_type="multipart/form-data"
    )
    assert response.status_code == 302
    outcome = db.session.scalar(select(LearningOutcome))
    assert outcome.title == "中式面点师（初级）证书"
    assert len(outcome.evidence) == 2
    page = client.get("/me/credits").get_data(as_text=True)
    assert "中式面点师（初级）证书" in page
    assert "待认证" in page


@pytest.mark.parametrize(
    "changes",
    [
        {"hours": "30"},
        {"hours": "0"},
        {"occurred_on": "2999-12-31"},
        {"evidence": []},
        {"evidence": [(io.BytesIO(b"just text"), "a.pdf")]},
    ],
)
def test_bad_outcomes_on_the_page_keep_the_form_and_say_why(client, resident, changes):
    sign_in(client, resident)
    response = client.post(
        "/me/outcomes/new", data=outcome_form(**changes), content_type="multipart/form-data"
    )
    assert 400 <= response.status_code < 500
    html = response.get_data(as_text=True)
    assert "中式面点师（初级）证书" in html  # what was typed is kept
    assert 'role="alert"' in html or "field__errors" in html
    assert db.session.scalar(select(LearningOutcome)) is None


def test_registrar_reviews_and_certifies_on_the_page(client, resident, town_registrar):
    outcome = submit(resident)
    sign_in(client, town_registrar)
    queue = client.get("/credits/review").get_data(as_text=True)
    assert outcome.title in queue
    detail = client.get(f"/credits/outcomes/{outcome.id}")
    assert detail.status_code == 200
    assert "认证通过" in detail.get_data(as_text=True)
    done = client.post(f"/credits/outcomes/{outcome.id}/certify")
    assert done.status_code == 302
    db.session.refresh(outcome)
    assert outcome.status is OutcomeStatus.CERTIFIED
    again = client.post(f"/credits/outcomes/{outcome.id}/certify", follow_redirects=True)
    assert "已经处理过" in again.get_data(as_text=True)
    evidence = client.get(f"/credits/evidence/{outcome.evidence[0].id}")
    assert evidence.status_code == 200
    assert evidence.mimetype == "image/jpeg"
    evidence.close()


def test_reject_on_the_page_needs_a_reason(client, resident, registrar):
    outcome = submit(resident)
    sign_in(client, registrar)
    client.post(f"/credits/outcomes/{outcome.id}/reject", data={"reject-reason": ""})
    db.session.refresh(outcome)
    assert outcome.status is OutcomeStatus.PENDING
    client.post(f"/credits/outcomes/{outcome.id}/reject", data={"reject-reason": "学时与证明不符"})
    db.session.refresh(outcome)
    assert outcome.status is OutcomeStatus.REJECTED


def test_the_resident_reads_the_decision_in_notices(client, resident, registrar):
    operations.certify_outcome(registrar, submit(resident))
    db.session.commit()
    sign_in(client, resident)
    home = client.get("/me/credits").get_data(as_text=True)
    assert "nav-badge" in home  # one unread notice in the header
    notices = client.get("/notices").get_data(as_text=True)
    assert "已通过认证" in notices
    client.post("/notices/read")
    assert "nav-badge" not in client.get("/me/credits").get_data(as_text=True)


def test_registrar_pages_are_for_registrars(client, resident, create_user):
    outcome = submit(resident)
    sign_in(client, create_user(Role.TEACHER, "福集镇", name="老师"))
    assert client.get("/credits/review").status_code == 403
    assert client.get("/credits/rules").status_code == 403
    assert client.get(f"/credits/outcomes/{outcome.id}").status_code == 404
    assert client.post(f"/credits/outcomes/{outcome.id}/certify").status_code == 404
    assert client.get(f"/credits/accounts/{resident.id}").status_code == 404


def test_registrar_finds_an_account_by_phone_and_reverses(
    client, resident, registrar, create_course
):
    complete_course(resident, create_course(hours=16))
    sign_in(client, registrar)
    found = client.get(f"/credits/accounts?phone={resident.phone}")
    assert found.status_code == 302
    assert found.location.endswith(f"/credits/accounts/{resident.id}")
    assert client.get("/credits/accounts?phone=123").status_code == 302  # a message, not a 500
    page = client.get(f"/credits/accounts/{resident.id}").get_data(as_text=True)
    assert operations.account_for(resident).account_no in page
    [entry] = operations.standing_entries(operations.account_for(resident))
    client.post(f"/credits/entries/{entry.id}/reverse", data={"reverse-reason": "重复计入"})
    assert operations.account_for(resident).balance == 0


def test_county_registrar_publishes_edits_and_previews_rules(client, registrar):
    sign_in(client, registrar)
    bad = client.post(
        "/credits/rules",
        data={"kind": "volunteer", "category_id": "0", "mode": "per_hours", "hours_per_credit": ""},
    )
    assert bad.status_code == 422
    published = client.post(
        "/credits/rules",
        data={"kind": "volunteer", "category_id": "0", "mode": "fixed", "fixed_credits": "2"},
    )
    assert published.status_code == 302
    rule = db.session.scalar(select(ConversionRule))
    edited = client.post(
        f"/credits/rules?edit={rule.id}",
        data={"kind": "volunteer", "category_id": "0", "mode": "fixed", "fixed_credits": "3"},
    )
    assert edited.status_code == 302
    page = client.get(
        "/credits/rules?preview-kind=volunteer&preview-category_id=0&preview-hours=4"
    ).get_data(as_text=True)
    assert "可得 3 学分" in page
    assert "已被新版本取代" in page


def test_town_registrars_see_rules_but_cannot_change_them(client, town_registrar):
    sign_in(client, town_registrar)
    assert client.get("/credits/rules").status_code == 200
    response = client.post(
        "/credits/rules",
        data={"kind": "volunteer", "category_id": "0", "mode": "fixed", "fixed_credits": "2"},
    )
    assert response.status_code == 403
    assert db.session.scalar(select(ConversionRule)) is None
