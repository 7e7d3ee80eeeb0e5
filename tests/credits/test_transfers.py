"""Credits from elsewhere (学分互认): credentials of another institution, checked against the
county's trust list, imported as 外部转入 outcomes, certified once (``credential:<id>``), and
re-checked at their source. The issuer here signs with a key of its own (did:key), so no
network is needed but for the status lists, served by a real server on loopback."""

from __future__ import annotations

import hashlib
import io
import json
import socket
import threading
import uuid
from datetime import date
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select

from lms.accounts.models import Notice, Role
from lms.core.errors import OperationError
from lms.credits import operations
from lms.credits.credentials import foreign, jsonld, status
from lms.credits.credentials.fetch import (
    FetchFailed,
    did_web_document_url,
    fetch_json,
    origin_of_did_web,
)
from lms.credits.credentials.proofs import add_proof, multikey
from lms.credits.models import (
    CredentialUpload,
    LearningOutcome,
    LedgerEntry,
    OutcomeKind,
    OutcomeStatus,
    RuleMode,
)
from lms.extensions import db
from tests.conftest import api_token, sign_in

ISSUER_NAME = "江阳区社区大学"


class Issuer:
    """Another institution: a key, its did:key, and optionally a status list it serves."""

    def __init__(self):
        self.key = Ed25519PrivateKey.generate()
        self.mk = multikey(self.key.public_key())
        self.did = f"did:key:{self.mk}"
        self.method = f"{self.did}#{self.mk}"

    def badge(
        self,
        *,
        name="王芳",
        status_entry=None,
        valid_until=None,
        kind="Course",
        title="茶艺基础",
        **extra,
    ):
        document = {
            "@context": [jsonld.CREDENTIALS_V2, jsonld.OB_V3],
            "id": f"urn:uuid:{uuid.uuid4()}",
            "type": ["VerifiableCredential", "OpenBadgeCredential"],
            "name": "数字学分凭证：茶艺基础",
            "issuer": {"id": self.did, "type": ["Profile"], "name": ISSUER_NAME},
            "validFrom": "2026-03-05T08:00:00Z",
            "credentialSubject": {
                "type": ["AchievementSubject"],
                "identifier": [
                    {
                        "type": "IdentityObject",
                        "identityType": "name",
                        "hashed": False,
                        "identityHash": name,
                    }
                ],
                "achievement": {
                    "id": f"urn:uuid:{uuid.uuid4()}",
                    "type": ["Achievement"],
                    "achievementType": kind,
                    "name": title,
                    "description": "茶艺基础课程",
                    "criteria": {"narrative": "完成全部课时"},
                },
                "creditsEarned": 2,
            },
            **extra,
        }
        if status_entry is not None:
            document["credentialStatus"] = status_entry
        if valid_until is not None:
            document["validUntil"] = valid_until
        return self.sign(document)

    def sign(self, document):
        return add_proof(document, self.key, self.method, "2026-03-05T08:00:00Z")

    def status_list(self, url, revoked=()):
        return self.sign(
            {
                "@context": [jsonld.CREDENTIALS_V2],
                "id": url,
                "type": ["VerifiableCredential", "BitstringStatusListCredential"],
                "issuer": self.did,
                "validFrom": "2026-03-05T08:00:00Z",
                "credentialSubject": {
                    "id": f"{url}#list",
                    "type": "BitstringStatusList",
                    "statusPurpose": "revocation",
                    "encodedList": status.encode(list(revoked)),
                },
            }
        )


def status_entry(url, index=7):
    return {
        "id": f"{url}#{index}",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": str(index),
        "statusListCredential": url,
    }


@pytest.fixture
def app_config():
    return {"LMS_FETCH_PRIVATE_ADDRESSES": True}


@pytest.fixture(autouse=True)
def _fresh_status_cache():
    foreign.forget_cached_lists()
    yield
    foreign.forget_cached_lists()


@pytest.fixture
def served():
    """A real HTTP server on loopback answering each path with the body put in ``bodies``."""
    bodies: dict[str, bytes] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            body = bodies.get(self.path)
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", bodies
    server.shutdown()
    server.server_close()


