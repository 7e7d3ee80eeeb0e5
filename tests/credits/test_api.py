"""The credit bank's JSON API (API.md): the same operations as the pages, clear 4xx answers."""

from __future__ import annotations

import io

import pytest

from lms.accounts.models import Role
from lms.extensions import db
from tests.conftest import api_token
from tests.credits.conftest import complete_course, pdf_bytes, png_bytes, yesterday


def outcome_form(**changes) -> dict:
    form = {
        "kind": "volunteer",
        "title": "敬老院志愿服务",
        "hours": "6",
        "occurred_on": yesterday().isoformat(),
        "issuer": "福集镇志愿者协会",
        "evidence": (io.BytesIO(png_bytes()), "照片.png"),
    }
    form.update(changes)
    return {key: value for key, value in form.items() if value is not None}


def post_outcome(client, headers, **changes):
    return client.post(
        "/api/v1/me/outcomes",
        data=outcome_form(**changes),
        headers=headers,
        content_type="multipart/form-data",
    )


def test_resident_submits_registrar_certifies_resident_sees_credits(client, resident, registrar):
    mine = api_token(client, resident)
    created = post_outcome(client, mine)
    assert created.status_code == 201, created.get_json()
    outcome = created.get_json()
    assert outcome["status"] == "pending"
    assert outcome["hours"] == 6.0
    assert outcome["evidence"][0]["content_type"] == "image/jpeg"

    theirs = api_token(client, registrar)
    queue = client.get("/api/v1/outcomes", headers=theirs).get_json()["items"]
    assert [item["id"] for item in queue] == [outcome["id"]]
    certified = client.post(f"/api/v1/outcomes/{outcome['id']}/certify", headers=theirs)
    assert certified.status_code == 200
    assert certified.get_json()["status"] == "certified"
    assert certified.get_json()["credits"] == 0.4  # 6 / 16 = 0.375 → 0.4
    again = client.post(f"/api/v1/outcomes/{outcome['id']}/certify", headers=theirs)
    assert again.status_code == 409

    credits = client.get("/api/v1/me/credits", headers=mine).get_json()
    assert credits["balance"] == 0.4
    assert credits["account_no"].startswith("510521-")
    [entry] = credits["entries"]
    assert entry["amount"] == 0.4
    assert entry["outcome"] == outcome["id"]
    assert entry["reverses"] is None

    issued = client.post("/api/v1/me/transcripts", headers=mine)
    assert issued.status_code == 201
    body = issued.get_json()
    assert body["total_credits"] == 0.4
    assert {"serial", "issued_at", "pdf_url", "json_url", "verify_url"} <= set(body)
    pdf = client.get(body["pdf_url"], headers=mine)
    assert pdf.status_code == 200
    assert pdf.data.startswith(b"%PDF-")
    document = client.get(body["json_url"], headers=mine).get_json()
    assert client.post("/api/v1/verify", json=document).get_json()["valid"] is True


def test_reject_needs_a_reason(client, resident, registrar):
    outcome = post_outcome(client, api_token(client, resident)).get_json()
    theirs = api_token(client, registrar)
    path = f"/api/v1/outcomes/{outcome['id']}/reject"
    assert client.post(path, json={"reason": ""}, headers=theirs).status_code == 422
    assert client.post(path, json={}, headers=theirs).status_code == 422
    rejected = client.post(path, json={"reason": "照片模糊"}, headers=theirs)
    assert rejected.status_code == 200
    assert rejected.get_json()["reason"] == "照片模糊"
    assert client.post(path, json={"reason": "再拒一次"}, headers=theirs).status_code == 409


def test_outsiders_cannot_see_or_decide(client, resident, create_user):
    outcome = post_outcome(client, api_token(client, resident)).get_json()
    outsider = api_token(client, create_user(Role.REGISTRAR, "嘉明镇", name="外镇专员"))
    assert (
        client.post(f"/api/v1/outcomes/{outcome['id']}/certify", headers=outsider).status_code
        == 404
    )
    assert client.get("/api/v1/outcomes", headers=outsider).get_json()["items"] == []
    plain = api_token(client, create_user(name="居民"))
    assert client.get("/api/v1/outcomes", headers=plain).status_code == 403
    assert client.get(f"/api/v1/outcomes/{outcome['id']}", headers=plain).status_code == 404


