"""Transcripts: issued from standing credits, downloadable as PDF and signed JSON, verifiable in
public by serial and code or by the JSON itself; a changed byte or a reversal shows."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from lms.credits import operations
from lms.credits.models import Transcript
from lms.extensions import db
from tests.conftest import sign_in
from tests.credits.conftest import complete_course, submit


@pytest.fixture
def transcript(resident, registrar, create_course):
    complete_course(resident, create_course("生猪科学养殖技术", hours=16))
    operations.certify_outcome(registrar, submit(resident, hours="8", title="防汛志愿服务"))
    issued = operations.issue_transcript(resident)
    db.session.commit()
    return issued


def test_the_snapshot_lists_certified_outcomes_with_totals(transcript, resident):
    payload = transcript.document["transcript"]
    assert payload["holder"] == {
        "name": "王芳",
        "phone": resident.masked_phone,
        "account_no": operations.account_for(resident).account_no,
    }
    assert [row["title"] for row in payload["entries"]] == ["生猪科学养殖技术", "防汛志愿服务"]
    assert [row["credits"] for row in payload["entries"]] == ["1.0", "0.5"]
    assert payload["total_credits"] == "1.5"
    assert payload["total_hours"] == "24.0"
    assert payload["issuer"]["name"] == "泸县社区教育学院"
    assert payload["entries"][1]["certified_by"] == "泸县"
    assert payload["verify_url"].endswith(f"/verify/{transcript.serial}?code={transcript.code}")


def test_nothing_to_certify_means_no_transcript(resident):
    from lms.core.errors import OperationError

    with pytest.raises(OperationError) as refused:
        operations.issue_transcript(resident)
    assert refused.value.status == 409


def test_owner_downloads_pdf_and_json(client, resident, transcript):
    sign_in(client, resident)
    pdf = client.get(f"/transcripts/{transcript.serial}.pdf")
    assert pdf.status_code == 200
    assert pdf.data.startswith(b"%PDF-")
    assert pdf.mimetype == "application/pdf"
    document = client.get(f"/transcripts/{transcript.serial}.json").get_json()
    assert document["signature"]["alg"] == "Ed25519"
    assert document["transcript"]["serial"] == transcript.serial


def test_others_need_the_code(client, transcript, create_user):
    stranger = create_user(name="路人")
    sign_in(client, stranger)
    assert client.get(f"/transcripts/{transcript.serial}.pdf").status_code == 404
    assert client.get(f"/transcripts/{transcript.serial}.pdf?code=wrong").status_code == 404
    ok = client.get(f"/transcripts/{transcript.serial}.json?code={transcript.code}")
    assert ok.status_code == 200


def test_public_verify_page_and_api(client, transcript):
    page = client.get(f"/verify/{transcript.serial}?code={transcript.code}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "真实有效" in html
    assert "王*" in html
    assert "1.5" in html
    api = client.get(f"/api/v1/verify/{transcript.serial}?code={transcript.code}").get_json()
    assert api["valid"] is True
    assert api["revoked"] is False
    assert api["holder"] == "王*"
    assert api["total_credits"] == 1.5
    assert api["issuer"] == "泸县社区教育学院"


@pytest.mark.parametrize(
    "path",
    ["/verify/LX2026-NOPE1234?code=abc", "/verify/{serial}?code=wrong", "/verify/{serial}"],
)
def test_unknown_serial_or_wrong_code_is_404(client, transcript, path):
    path = path.format(serial=transcript.serial)
    assert client.get(path).status_code == 404
    api = client.get("/api/v1" + path)
    assert api.status_code == 404
    assert api.get_json()["error"]["code"] == "not_found"


def test_the_signed_json_verifies_and_one_changed_byte_fails(client, transcript):
    document = transcript.document
    ok = client.post("/api/v1/verify", json=document)
    assert ok.status_code == 200
    assert ok.get_json()["valid"] is True
    raw = json.dumps(document, ensure_ascii=False)
    tampered = raw.replace('"1.5"', '"9.5"', 1)
    assert tampered != raw
    bad = client.post("/api/v1/verify", data=tampered.encode(), content_type="application/json")
    assert bad.status_code == 422
    assert bad.get_json()["valid"] is False
    assert bad.get_json()["reason"]


def test_every_single_byte_change_of_the_payload_fails(client, transcript):
    """Not one lucky field: flip each character of the holder block in turn."""
    from lms.credits.signing import verify_document

    raw = json.dumps(transcript.document, ensure_ascii=False)
    start = raw.index('"holder"')
    tried = 0
    for position in range(start + 10, start + 90):
        changed = raw[:position] + ("X" if raw[position] != "X" else "Y") + raw[position + 1 :]
        try:
            document = json.loads(changed)
        except ValueError:
            continue  # not JSON any more: nothing to verify
        tried += 1
        assert verify_document(document).valid is False, changed[start : start + 90]
    assert tried > 30


def test_uploading_the_json_on_the_verify_page(client, transcript):
    import io

    body = json.dumps(transcript.document, ensure_ascii=False).encode()
    ok = client.post(
        "/verify",
        data={"document": (io.BytesIO(body), "t.json")},
        content_type="multipart/form-data",
    )
    assert ok.status_code == 200
    assert "真实有效" in ok.get_data(as_text=True)
    tampered = body.replace("王芳".encode(), "王方".encode())
    bad = client.post(
        "/verify",
        data={"document": (io.BytesIO(tampered), "t.json")},
        content_type="multipart/form-data",
    )
    assert bad.status_code == 422
    assert "真实有效" not in bad.get_data(as_text=True)
    junk = client.post(
        "/verify",
        data={"document": (io.BytesIO(b"\xff\x00"), "t.json")},
        content_type="multipart/form-data",
    )
    assert junk.status_code == 422


@pytest.mark.parametrize("body", [b"", b"[]", b"not json", b'{"transcript": 1}', b"null"])
def test_verify_api_refuses_junk_with_a_4xx(client, body):
    response = client.post("/api/v1/verify", data=body, content_type="application/json")
    assert 400 <= response.status_code < 500


def test_reversing_a_listed_entry_revokes_the_transcript(client, transcript, registrar):
    from lms.credits.models import LedgerEntry

    entry = transcript.document["transcript"]["entries"][1]["entry_id"]

    operations.reverse_entry(registrar, db.session.get(LedgerEntry, entry), reason="证书无效")
    db.session.commit()
    api = client.get(f"/api/v1/verify/{transcript.serial}?code={transcript.code}").get_json()
    assert api["valid"] is False
    assert api["revoked"] is True
    assert api["revoked_reason"] == "证书无效"
    again = client.post("/api/v1/verify", json=transcript.document).get_json()
    assert again["valid"] is False
    assert again["revoked"] is True
    page = client.get(f"/verify/{transcript.serial}?code={transcript.code}").get_data(as_text=True)
    assert "已撤销" in page
    assert "证书无效" in page


def test_public_key_is_published(client, transcript):
    keys = client.get("/.well-known/lms-transcript-keys.json").get_json()["keys"]
    assert keys[0]["kty"] == "OKP"
    assert keys[0]["crv"] == "Ed25519"
    assert keys[0]["kid"] == transcript.document["signature"]["kid"]


def test_the_signed_record_is_chinese_whatever_the_readers_language(
    client, resident, create_course
):
    complete_course(resident, create_course(hours=16))
    sign_in(client, resident)
    client.get("/lang/en")
    assert client.post("/me/transcripts").status_code == 302
    transcript = db.session.scalar(select(Transcript))
    payload = transcript.document["transcript"]
    assert payload["entries"][0]["kind_label"] == "线上课程"
    assert payload["issuer"]["name"] == "泸县社区教育学院"
    assert "Credits" in client.get("/me/credits").get_data(as_text=True)  # the page is English


@pytest.mark.parametrize("code", ["验证码", "\x00", "a" * 41, "é", "%F0%9F%98%80", "x y"])
@pytest.mark.parametrize(
    "path",
    [
        "/verify/{serial}",
        "/api/v1/verify/{serial}",
        "/transcripts/{serial}.pdf",
        "/transcripts/{serial}.json",
        "/api/v1/transcripts/{serial}.json",
    ],
)
def test_an_odd_code_is_a_plain_not_found(client, transcript, path, code):
    """Codes of any script or length are compared safely (they were a 500 for non-ASCII)."""
    url = path.format(serial=transcript.serial)
    response = client.get(url, query_string={"code": code})
    if url.startswith("/verify/"):  # the public page answers, and says it found nothing
        assert response.status_code in (200, 404)
        assert "没有找到" in response.get_data(as_text=True)
    else:
        assert response.status_code in (404, 422)