@pytest.fixture
def issuer():
    return Issuer()


@pytest.fixture
def trusted(issuer, registrar, served):
    origin, _bodies = served
    entry = operations.add_trusted_issuer(
        registrar,
        name=ISSUER_NAME,
        did=issuer.did,
        trusted_from=date(2026, 1, 1),
        achievement_types=["Course", "Certificate"],
        origin=origin,
    )
    operations.save_rule(
        registrar,
        kind=OutcomeKind.TRANSFER,
        category=None,
        mode=RuleMode.SOURCE,
        credit_ratio="1",
        yearly_cap="3",
        issuer=entry,
    )
    db.session.commit()
    return entry


def post(client, headers, document, **params):
    raw = document if isinstance(document, bytes) else json.dumps(document).encode()
    return client.post(
        "/api/v1/credentials/import",
        data=raw,
        headers={**headers, "Content-Type": "application/json"},
        query_string=params,
    )


def nothing_stored():
    return (
        db.session.scalar(select(func.count(CredentialUpload.id))) == 0
        and db.session.scalar(select(func.count(LearningOutcome.id))) == 0
    )


def test_untrusted_forged_and_someone_elses_credentials_are_refused(
    client, resident, issuer, trusted
):
    headers = api_token(client, resident)
    stranger = Issuer()
    refused = post(client, headers, stranger.badge())
    assert refused.status_code == 403
    assert "不在本县学分互认的可信单位名单上" in refused.get_json()["error"]["message"]

    forged = issuer.badge()
    forged["credentialSubject"]["creditsEarned"] = 20
    refused = post(client, headers, forged)
    assert refused.status_code == 422
    assert "签名与内容不符" in refused.get_json()["error"]["message"]

    # Signed with another key under the trusted DID: not the key the trust list holds.
    impostor = Issuer()
    impostor.did, impostor.method = issuer.did, f"{issuer.did}#{impostor.mk}"
    refused = post(client, headers, impostor.badge())
    assert refused.status_code == 422
    assert "密钥" in refused.get_json()["error"]["message"]

    refused = post(client, headers, issuer.badge(name="李建国"))
    assert refused.status_code == 403
    assert "不是颁发给您的" in refused.get_json()["error"]["message"]
    assert "李*国" in refused.get_json()["error"]["message"]
    assert nothing_stored()


def test_a_trusted_badge_becomes_one_pending_transfer_certified_once(
    client, resident, registrar, issuer, trusted, create_user
):
    headers = api_token(client, resident)
    badge = issuer.badge()
    answer = post(client, headers, badge)
    assert answer.status_code == 201, answer.get_json()
    body = answer.get_json()
    assert body["issuer"] == ISSUER_NAME
    assert body["kind"] == "badge"
    [item] = body["items"]
    assert item["accepted"]
    assert item["title"] == "茶艺基础"
    assert item["credits"] == 2.0
    outcome = db.session.get(LearningOutcome, item["outcome_id"])
    assert outcome.kind is OutcomeKind.TRANSFER
    assert outcome.status is OutcomeStatus.PENDING

    again = post(client, headers, badge)
    assert again.status_code == 409
    assert "已经转入过了" in again.get_json()["error"]["message"]

    # A type the county does not accept from this issuer, and one issued before it is trusted.
    volunteer = post(client, headers, issuer.badge(kind="CommunityService"))
    assert volunteer.status_code == 409
    assert "互认范围" in volunteer.get_json()["error"]["message"]
    early = post(client, headers, issuer.badge(validFrom="2025-06-01T00:00:00Z"))
    assert early.status_code == 409
    assert "起始日期" in early.get_json()["error"]["message"]

    reviewer = api_token(client, registrar)
    certified = client.post(f"/api/v1/outcomes/{outcome.id}/certify", headers=reviewer)
    assert certified.status_code == 200, certified.get_json()
    assert certified.get_json()["credits"] == 2.0  # 1:1 of the issuer's credits
    entry = db.session.scalar(
        select(LedgerEntry).filter_by(idempotency_key=f"credential:{badge['id']}")
    )
    assert entry is not None
    assert entry.amount == 2

    assert entry.memo == f"{ISSUER_NAME}：按原单位学分的 1 倍折算，每年最多 3 学分"
    # The rule's yearly cap (3) counts this issuer's credits: a second badge earns what is left.
    second_badge = post(client, headers, issuer.badge(title="插花入门"))
    assert second_badge.status_code == 201, second_badge.get_json()
    capped = client.post(
        f"/api/v1/outcomes/{second_badge.get_json()['items'][0]['outcome_id']}/certify",
        headers=reviewer,
    )
    assert capped.get_json()["credits"] == 1.0

    # Someone else of the same name (a name is all the badge says) cannot have it credited again.
    namesake = create_user(name="王芳")
    second = post(client, api_token(client, namesake), badge)
    assert second.status_code == 409