@pytest.mark.parametrize(
    "changes",
    [
        {"hours": "0"},
        {"hours": "-1"},
        {"hours": "24.5"},
        {"hours": "inf"},
        {"hours": None},
        {"occurred_on": "2999-01-01"},
        {"occurred_on": "2026-02-30"},
        {"occurred_on": "昨天"},
        {"kind": "online_course"},
        {"kind": "bribe"},
        {"title": ""},
        {"evidence": None},
        {"evidence": (io.BytesIO(b"<html>not an image</html>"), "x.png")},
        {"evidence": (io.BytesIO(b"GIF89a-broken"), "x.gif")},
    ],
)
def test_bad_outcomes_get_a_clear_4xx(client, resident, changes):
    response = post_outcome(client, api_token(client, resident), **changes)
    assert 400 <= response.status_code < 500, response.get_json()
    error = response.get_json()["error"]
    assert error["message"]
    assert client.get("/api/v1/me/outcomes", headers=api_token(client, resident)).get_json() == {
        "items": []
    }


def test_a_json_body_is_refused_for_outcomes(client, resident):
    response = client.post(
        "/api/v1/me/outcomes", json={"kind": "training"}, headers=api_token(client, resident)
    )
    assert response.status_code == 415


def test_pdf_evidence_is_served_to_owner_and_registrar_only(
    client, resident, registrar, create_user
):
    outcome = post_outcome(
        client, api_token(client, resident), evidence=(io.BytesIO(pdf_bytes()), "证书.pdf")
    ).get_json()
    url = outcome["evidence"][0]["url"]
    ok = client.get(url, headers=api_token(client, resident))
    assert ok.status_code == 200
    assert ok.data.startswith(b"%PDF-")
    ok.close()
    theirs = client.get(url, headers=api_token(client, registrar))
    assert theirs.status_code == 200
    theirs.close()
    assert client.get(url, headers=api_token(client, create_user(name="别人"))).status_code == 404


def test_reversal_through_the_api(client, resident, registrar, create_course):
    complete_course(resident, create_course(hours=16))
    mine, theirs = api_token(client, resident), api_token(client, registrar)
    [entry] = client.get("/api/v1/me/credits", headers=mine).get_json()["entries"]
    path = f"/api/v1/ledger-entries/{entry['id']}/reverse"
    assert client.post(path, json={"reason": ""}, headers=theirs).status_code == 422
    assert client.post(path, json={"reason": "课程被判定为重复"}, headers=mine).status_code == 404
    reversed_ = client.post(path, json={"reason": "课程被判定为重复"}, headers=theirs)
    assert reversed_.status_code == 201
    assert reversed_.get_json()["amount"] == -1.0
    assert client.post(path, json={"reason": "再来"}, headers=theirs).status_code == 409
    assert client.get("/api/v1/me/credits", headers=mine).get_json()["balance"] == 0.0


def test_rules_are_versioned_and_posted_credits_do_not_change(
    client, resident, registrar, create_course, categories
):
    theirs = api_token(client, registrar)
    complete_course(resident, create_course("甲课程", hours=16))
    rule = client.post(
        "/api/v1/credit-rules",
        json={"kind": "online_course", "mode": "per_hours", "hours_per_credit": "8"},
        headers=theirs,
    )
    assert rule.status_code == 201, rule.get_json()
    rule = rule.get_json()
    assert rule["version"] == 1
    assert rule["current"] is True
    complete_course(resident, create_course("乙课程", hours=16))
    changed = client.put(
        f"/api/v1/credit-rules/{rule['id']}",
        json={"kind": "online_course", "mode": "fixed", "fixed_credits": "3", "yearly_cap": "4"},
        headers=theirs,
    ).get_json()
    assert changed["version"] == 2
    assert changed["family_id"] == rule["family_id"]
    stale = client.put(
        f"/api/v1/credit-rules/{rule['id']}",
        json={"kind": "online_course", "mode": "fixed", "fixed_credits": "5"},
        headers=theirs,
    )
    assert stale.status_code == 409
    complete_course(resident, create_course("丙课程", hours=16))
    complete_course(resident, create_course("丁课程", hours=16))
    amounts = [
        e["amount"]
        for e in reversed(
            client.get("/api/v1/me/credits", headers=api_token(client, resident)).get_json()[
                "entries"
            ]
        )
    ]
    # Default 1.0, then 16/8 = 2.0; then fixed 3, but the cap of 4 a year for online courses
    # leaves room for 1.0, and nothing for the fourth course (certified, 0 credits, no entry).
    assert amounts == [1.0, 2.0, 1.0]
    outcomes = client.get("/api/v1/me/outcomes", headers=api_token(client, resident)).get_json()
    assert [item["credits"] for item in outcomes["items"]] == [0.0, 1.0, 2.0, 1.0]
    listed = client.get("/api/v1/credit-rules").get_json()
    assert [item["version"] for item in listed["items"]] == [2]


