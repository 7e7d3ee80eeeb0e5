"""Standard credentials: a certified outcome as an Open Badges 3.0 badge (数字学分凭证), a
transcript as a CLR 2.0 learner record (数字学习档案) carrying the badges, signed
eddsa-rdfc-2022 by the site's did:web; checked back by our verifier (page and API), with one
changed character, a reversal and every kind of bad file."""

from __future__ import annotations

import copy
import io
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from lms.core.time import utcnow
from lms.credits import operations, signing
from lms.credits.credentials import did, jsonld, proofs, status, verify
from lms.credits.credentials.issue import xsd_time
from lms.credits.models import LearningOutcome, LedgerEntry, StandardCredential
from lms.extensions import db
from tests.conftest import api_token, sign_in
from tests.credits.conftest import complete_course, submit

VECTORS = Path(__file__).parent / "vectors"
PUBLIC = "https://xuexi.luxian.example"
UNDEFINED_TERMS = "https://www.w3.org/ns/credentials/undefined-terms/v2"


@pytest.fixture
def app_config():
    return {"LMS_PUBLIC_URL": PUBLIC}


@pytest.fixture
def learner(resident, registrar, create_course):
    """王芳 with a completed course and a certified volunteer outcome, and a transcript."""
    complete_course(resident, create_course("生猪科学养殖技术", hours=16))
    operations.certify_outcome(registrar, submit(resident, hours="8", title="防汛志愿服务"))
    transcript = operations.issue_transcript(resident)
    db.session.commit()
    return resident, transcript


def _outcome(user, title) -> LearningOutcome:
    return db.session.scalar(select(LearningOutcome).filter_by(user_id=user.id, title=title))


def badge_of(client, user, title) -> dict:
    response = client.get(f"/me/outcomes/{_outcome(user, title).id}/badge.json")
    assert response.status_code == 200, response.data[:300]
    assert "attachment" in response.headers["Content-Disposition"]
    return json.loads(response.data)


def record_of(client, transcript) -> dict:
    response = client.get(f"/transcripts/{transcript.serial}.record.json")
    assert response.status_code == 200, response.data[:300]
    return json.loads(response.data)


def upload(client, document, name="凭证.json"):
    raw = document if isinstance(document, bytes) else json.dumps(document).encode()
    return client.post(
        "/verify",
        data={"document": (io.BytesIO(raw), name)},
        content_type="multipart/form-data",
    )