def test_bad_files_are_refused_in_chinese_and_nothing_is_stored(
    client, resident, issuer, trusted, served
):
    origin, bodies = served
    headers = api_token(client, resident)
    good = issuer.badge()

    def message(response, status):
        assert response.status_code == status, (response.status_code, response.get_data()[:300])
        text = response.get_json()["error"]["message"]
        assert any("\u4e00" <= char <= "\u9fff" for char in text), text
        return text

    message(post(client, headers, b"{not json"), 400)
    message(post(client, headers, {"hello": "world"}), 422)
    unknown = {**good, "@context": [jsonld.CREDENTIALS_V2, "https://example.org/ctx.jsonld"]}
    assert "不会联网" in message(post(client, headers, unknown), 422)
    wrong_suite = {**good, "proof": {**good["proof"], "cryptosuite": "ecdsa-rdfc-2019"}}
    assert "eddsa-rdfc-2022" in message(post(client, headers, wrong_suite), 422)
    expired = issuer.badge(valid_until="2026-04-01T00:00:00Z")
    assert "有效期" in message(post(client, headers, expired), 422)
    nested = b'{"a":' * 2000 + b"1" + b"}" * 2000
    message(post(client, headers, nested), 400)
    huge = b'{"@context": "' + b"x" * (20 * 1024 * 1024) + b'"}'
    message(post(client, headers, huge), 413)
    # A remote @context inside the document (never fetched).
    remote = {**good, "evidence": [{"@context": "https://evil.example/c"}]}
    assert "不会联网" in message(post(client, headers, remote), 422)

    # Status lists: unreachable (nothing listens there), not JSON, a list signed by someone else.
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    trusted.origin = f"http://127.0.0.1:{port}"
    db.session.commit()
    gone = issuer.badge(status_entry=status_entry(f"http://127.0.0.1:{port}/status/1"))
    assert "暂时无法" in message(post(client, headers, gone), 424)
    trusted.origin = origin
    db.session.commit()
    bodies["/status/2"] = b"<html>oops</html>"
    broken = issuer.badge(status_entry=status_entry(f"{origin}/status/2"))
    assert "暂时无法" in message(post(client, headers, broken), 424)
    bodies["/status/3"] = json.dumps(Issuer().status_list(f"{origin}/status/3")).encode()
    alien = issuer.badge(status_entry=status_entry(f"{origin}/status/3"))
    message(post(client, headers, alien), 424)
    # A status list somewhere else than the issuer's own site is never asked.
    elsewhere = issuer.badge(status_entry=status_entry("http://169.254.169.254/latest/meta-data"))
    assert "不在签发单位的网站上" in message(post(client, headers, elsewhere), 422)
    assert nothing_stored()