def test_only_county_registrars_keep_rules(client, town_registrar, resident):
    body = {"kind": "volunteer", "mode": "fixed", "fixed_credits": "1"}
    for headers in (api_token(client, town_registrar), api_token(client, resident)):
        assert client.post("/api/v1/credit-rules", json=body, headers=headers).status_code == 403


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "volunteer", "mode": "per_hours"},
        {"kind": "volunteer", "mode": "per_hours", "hours_per_credit": "0"},
        {"kind": "volunteer", "mode": "per_hours", "hours_per_credit": "-16"},
        {"kind": "volunteer", "mode": "per_hours", "hours_per_credit": "NaN"},
        {"kind": "volunteer", "mode": "fixed", "fixed_credits": "0.05"},
        {"kind": "volunteer", "mode": "fixed", "fixed_credits": "1", "yearly_cap": "-1"},
        {"kind": "volunteer", "mode": "fixed", "fixed_credits": "1", "category_id": 99999},
        {
            "kind": "volunteer",
            "mode": "fixed",
            "fixed_credits": "1",
            "valid_from": "2026-05-01",
            "valid_until": "2026-01-01",
        },
        {"kind": "magic", "mode": "fixed", "fixed_credits": "1"},
        {"kind": "volunteer", "mode": "fixed", "fixed_credits": "1", "extra": 1},
    ],
)
def test_bad_rules_are_refused(client, registrar, body):
    response = client.post("/api/v1/credit-rules", json=body, headers=api_token(client, registrar))
    assert response.status_code == 422, response.get_json()
    assert client.get("/api/v1/credit-rules").get_json()["items"] == []


def test_preview_shows_what_an_outcome_would_earn(client, registrar):
    preview = client.get("/api/v1/credit-rules/preview?kind=training&hours=10").get_json()
    assert preview == {
        "credits": 0.6,
        "computed": 0.6,
        "capped": False,
        "rule_id": None,
        "rule": "默认规则：每 16 学时折算 1 学分",
    }
    client.post(
        "/api/v1/credit-rules",
        json={"kind": "training", "mode": "per_hours", "hours_per_credit": "4", "yearly_cap": "2"},
        headers=api_token(client, registrar),
    )
    capped = client.get("/api/v1/credit-rules/preview?kind=training&hours=10").get_json()
    assert capped["computed"] == 2.5
    assert capped["credits"] == 2.0
    assert capped["capped"] is True
    assert client.get("/api/v1/credit-rules/preview?kind=training&hours=-1").status_code == 422
    assert client.get("/api/v1/credit-rules/preview?kind=x&hours=1").status_code == 422


def test_rules_outside_their_validity_do_not_apply(client, registrar):
    client.post(
        "/api/v1/credit-rules",
        json={
            "kind": "activity",
            "mode": "fixed",
            "fixed_credits": "2",
            "valid_from": "2020-01-01",
            "valid_until": "2020-12-31",
        },
        headers=api_token(client, registrar),
    )
    inside = "/api/v1/credit-rules/preview?kind=activity&hours=2&occurred_on=2020-06-01"
    outside = "/api/v1/credit-rules/preview?kind=activity&hours=2&occurred_on=2021-06-01"
    assert client.get(inside).get_json()["credits"] == 2.0
    assert client.get(outside).get_json()["credits"] == 0.1


def test_every_route_needs_sign_in_except_the_public_ones(client):
    for path in ("/api/v1/me/credits", "/api/v1/me/learning-file", "/api/v1/me/transcripts"):
        assert client.get(path).status_code == 401
    assert client.get("/api/v1/credit-rules").status_code == 200
    db.session.rollback()