def test_a_badge_is_an_open_badge_signed_by_the_sites_did(client, learner):
    resident, _transcript = learner
    sign_in(client, resident)
    badge = badge_of(client, resident, "防汛志愿服务")
    assert badge["@context"] == [jsonld.CREDENTIALS_V2, jsonld.OB_V3]
    assert badge["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert badge["issuer"]["id"] == "did:web:xuexi.luxian.example"
    assert badge["issuer"]["name"] == "泸县社区教育学院"
    subject = badge["credentialSubject"]
    assert subject["achievement"]["name"] == "防汛志愿服务"
    assert subject["achievement"]["achievementType"] == "CommunityService"
    assert "8.0 学时" in subject["achievement"]["criteria"]["narrative"]
    assert subject["creditsEarned"] == 0.5
    assert subject["result"][0]["value"] == "8.0"
    # The name only: no phone number, not even hashed (a salted hash of 11 digits is guessed).
    text = json.dumps(badge, ensure_ascii=False)
    assert resident.phone not in text
    assert subject["identifier"] == [
        {"type": "IdentityObject", "identityType": "name", "hashed": False, "identityHash": "王芳"}
    ]
    assert "salt" not in text
    proof = badge["proof"]
    assert (proof["type"], proof["cryptosuite"]) == ("DataIntegrityProof", "eddsa-rdfc-2022")
    assert proof["verificationMethod"] == did.verification_method(
        signing.signing_key().public_key()
    )
    assert badge["credentialStatus"]["statusListCredential"] == f"{PUBLIC}/credentials/status/1"
    # Downloaded again: the same credential, not a second one.
    assert badge_of(client, resident, "防汛志愿服务") == badge
    assert db.session.scalar(select(func.count(StandardCredential.id))) == 1


def test_our_verifier_accepts_badge_and_record_and_refuses_one_changed_character(client, learner):
    resident, transcript = learner
    sign_in(client, resident)
    badge = badge_of(client, resident, "生猪科学养殖技术")
    record = record_of(client, transcript)
    assert record["type"] == ["VerifiableCredential", "ClrCredential"]
    assert record["@context"] == [jsonld.CREDENTIALS_V2, jsonld.CLR_V2, jsonld.OB_V3]
    inner = record["credentialSubject"]["verifiableCredential"]
    assert [b["credentialSubject"]["achievement"]["name"] for b in inner] == [
        "生猪科学养殖技术",
        "防汛志愿服务",
    ]
    assert inner[0] == badge  # the record carries the very badges the resident downloads

    page = upload(client, badge)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "真实有效" in html
    assert "数字学分凭证" in html
    assert "王*" in html
    api = client.post("/api/v1/verify", json=record).get_json()
    assert api["valid"] is True
    assert api["kind"] == "record"
    assert api["count"] == 2
    assert api["credits"] == 1.5

    changed = json.loads(json.dumps(badge, ensure_ascii=False).replace("生猪科学", "生猪科字"))
    refused = client.post("/api/v1/verify", json=changed)
    assert refused.status_code == 422
    assert refused.get_json()["reason"] == "签名与内容不符，文件可能被改动过"
    # One character inside a badge the record carries.
    tampered = copy.deepcopy(record)
    tampered["credentialSubject"]["verifiableCredential"][1]["credentialSubject"][
        "creditsEarned"
    ] = 5
    answer = client.post("/api/v1/verify", json=tampered).get_json()
    assert answer["valid"] is False
    assert "改动" in answer["reason"]


def test_a_reversal_sets_the_bit_in_the_published_status_list(client, learner, registrar):
    resident, transcript = learner
    sign_in(client, resident)
    badge = badge_of(client, resident, "防汛志愿服务")
    other = badge_of(client, resident, "生猪科学养殖技术")
    record = record_of(client, transcript)
    index = int(badge["credentialStatus"]["statusListIndex"])

    published = client.get("/credentials/status/1")
    assert published.status_code == 200
    assert published.headers["Access-Control-Allow-Origin"] == "*"
    listed = published.get_json()
    assert listed["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    assert proofs.verify_proof(listed, signing.signing_key().public_key())
    assert not status.bit_set(status.decode(listed["credentialSubject"]["encodedList"]), index)

    entry = db.session.get(
        LedgerEntry, operations.account_for(resident).id and _deposit_id(resident, "防汛志愿服务")
    )
    operations.reverse_entry(registrar, entry, reason="证书不实")
    db.session.commit()

    listed = client.get("/credentials/status/1").get_json()
    bits = status.decode(listed["credentialSubject"]["encodedList"])
    assert status.bit_set(bits, index)
    assert not status.bit_set(bits, int(other["credentialStatus"]["statusListIndex"]))
    assert status.bit_set(bits, int(record["credentialStatus"]["statusListIndex"]))

    answer = client.post("/api/v1/verify", json=badge).get_json()
    assert (answer["valid"], answer["revoked"]) == (False, True)
    assert "撤销" in upload(client, record).get_data(as_text=True)
    assert client.post("/api/v1/verify", json=other).get_json()["valid"] is True
    # No badge for reversed credits, no learner record of a revoked transcript.
    outcome = _outcome(resident, "防汛志愿服务")
    assert (
        client.get(
            f"/api/v1/me/outcomes/{outcome.id}/badge", headers=api_token(client, resident)
        ).status_code
        == 409
    )


def _deposit_id(user, title) -> int:
    return db.session.scalar(
        select(LedgerEntry.id).where(LedgerEntry.outcome_id == _outcome(user, title).id)
    )


def test_did_document_keeps_retired_keys_so_old_credentials_verify(client, learner, app):
    resident, _transcript = learner
    sign_in(client, resident)
    badge = badge_of(client, resident, "防汛志愿服务")
    old_transcript = client.get(f"/transcripts/{_transcript.serial}.json").get_json()
    rotated = app.test_cli_runner().invoke(args=["credits", "rotate-key", "--yes"])
    assert rotated.exit_code == 0, rotated.output
    assert "retired key" in rotated.output
    document = client.get("/.well-known/did.json").get_json()
    assert document["id"] == "did:web:xuexi.luxian.example"
    methods = [m["id"] for m in document["verificationMethod"]]
    assert len(methods) == 2
    assert methods == document["assertionMethod"]
    assert badge["proof"]["verificationMethod"] == methods[1]  # retired, still listed
    assert client.post("/api/v1/verify", json=badge).get_json()["valid"] is True
    assert client.post("/api/v1/verify", json=old_transcript).get_json()["valid"] is True


def test_owner_only_and_only_standing_credits(client, learner, registrar, create_user):
    resident, transcript = learner
    stranger = create_user(name="李明")
    sign_in(client, stranger)
    outcome = _outcome(resident, "防汛志愿服务")
    assert client.get(f"/me/outcomes/{outcome.id}/badge.json").status_code == 404
    assert client.get(f"/transcripts/{transcript.serial}.record.json").status_code == 404
    # Anyone with the verification code may fetch the record, as the PDF.
    coded = client.get(f"/api/v1/transcripts/{transcript.serial}/record?code={transcript.code}")
    assert coded.status_code == 200
    assert json.loads(coded.data)["type"][1] == "ClrCredential"
    pending = submit(stranger, hours="2", title="读书会")
    assert client.get(f"/me/outcomes/{pending.id}/badge.json").status_code == 302


def test_1edtech_test_vector_passes_our_verifier():
    signed = json.loads((VECTORS / "1edtech-ob3-eddsa-rdfc-2022-signed.json").read_text())
    controller = json.loads((VECTORS / "1edtech-ob3-eddsa-rdfc-2022-controller.json").read_text())
    key = proofs.public_key_from_multikey(controller["verificationMethod"][0]["publicKeyMultibase"])
    unsecured = {k: v for k, v in signed.items() if k != "proof"}
    assert (
        jsonld.canonize(unsecured)
        == (VECTORS / "1edtech-ob3-eddsa-rdfc-2022-document.nq").read_text()
    )
    options = {k: v for k, v in signed["proof"].items() if k != "proofValue"}
    options["@context"] = signed["@context"]
    assert (
        jsonld.canonize(options) == (VECTORS / "1edtech-ob3-eddsa-rdfc-2022-proof.nq").read_text()
    )
    assert proofs.verify_proof(signed, key)
    signed["name"] = "Teamwork Badgf"
    assert not proofs.verify_proof(signed, key)


def _signed_variant(badge: dict, **changes) -> dict:
    """*badge* changed and signed again with the site's key (what only we could make)."""
    document = {k: v for k, v in badge.items() if k != "proof"}
    document.update(changes)
    key = signing.signing_key()
    return proofs.add_proof(
        document, key, did.verification_method(key.public_key()), xsd_time(utcnow())
    )


BAD = {
    "not json": (b"\xef\xbb\xbf{not json", "不是有效的 JSON"),
    "a list": (b"[1, 2, 3]", "这不是学分证明、数字学分凭证或数字学习档案"),
    "no credential": (b'{"name": "\xe5\xad\xa6\xe5\x88\x86"}', "这不是学分证明"),
    "deep": (b"[" * 5000 + b"]" * 5000, "嵌套层数过多"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_files_get_a_chinese_4xx_and_nothing_is_stored(client, learner, case):
    raw, message = BAD[case]
    response = upload(client, raw)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(StandardCredential.id))) == 0


def test_bad_credentials_are_refused_with_reasons(client, learner):
    resident, _transcript = learner
    sign_in(client, resident)
    badge = badge_of(client, resident, "防汛志愿服务")
    remote = copy.deepcopy(badge)
    remote["@context"].append("https://evil.example/context.json")
    wrong_suite = copy.deepcopy(badge)
    wrong_suite["proof"]["cryptosuite"] = "ecdsa-rdfc-2019"
    cases = {
        "remote context": (remote, "不会联网获取"),
        "unknown context only": ({**badge, "@context": ["https://example.org/x"]}, "@context"),
        "wrong cryptosuite": (wrong_suite, "eddsa-rdfc-2022"),
        "expired": (_signed_variant(badge, validUntil="2020-01-01T00:00:00Z"), "已过有效期"),
        "malformed status": (
            _signed_variant(
                badge, credentialStatus={**badge["credentialStatus"], "statusListIndex": "-1"}
            ),
            "撤销状态信息格式不正确",
        ),
        "status list elsewhere": (
            _signed_variant(
                badge,
                credentialStatus={
                    **badge["credentialStatus"],
                    "statusListCredential": "https://evil.example/credentials/status/1",
                },
            ),
            "撤销状态信息格式不正确",
        ),
        "remote context inside the credential": (
            {
                **badge,
                "credentialSubject": {
                    **badge["credentialSubject"],
                    "@context": "https://evil.example/c",
                },
            },
            "不会联网获取",
        ),
    }
    # Seven blank nodes all knowing each other make RDF canonicalisation exponential (about
    # 90 s unbounded here); a budget of work refuses it at once.
    clique = [
        {"@id": f"_:c{i}", "knows": [{"@id": f"_:c{k}"} for k in range(7) if k != i]}
        for i in range(7)
    ]
    cases["poison graph"] = (
        {**badge, "@context": [*badge["@context"], UNDEFINED_TERMS], "evidence": clique},
        "结构异常复杂",
    )
    cases["an undefined field the signature would not cover"] = (
        {**badge, "creditsEarnedTotal": 99},
        "creditsEarnedTotal",
    )
    for name, (document, message) in cases.items():
        answer = client.post("/api/v1/verify", json=document)
        assert answer.status_code == 422, name
        assert message in answer.get_json()["reason"], (name, answer.get_json())
        page = upload(client, document)
        assert page.status_code == 422, name
        assert message in page.get_data(as_text=True), name
    huge = b'{"name": "' + b"x" * (20 * 1024 * 1024) + b'"}'
    # Sent as the raw multipart body (the test client would spool it to a file it never closes).
    boundary = "----lms-test-boundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="document"; filename="big.json"'
            "\r\nContent-Type: application/json\r\n\r\n"
        ).encode()
        + huge
        + f"\r\n--{boundary}--\r\n".encode()
    )
    page = client.post(
        "/verify", data=body, content_type=f"multipart/form-data; boundary={boundary}"
    )
    assert page.status_code == 413
    assert "文件太大" in page.get_data(as_text=True)
    too_big = client.post("/api/v1/verify", data=huge, content_type="application/json")
    assert too_big.status_code == 413
    assert db.session.scalar(select(func.count(StandardCredential.id))) == 1