def test_a_revoked_badge_is_refused_and_a_revocation_found_later_is_flagged(
    client, app, resident, registrar, issuer, trusted, served
):
    origin, bodies = served
    url = f"{origin}/status/1"
    bodies["/status/1"] = json.dumps(issuer.status_list(url, revoked=[3])).encode()
    revoked = post(
        client, api_token(client, resident), issuer.badge(status_entry=status_entry(url, 3))
    )
    assert revoked.status_code == 409
    assert "撤销" in revoked.get_json()["error"]["message"]

    badge = issuer.badge(status_entry=status_entry(url, 9))
    answer = post(client, api_token(client, resident), badge)
    assert answer.status_code == 201, answer.get_json()
    outcome = db.session.get(LearningOutcome, answer.get_json()["items"][0]["outcome_id"])
    operations.certify_outcome(registrar, outcome)
    db.session.commit()
    assert operations.recheck_imported().newly_revoked == 0

    bodies["/status/1"] = json.dumps(issuer.status_list(url, revoked=[3, 9])).encode()
    report = operations.recheck_imported()
    db.session.commit()
    assert report.newly_revoked == 1
    [flagged] = operations.flagged_imports(registrar)
    assert flagged.outcome_id == outcome.id
    notices = db.session.scalars(select(Notice.title).filter_by(user_id=registrar.id)).all()
    assert any("已撤销“茶艺基础”" in title for title in notices)
    # The registrar reverses it through the usual path; the flag goes away.
    operations.reverse_entry(registrar, _deposit_of(outcome), reason="原单位已撤销")
    db.session.commit()
    assert operations.flagged_imports(registrar) == []


def _deposit_of(outcome):
    return db.session.scalar(select(LedgerEntry).filter_by(outcome_id=outcome.id))


