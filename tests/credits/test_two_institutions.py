"""Two institutions in one test (issue 14, item 5): two instances of the site served on loopback
by real servers, each with its own instance folder, database, signing key and public URL. A
resident completes a course at the first, downloads the learner record, imports it at the
second, whose registrar certifies it once; the first reverses the entry, and the second's
nightly re-check flags it."""

from __future__ import annotations

import json
import socket
import threading
import urllib.request
from datetime import date

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from lms.accounts import operations as accounts
from lms.accounts.models import Level, Role
from lms.courses import operations as courses
from lms.credits import operations
from lms.credits.credentials import foreign
from lms.credits.models import LedgerEntry, OutcomeKind, RuleMode
from lms.extensions import db
from tests.conftest import PASSWORD, make_app
from tests.credits.conftest import HOURS_REASON, complete_course

pytestmark = pytest.mark.once  # two SQLite databases of its own: nothing to learn on PostgreSQL


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Site:
    def __init__(self, tmp_path, name: str, county: str, code: str):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.app = make_app(
            tmp_path / name,
            SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / name / 'db.sqlite3'}",
            LMS_PUBLIC_URL=self.url,
            LMS_FETCH_PRIVATE_ADDRESSES=True,
        )
        with self.app.app_context():
            db.create_all()
            root = accounts.create_org_unit(
                name=county, code=code, level=Level.COUNTY, parent=None, population=100
            )
            db.session.commit()
            self.county_id = root.id
        self.server = make_server("127.0.0.1", self.port, self.app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def user(self, name: str, phone: str, *roles: Role):
        from lms.accounts.models import OrgUnit

        user = accounts.create_user(
            phone=phone,
            name=name,
            password=PASSWORD,
            org_unit=db.session.get(OrgUnit, self.county_id),
            roles=(Role.RESIDENT, *roles),
        )
        db.session.commit()
        return user

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        with self.app.app_context():
            db.engine.dispose()


@pytest.fixture
def sites(tmp_path):
    first = Site(tmp_path, "first", "泸县", "510521")
    second = Site(tmp_path, "second", "江阳区", "510502")
    yield first, second
    first.close()
    second.close()
    foreign.forget_cached_lists()


def _api(site, method, path, *, token=None, body=None):
    request = urllib.request.Request(  # noqa: S310 (loopback)
        site.url + path,
        method=method,
        data=body,
        headers={
            "Content-Type": "application/json",
            **({"Authorization": f"Bearer {token}"} if token else {}),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (loopback)
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def _token(site, phone):
    status, body = _api(
        site,
        "POST",
        "/api/v1/auth/tokens",
        body=json.dumps({"phone": phone, "password": PASSWORD}).encode(),
    )
    assert status == 201, body
    return body["token"]


def test_a_learner_record_from_one_county_is_credited_once_at_another_and_its_revocation_seen(
    sites,
):
    first, second = sites
    # At the first institution: a course completed, a transcript, its learner record downloaded.
    with first.app.app_context():
        officer = first.user("县专员", "13900000001", Role.REGISTRAR)
        teacher = first.user("李老师", "13900000002", Role.TEACHER)
        resident = first.user("王芳", "13900000003")
        category = courses.create_category("健康养生")
        course = courses.create_course(
            teacher, title="太极拳入门", summary="<p>简介</p>", category=category, hours=16
        )
        courses.add_text_lesson(course, title="第1课", body="<p>内容</p>")
        courses.publish_course(course)
        db.session.commit()
        operations.certify_course_hours(officer, course, hours=16, reason=HOURS_REASON)
        db.session.commit()
        complete_course(resident, course)
        transcript = operations.issue_transcript(resident)
        db.session.commit()
        record_path = f"/api/v1/transcripts/{transcript.serial}/record?code={transcript.code}"
        deposit_id = db.session.scalar(select(LedgerEntry.id).filter_by(kind="deposit"))
    with urllib.request.urlopen(first.url + record_path, timeout=30) as response:  # noqa: S310
        record = response.read()
    badge_id = json.loads(record)["credentialSubject"]["verifiableCredential"][0]["id"]

    # At the second: the county registrar trusts the first (one fetch of its DID document now).
    with second.app.app_context():
        registrar = second.user("区专员", "13800000001", Role.REGISTRAR)
        same_person = second.user("王芳", "13800000003")
        trusted = operations.add_trusted_issuer(
            registrar,
            name="泸县社区教育学院",
            did=json.loads(record)["issuer"]["id"],
            trusted_from=date(2026, 1, 1),
            achievement_types=["Course"],
        )
        assert trusted.origin == first.url
        assert trusted.keys
        operations.save_rule(
            registrar,
            kind=OutcomeKind.TRANSFER,
            category=None,
            mode=RuleMode.SOURCE,
            credit_ratio="1",
            yearly_cap="10",
            issuer=trusted,
        )
        db.session.commit()
        resident_id = same_person.id

    token = _token(second, "13800000003")
    status, body = _api(second, "POST", "/api/v1/credentials/import", token=token, body=record)
    assert status == 201, body
    assert body["kind"] == "record"
    [item] = body["items"]
    assert item["accepted"]
    assert item["title"] == "太极拳入门"
    assert item["hours"] == 16.0
    status, again = _api(second, "POST", "/api/v1/credentials/import", token=token, body=record)
    assert status == 409, again

    officer_token = _token(second, "13800000001")
    status, certified = _api(
        second, "POST", f"/api/v1/outcomes/{item['outcome_id']}/certify", token=officer_token
    )
    assert status == 200, certified
    assert certified["credits"] == 1.0  # 16 学时 = 1 学分 at the first, taken 1:1
    with second.app.app_context():
        entries = db.session.scalars(select(LedgerEntry)).all()
        assert [entry.idempotency_key for entry in entries] == [f"credential:{badge_id}"]
        assert entries[0].account.user_id == resident_id
        assert operations.recheck_imported().newly_revoked == 0
        db.session.commit()

    # The first reverses the entry: its status list now says revoked; the second's re-check sees it.
    with first.app.app_context():
        officer = db.session.scalar(select(type(resident)).filter_by(phone="13900000001"))
        operations.reverse_entry(officer, db.session.get(LedgerEntry, deposit_id), reason="误记")
        db.session.commit()
    with second.app.app_context():
        report = operations.recheck_imported()
        db.session.commit()
        assert report.newly_revoked == 1
        registrar = db.session.scalar(select(type(same_person)).filter_by(phone="13800000001"))
        [flagged] = operations.flagged_imports(registrar)
        assert flagged.credential_id == badge_id
    status, listed = _api(second, "GET", "/api/v1/credentials/imports/revoked", token=officer_token)
    assert status == 200
    assert [row["credential_id"] for row in listed["items"]] == [badge_id]
    status, reversed_ = _api(
        second,
        "POST",
        f"/api/v1/ledger-entries/{listed['items'][0]['entry_id']}/reverse",
        token=officer_token,
        body=json.dumps({"reason": "原单位已撤销"}).encode(),
    )
    assert status == 201, reversed_
    status, listed = _api(second, "GET", "/api/v1/credentials/imports/revoked", token=officer_token)
    assert listed["items"] == []