def test_my_credits_offers_the_downloads_in_plain_words(client, learner):
    resident, transcript = learner
    sign_in(client, resident)
    html = client.get("/me/credits").get_data(as_text=True)
    assert "下载数字学分凭证" in html
    assert "数字学习档案" in html
    assert "OpenBadgeCredential" not in html
    assert "ClrCredential" not in html
    assert f"/transcripts/{transcript.serial}.record.json" in html


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)


def test_any_mangled_badge_gets_an_answer_never_an_exception(client, learner):
    """Whatever replaces any one part of a genuine badge (its signature still names our key),
    the checker answers with a reason: hostile input reaches pyld only after the cheap checks,
    and nothing it raises escapes."""
    resident, _transcript = learner
    sign_in(client, resident)
    badge = badge_of(client, resident, "防汛志愿服务")
    paths = [
        ("@context",),
        ("type",),
        ("issuer",),
        ("validFrom",),
        ("credentialSubject",),
        ("credentialSubject", "achievement"),
        ("credentialSubject", "identifier"),
        ("credentialStatus",),
        ("credentialStatus", "statusListIndex"),
        ("proof", "proofValue"),
        ("proof", "created"),
    ]

    @settings(max_examples=40, deadline=None)
    @given(path=st.sampled_from(paths), value=JSON_VALUES)
    def mangle(path, value):
        document = copy.deepcopy(badge)
        target = document
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        finding = verify.check_any(document)
        assert not finding.valid
        assert finding.reason

    mangle()