@pytest.mark.parametrize("workers", [6])
def test_parallel_imports_and_certifications_credit_one_credential_once(
    app, create_user, registrar, issuer, trusted, workers
):
    first, second = create_user(name="王芳"), create_user(name="王芳")
    badge = issuer.badge()
    raw = json.dumps(badge).encode()
    first_id, second_id, registrar_id = first.id, second.id, registrar.id
    from lms.accounts.models import User

    def run_all(work):
        barrier = threading.Barrier(workers)
        results = []

        def run(n):
            with app.app_context():
                barrier.wait()
                try:
                    work(n)
                    db.session.commit()
                    results.append("ok")
                except OperationError as error:
                    db.session.rollback()
                    results.append(f"refused {error.status}")
                except Exception as error:  # a database that says busy: tried again by the views
                    db.session.rollback()
                    results.append(type(error).__name__)
                finally:
                    db.session.remove()

        threads = [threading.Thread(target=run, args=(n,)) for n in range(workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        return results

    def upload(n):
        user = db.session.get(User, first_id if n % 2 else second_id)
        operations.import_credential(user, user, json.loads(raw), raw)

    imported = run_all(upload)
    assert "ok" in imported
    db.session.expire_all()
    pending = db.session.scalars(
        select(LearningOutcome.id).filter_by(
            kind=OutcomeKind.TRANSFER, status=OutcomeStatus.PENDING
        )
    ).all()
    assert pending

    def certify(n):
        officer = db.session.get(User, registrar_id)
        outcome = db.session.get(LearningOutcome, pending[n % len(pending)])
        operations.certify_outcome(officer, outcome)

    certified = run_all(certify)
    # One certification posts; every other is refused (decided already, or the credential is
    # credited already), whatever the interleaving.
    assert certified.count("ok") == 1, certified
    assert all(result == "refused 409" for result in certified if result != "ok"), certified
    # At most one live transfer per resident (the once index refuses a second). The namesake's
    # upload is refused too (这一项已经转入过了) when the first one was stored before it was read;
    # both stand only when both were read before either was stored: the order decides which.
    owners = db.session.scalars(
        select(LearningOutcome.user_id).where(LearningOutcome.id.in_(pending))
    ).all()
    assert len(set(owners)) == len(owners), (owners, imported)
    assert len(owners) in (1, 2), (owners, imported)
    assert imported.count("ok") == len(pending), imported
    assert all(result == "refused 409" for result in imported if result != "ok"), imported
    db.session.expire_all()
    keys = db.session.scalars(
        select(LedgerEntry.idempotency_key).where(LedgerEntry.idempotency_key.like("credential:%"))
    ).all()
    assert keys == [f"credential:{badge['id']}"]
    assert Role.REGISTRAR in registrar.roles


def test_fetching_goes_to_public_https_only_follows_no_redirect_and_reads_little(app, served):
    origin, bodies = served
    app.config["LMS_FETCH_PRIVATE_ADDRESSES"] = False
    for url, why in [
        (f"{origin}/x", "https"),
        (f"https://127.0.0.1:{origin.rsplit(':', 1)[1]}/x", "公网"),
        ("https://localhost/x", "公网"),
        ("https://10.1.2.3/x", "公网"),
        ("https://user:pw@xuexi.example/x", "https"),
        ("file:///etc/passwd", "https"),
    ]:
        with pytest.raises(FetchFailed, match=why):
            fetch_json(url)
    assert origin_of_did_web("did:web:127.0.0.1%3A8000") == "https://127.0.0.1:8000"
    app.config["LMS_FETCH_PRIVATE_ADDRESSES"] = True
    assert origin_of_did_web("did:web:127.0.0.1%3A8000") == "http://127.0.0.1:8000"
    assert did_web_document_url("did:web:xuexi.example:county:a") == (
        "https://xuexi.example/county/a/did.json"
    )
    assert did_web_document_url("did:web:xuexi.example:..") is None
    bodies["/big"] = b'"' + b"x" * (600 * 1024) + b'"'
    with pytest.raises(FetchFailed, match="太大"):
        fetch_json(f"{origin}/big")
    with pytest.raises(FetchFailed, match="404"):
        fetch_json(f"{origin}/nothing-here")


def test_pages_for_the_trust_list_the_upload_and_the_revoked_list(
    app, client, resident, registrar, issuer, served
):
    origin, _bodies = served
    sign_in(client, registrar)
    assert client.get("/credits/trusted-issuers").status_code == 200
    refused = client.post(
        "/credits/trusted-issuers",
        data={"name": ISSUER_NAME, "did": issuer.did, "trusted_from": "2026-01-01"},
    )
    assert refused.status_code == 422
    assert "请至少选择一种互认的成果类型" in refused.get_data(as_text=True)
    added = client.post(
        "/credits/trusted-issuers",
        data={
            "name": ISSUER_NAME,
            "did": issuer.did,
            "trusted_from": "2026-01-01",
            "achievement_types": ["Course"],
            "origin": origin,
        },
    )
    assert added.status_code == 302
    assert ISSUER_NAME in client.get("/credits/trusted-issuers").get_data(as_text=True)

    own = app.test_client()
    sign_in(own, resident)
    assert "转入外单位学分" in own.get("/me/credits").get_data(as_text=True)

    def upload(who, raw, **fields):
        return who.post(
            "/credits/import",
            data={"document": (io.BytesIO(raw), "凭证.json"), **fields},
            content_type="multipart/form-data",
        )

    page = upload(own, json.dumps(issuer.badge()).encode())
    assert page.status_code == 200, page.get_data(as_text=True)[:500]
    assert "已转入，等待认证" in page.get_data(as_text=True)
    # 20 MB, sent as the raw multipart body (the test client would spool it to a file it never
    # closes).
    boundary = "----lms-test-boundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="document"; filename="big.json"'
            "\r\nContent-Type: application/json\r\n\r\n"
        ).encode()
        + b"x" * (20 * 1024 * 1024)
        + f"\r\n--{boundary}--\r\n".encode()
    )
    big = own.post(
        "/credits/import", data=body, content_type=f"multipart/form-data; boundary={boundary}"
    )
    assert big.status_code == 413
    assert "文件太大" in big.get_data(as_text=True)
    assert upload(own, b"not json").status_code == 422
    other = upload(own, json.dumps(issuer.badge(name="李建国")).encode())
    assert other.status_code == 403
    assert "不是颁发给您的" in other.get_data(as_text=True)
    # A registrar uploads for the resident, named by mobile number.
    page = upload(client, json.dumps(issuer.badge(title="插花入门")).encode(), phone=resident.phone)
    assert page.status_code == 200, page.get_data(as_text=True)[:500]
    outcome = db.session.scalars(
        select(LearningOutcome).filter_by(user_id=resident.id, kind=OutcomeKind.TRANSFER)
    ).first()
    shown = client.get(f"/credits/outcomes/{outcome.id}").get_data(as_text=True)
    assert "下载转入的凭证文件" in shown
    assert "核对是居民本人" in shown
    imported = operations.transfers.imported_for(outcome)
    evidence = own.get(f"/credits/imports/{imported.upload_id}.json")
    assert evidence.status_code == 200
    assert json.loads(evidence.data)["issuer"]["id"] == issuer.did
    assert "没有被原单位撤销的转入学分" in client.get("/credits/imports/revoked").get_data(
        as_text=True
    )
    assert own.get("/credits/imports/revoked").status_code == 403


