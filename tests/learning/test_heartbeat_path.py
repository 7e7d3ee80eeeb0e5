"""The heartbeat's short path (lms/learning/beats.py): a player's heartbeat with a bearer token
is answered before Flask, as the API route would answer it; everything else is passed on and
answered in full, with nothing written on the way."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from lms.accounts.models import ApiToken, User
from lms.core.prepared import Prepared
from lms.core.time import utcnow
from lms.courses.models import Course, CourseStatus
from lms.extensions import db
from lms.learning import operations as learning
from lms.learning.models import LessonProgress, LessonVisit
from tests.conftest import sign_in
from tests.learning.conftest import DURATION
from tests.learning.test_progress import beat, pass_time, visit


@pytest.fixture
def path(app):
    return app.extensions["lms_heartbeat_path"]


def counts(path) -> tuple[int, int]:
    return path.served, path.passed_on


def stored(resident, lesson) -> tuple:
    progress = db.session.scalar(
        select(LessonProgress).filter_by(user_id=resident.id, lesson_id=lesson.id)
    )
    db.session.refresh(progress)
    return progress.version, progress.watched_s, progress.intervals, progress.budget_s


def test_a_players_heartbeat_is_answered_by_the_short_path_as_the_route_would(
    client, app, path, headers, resident, video
):
    visit_id = visit(client, headers, video, started_ago=20)
    before = counts(path)
    fast = beat(client, headers, video, visit_id, [[0, 20]], position=20.5)
    assert counts(path) == (before[0] + 1, before[1])
    progress = db.session.scalar(select(LessonProgress).filter_by(user_id=resident.id))
    assert fast.status_code == 200
    assert fast.get_json() == {
        "watched_s": progress.watched_s,
        "watched_ratio": round(progress.watched_s / DURATION, 4),
        "completed": False,
        "resume_position_s": 20.5,
        "uncounted_s": 0.0,
    }
    assert progress.watched_s == 20
    assert progress.intervals == [[0.0, 20.0]]
    assert db.session.get(LessonVisit, visit_id).heartbeats == 1

    # The same resident's next heartbeat through the route (signed in by cookie, as the web
    # player is): the same fields, the same headers.
    browser = app.test_client()
    sign_in(browser, resident)
    pass_time(resident.id, video, 10)
    full = beat(browser, {}, video, visit_id, [[20, 30]], position=30)
    assert counts(path)[1] == before[1] + 1
    assert full.status_code == 200
    assert full.get_json()["watched_s"] == 30
    assert full.get_json().keys() == fast.get_json().keys()
    # Both paths say what of a report they did not count (played faster than the bucket allows).
    for caller, extra in ((browser, {}), (client, headers)):
        ahead = beat(caller, extra, video, visit_id, [[0, 90]], rate=2).get_json()
        assert ahead["watched_s"] < 90
        assert ahead["uncounted_s"] == pytest.approx(90 - ahead["watched_s"], abs=1e-6)
    assert counts(path) == (before[0] + 2, before[1] + 2)
    for name in (
        "Content-Type",
        "Cache-Control",
        "Content-Security-Policy",
        "X-Content-Type-Options",
        "X-Frame-Options",
        "Referrer-Policy",
        "Permissions-Policy",
    ):
        assert fast.headers[name] == full.headers[name], name


def test_a_token_revoked_elsewhere_stops_at_once(client, path, headers, resident, video):
    visit_id = visit(client, headers, video, started_ago=20)
    assert beat(client, headers, video, visit_id, [[0, 10]]).status_code == 200
    # Another process signs the resident out (no event reaches this one): no cache to outlive.
    db.session.execute(update(ApiToken).values(revoked_at=utcnow()))
    db.session.commit()
    before = stored(resident, video)
    response = beat(client, headers, video, visit_id, [[10, 20]])
    assert response.status_code == 401
    assert response.get_json()["error"]["message"] == "登录凭据无效，请重新登录"
    assert stored(resident, video) == before


def make_expired(resident, video):
    db.session.execute(update(ApiToken).values(expires_at=utcnow() - timedelta(seconds=1)))


def make_inactive(resident, video):
    db.session.execute(update(User).where(User.id == resident.id).values(active=False))


def make_password_change_required(resident, video):
    db.session.execute(update(User).where(User.id == resident.id).values(must_change_password=True))


def make_draft(resident, video):
    db.session.execute(
        update(Course).where(Course.id == video.course_id).values(status=CourseStatus.DRAFT)
    )


def make_withdrawn(resident, video):
    learning.withdraw(resident, video.course)


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        (make_expired, 401, "unauthorized"),
        (make_inactive, 401, "unauthorized"),
        (make_password_change_required, 403, "password_change_required"),
        (make_draft, 404, "not_found"),
        (make_withdrawn, 403, "forbidden"),
    ],
)
def test_what_the_short_path_may_not_decide_is_answered_in_full(
    client, path, headers, resident, video, change, status, code
):
    visit_id = visit(client, headers, video, started_ago=20)
    assert beat(client, headers, video, visit_id, [[0, 10]]).status_code == 200
    change(resident, video)
    db.session.commit()
    before, passed = stored(resident, video), counts(path)[1]
    response = beat(client, headers, video, visit_id, [[10, 20]])
    assert (response.status_code, response.get_json()["error"]["code"]) == (status, code)
    assert counts(path)[1] == passed + 1
    assert stored(resident, video) == before


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"not json", 400),
        (b"[1, 2]", 400),
        (b'{"visit_id": 1}', 422),
        (b'{"visit_id": 1, "position_s": 1, "segments": [["a", 2]], "rate": 1}', 422),
        (b'{"visit_id": 1, "position_s": 1, "segments": [], "rate": 9}', 422),
        (b'{"visit_id": 1, "position_s": 1, "segments": [], "rate": 1, "x": 2}', 422),
        (b"[" * 2000, 400),
    ],
)
def test_bad_bodies_get_the_routes_chinese_answer(client, path, headers, video, body, status):
    visit_id = visit(client, headers, video)
    body = body.replace(b'"visit_id": 1', b'"visit_id": %d' % visit_id)
    response = client.post(
        f"/api/v1/lessons/{video.id}/progress",
        data=body,
        headers={**headers, "Content-Type": "application/json"},
    )
    assert response.status_code == status
    message = response.get_json()["error"]["message"]
    assert any("\u4e00" <= char <= "\u9fff" for char in message), message
    assert path.served == 0
    assert db.session.get(LessonVisit, visit_id).heartbeats == 0


def test_the_first_heartbeat_and_the_completing_one_go_the_full_way(
    client, path, headers, resident, video
):
    visit_id = visit(client, headers, video, started_ago=60)
    # Without the progress the visit made, the heartbeat makes it afresh (the full path).
    db.session.execute(LessonProgress.__table__.delete())
    db.session.commit()
    first = beat(client, headers, video, visit_id, [[0, 3]])
    assert first.status_code == 200
    assert counts(path) == (0, 1)
    for start in range(3, DURATION, 30):
        pass_time(resident.id, video, 31)  # at 1×: 30 s of new coverage allowed
        end = min(start + 30, DURATION)
        assert beat(client, headers, video, visit_id, [[start, end]]).status_code == 200
    progress = db.session.scalar(select(LessonProgress).filter_by(user_id=resident.id))
    assert progress.completed_at is not None
    served, passed = counts(path)
    assert passed == 2  # the first, and the one that completed the lesson
    assert served >= 2


def test_a_remember_me_cookie_beside_the_token_goes_the_full_way(client, path, headers, video):
    visit_id = visit(client, headers, video, started_ago=20)
    client.set_cookie("remember_token", "whatever")
    response = beat(client, headers, video, visit_id, [[0, 10]])
    assert response.status_code in (200, 401)  # Flask-Login's own order decides
    assert counts(path) == (0, 1)


def test_prepared_statements_read_and_convert_as_sqlalchemy_does(
    client, app, headers, resident, video
):
    visit_id = visit(client, headers, video, started_ago=20)
    assert beat(client, headers, video, visit_id, [[0, 10.5]]).status_code == 200
    token_hash = db.session.scalar(select(ApiToken.token_hash))
    read, _progress, _visit = learning.heartbeat_statements("token")
    params = {"lesson_id": video.id, "visit_id": visit_id, "token_hash": token_hash}
    with db.engine.connect() as connection:
        expected = connection.execute(read, params).first()
    pooled = db.engine.raw_connection()
    try:
        got = Prepared(read, db.engine.dialect).first(pooled.cursor(), params)
    finally:
        pooled.close()
    assert tuple(got) == tuple(expected)
    assert got._fields == tuple(expected._mapping.keys())
    assert got.kind is expected.kind
    assert got.budget_at.tzinfo is not None
    assert got.intervals == [[0.0, 10.5]]


@pytest.fixture
def player(app, resident, headers):
    """The web player's side: signed in by cookie (enrolled by *headers*' fixture)."""
    browser = app.test_client()
    sign_in(browser, resident)
    return browser


def open_visit(player, lesson, started_ago: float = 20) -> tuple[int, str]:
    response = player.post(f"/api/v1/lessons/{lesson.id}/visits", json={})
    assert response.status_code == 201
    body = response.get_json()
    row = db.session.get(LessonVisit, body["visit_id"])
    pass_time(row.user_id, lesson, started_ago)
    return body["visit_id"], body["visit_key"]


def test_the_players_visit_key_takes_the_short_path(player, path, resident, video):
    visit_id, key = open_visit(player, video)
    response = beat(player, {"X-Visit-Key": key}, video, visit_id, [[0, 15]])
    assert response.status_code == 200
    assert response.get_json()["watched_s"] == 15
    assert counts(path) == (1, 0)
    # The key alone (no cookie) is the visit's credential.
    player.delete_cookie("session")
    pass_time(resident.id, video, 10)
    response = beat(player, {"X-Visit-Key": key}, video, visit_id, [[15, 25]])
    assert response.status_code == 200
    assert counts(path) == (2, 0)


def test_a_key_stands_for_its_own_visit_and_sign_in_only(
    app, player, path, resident, video, create_user
):
    visit_id, key = open_visit(player, video)
    other_visit, _other_key = open_visit(player, video)
    wrong = [
        (visit_id, key[:-2] + ("AA" if not key.endswith("AA") else "BB")),
        (other_visit, key),  # another visit's key
        (visit_id, "x" * 24),
    ]
    stranger = app.test_client()
    for visit_of, presented in wrong:
        before = stored(resident, video)
        response = beat(stranger, {"X-Visit-Key": presented}, video, visit_of, [[0, 10]])
        assert response.status_code == 401  # passed on: no cookie there
        assert stored(resident, video) == before
    # With the resident's cookie beside a wrong key, the full path answers as it always has.
    assert beat(player, {"X-Visit-Key": "x" * 24}, video, visit_id, [[0, 10]]).status_code == 200
    assert path.served == 0
    # A new session nonce (password change, reset by staff) voids every key given before.
    db.session.get(User, resident.id).new_session_nonce()
    db.session.commit()
    pass_time(resident.id, video, 10)
    response = beat(stranger, {"X-Visit-Key": key}, video, visit_id, [[10, 20]])
    assert response.status_code == 401
    assert path.served == 0


def test_a_visit_key_lasts_a_working_day(player, path, resident, video):
    visit_id, key = open_visit(player, video, started_ago=13 * 3600)
    player.delete_cookie("session")
    response = beat(player, {"X-Visit-Key": key}, video, visit_id, [[0, 10]])
    assert response.status_code == 401
    assert counts(path) == (0, 1)