def test_a_document_with_too_many_parts_is_refused_before_canonicalisation(client, learner):
    """A badge-shaped file naming our key, whose achievement is thousands of small objects
    (pyld's to_rdf would take minutes), or gathers them on one node by a shared id, is refused
    by the cheap count; so is a file over the size limit."""
    resident, _transcript = learner
    sign_in(client, resident)
    badge = badge_of(client, resident, "防汛志愿服务")
    many = copy.deepcopy(badge)
    many["credentialSubject"]["achievement"] = [
        {"type": ["Achievement"], "name": f"成果{n}"} for n in range(10_000)
    ]
    merged = copy.deepcopy(badge)
    merged["credentialSubject"]["achievement"] = [
        {"id": "urn:x:same", "type": ["Achievement"], "name": [f"成果{n}-{k}" for k in range(200)]}
        for n in range(20)
    ]
    for document in (many, merged):
        assert verify.too_large(document)
        response = client.post("/api/v1/verify", json=document)
        assert response.status_code == 422
        assert "条目过多" in response.get_json()["reason"]
    response = upload(client, merged)
    assert response.status_code == 422
    assert "条目过多" in response.get_data(as_text=True)
    assert not verify.too_large(badge)
    huge = json.dumps({**badge, "padding": "x" * verify.MAX_BYTES}).encode()
    response = client.post("/api/v1/verify", data=huge, content_type="application/json")
    assert response.status_code == 413


def test_only_status_lists_in_use_are_published_and_the_cache_drops_one(client, learner):
    resident, _transcript = learner
    assert client.get("/credentials/status/1").status_code == 200  # before any credential
    assert client.get("/credentials/status/2").status_code == 404
    assert client.get("/credentials/status/999999").status_code == 404
    sign_in(client, resident)
    badge_of(client, resident, "防汛志愿服务")
    assert client.get("/credentials/status/1").status_code == 200
    assert client.get("/credentials/status/2").status_code == 404
    # A full cache loses its least recently used list, not every list.
    status._signed.clear()
    first = status.status_list_credential(1)
    for n in range(status.CACHE_SIZE - 1):
        status._signed[("filler", n)] = {}
    assert status.status_list_credential(1) is first  # used again: now the most recent
    status.status_list_credential(2)  # signs one more: drops the oldest filler only
    assert len(status._signed) == status.CACHE_SIZE
    assert ("filler", 0) not in status._signed
    assert status.status_list_credential(1) is first
    status._signed.clear()