def test_a_key_rotated_at_the_issuer_is_taken_again_and_the_old_one_kept(
    client, resident, registrar
):
    did = "did:web:xuexi.jiangyang.example"
    old, new = Issuer(), Issuer()

    def document(*issuers):
        methods = [
            {
                "id": f"{did}#{one.mk}",
                "type": "Multikey",
                "controller": did,
                "publicKeyMultibase": one.mk,
            }
            for one in issuers
        ]
        return json.dumps(
            {
                "id": did,
                "verificationMethod": methods,
                "assertionMethod": [m["id"] for m in methods],
            }
        )

    entry = operations.add_trusted_issuer(
        registrar,
        name=ISSUER_NAME,
        did=did,
        trusted_from=date(2026, 1, 1),
        achievement_types=["Course"],
        did_document=document(old),
    )
    db.session.commit()
    for one in (old, new):
        one.did, one.method = did, f"{did}#{one.mk}"
    headers = api_token(client, resident)
    refused = post(client, headers, new.badge(title="插花入门"))
    assert refused.status_code == 422
    assert "密钥" in refused.get_json()["error"]["message"]
    officer = api_token(client, registrar)
    answer = client.post(
        f"/api/v1/trusted-issuers/{entry.id}/keys",
        json={"did_document": document(new)},
        headers=officer,
    )
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["keys"] == [old.mk, new.mk]
    assert post(client, headers, new.badge(title="插花入门")).status_code == 201
    assert post(client, headers, old.badge()).status_code == 201


def test_odd_shapes_signed_by_a_trusted_issuer_are_read_without_error(client, resident, trusted):
    odd_identifiers = [
        {"identityType": {"x": 1}, "identityHash": "王芳"},
        {"identityType": "name", "identityHash": ["王芳"]},
        "王芳",
    ]
    assert not foreign.issued_to({"identifier": odd_identifiers}, resident)
    assert foreign.issued_to(
        {"identifier": [*odd_identifiers, {"identityType": "name", "identityHash": " 王 芳 "}]},
        resident,
    )
    salted = hashlib.sha256((resident.phone + "盐").encode()).hexdigest()
    hashed = {"identityType": "phoneNumber", "hashed": True, "salt": "盐"}
    assert foreign.issued_to(
        {"identifier": [{**hashed, "identityHash": f"sha256${salted}"}]}, resident
    )
    assert not foreign.issued_to(
        {"identifier": [{**hashed, "identityHash": "sha256$00"}]}, resident
    )
    assert foreign._hours({"result": 5}, {"resultDescription": {"id": {}}}) == 0
    assert foreign._hours(
        {"result": [{"resultDescription": {"a": 1}}, {"resultDescription": "h", "value": "7.5"}]},
        {"resultDescription": [{"id": {}}, {"id": "h", "resultType": "ext:LearningHours"}]},
    ) == Decimal("7.5")
    base = status_entry(f"{trusted.origin}/status/1")
    assert foreign.status_place(base, trusted) == (f"{trusted.origin}/status/1", 7)
    assert foreign.status_place({**base, "statusListIndex": "²"}, trusted) is None
    assert foreign.status_place({**base, "statusListIndex": 7}, trusted) is None
    headers = api_token(client, resident)
    for odd in ("²", "0", "-1", "99999999999", "abc"):
        answer = post(client, headers, {"a": 1}, user_id=odd)
        assert answer.status_code == 422, odd
