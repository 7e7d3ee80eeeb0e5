"""A double tap, sixteen times over: sixteen identical writes released together against a real
threaded server (on SQLite, and on PostgreSQL when the suite runs there). Never a 500, and
exactly one effect: the core retry runs a loser again, and the operations make the rerun
harmless."""

from __future__ import annotations

import io
import json
import threading
import urllib.error
import urllib.request
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from lms.core.time import utcnow
from lms.courses import operations as courses
from lms.courses.models import LessonKind
from lms.credits.models import LearningOutcome, LedgerEntry, OutcomeStatus, Transcript
from lms.extensions import db
from lms.learning import operations as learning
from lms.learning.models import Enrolment, LessonProgress
from lms.media.models import MediaAsset
from tests.conftest import api_token
from tests.credits.conftest import png_bytes, submit, yesterday
from tests.media.clips import ClipLibrary

N = 16


@pytest.fixture
def app_config():
    # Connections enough for every request at once; reading time out of the way; jobs (the
    # transcode of an upload) wait in the queue instead of running inside the request.
    return {
        "LMS_QUEUE_IMMEDIATE": False,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": N + 4, "max_overflow": 0},
        "LMS_READING_FLOOR_S": 0,
        "LMS_READING_CAP_S": 0,
    }


def at_once(method: str, url: str, headers: dict, body: bytes | None = None, **extra) -> list:
    """Send the same request N times, released together; the statuses, sorted."""
    barrier = threading.Barrier(N)
    statuses: list[int] = []
    lock = threading.Lock()

    def send():
        request = urllib.request.Request(  # noqa: S310  (our own loopback server)
            url, data=body, method=method, headers={**headers, **extra}
        )
        barrier.wait()
        try:
            with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
                status = response.status
        except urllib.error.HTTPError as error:
            status = error.code
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=send) for _ in range(N)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    db.session.expire_all()
    assert 500 not in statuses, statuses
    assert all(status < 500 for status in statuses), statuses
    return sorted(statuses)


def as_json(payload: dict) -> tuple[bytes, dict]:
    return json.dumps(payload).encode(), {"Content-Type": "application/json"}


def multipart(fields: dict[str, str], files: dict[str, tuple[str, bytes, str]]):
    boundary = uuid.uuid4().hex
    out = io.BytesIO()
    for name, value in fields.items():
        out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode())
        out.write(value.encode() + b"\r\n")
    for name, (filename, data, mimetype) in files.items():
        out.write(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
            f'filename="{filename}"\r\nContent-Type: {mimetype}\r\n\r\n'.encode()
        )
        out.write(data + b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    return out.getvalue(), {"Content-Type": f"multipart/form-data; boundary={boundary}"}


def count(model, **where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).filter_by(**where))


@pytest.fixture
def headers(client, resident):
    return api_token(client, resident)


def test_enrol(live_server, headers, create_course, resident):
    course = create_course()
    statuses = at_once("PUT", f"{live_server}/api/v1/courses/{course.id}/enrolment", headers)
    assert set(statuses) <= {200, 201}
    assert statuses.count(201) == 1
    assert count(Enrolment, user_id=resident.id, course_id=course.id) == 1
    assert db.session.get(type(course), course.id).enrolment_count == 1


def test_mark_learnt(live_server, headers, create_course, resident):
    course = create_course(lessons=1)
    lesson = course.lessons[0]
    learning.enrol(resident, course)
    learning.open_lesson(resident, lesson)
    db.session.commit()
    statuses = at_once("POST", f"{live_server}/api/v1/lessons/{lesson.id}/completion", headers)
    assert set(statuses) == {200}
    progress = db.session.scalar(select(LessonProgress).filter_by(user_id=resident.id))
    assert progress.completed_at is not None
    assert count(Enrolment, user_id=resident.id, course_id=course.id) == 1


def test_heartbeat(live_server, headers, teacher, categories, resident):
    course = courses.create_course(
        teacher, title="视频课", summary="", hours=2, category=categories["农村实用技术"]
    )
    video = courses.add_lesson(course, title="第一讲", kind=LessonKind.VIDEO, duration_s=600)
    courses.publish_course(course)
    learning.enrol(resident, course)
    visit = learning.start_visit(resident, video)
    db.session.commit()
    # Thirty seconds into the visit: one honest heartbeat's worth of budget, and no more.
    progress = db.session.scalar(select(LessonProgress).filter_by(user_id=resident.id))
    earlier = utcnow() - timedelta(seconds=30)
    visit.started_at = progress.opened_at = earlier
    if hasattr(progress, "budget_at") and progress.budget_at is not None:
        progress.budget_at = earlier
    db.session.commit()
    body, extra = as_json(
        {"visit_id": visit.id, "position_s": 30, "segments": [[0, 30]], "rate": 1}
    )
    statuses = at_once(
        "POST", f"{live_server}/api/v1/lessons/{video.id}/progress", headers, body, **extra
    )
    assert 200 in statuses
    assert set(statuses) <= {200, 409, 429}
    progress = db.session.scalar(select(LessonProgress).filter_by(user_id=resident.id))
    assert progress.watched_s <= 30 + 1e-6  # the same thirty seconds, once


def test_submit_outcome(live_server, headers, resident):
    body, extra = multipart(
        {
            "kind": "volunteer",
            "title": "社区防汛志愿服务",
            "hours": "8",
            "occurred_on": yesterday().isoformat(),
            "issuer": "福集镇志愿者协会",
        },
        {"evidence": ("证书.png", png_bytes(), "image/png")},
    )
    statuses = at_once("POST", f"{live_server}/api/v1/me/outcomes", headers, body, **extra)
    assert statuses.count(201) == 1
    assert count(LearningOutcome, user_id=resident.id) == 1


def test_certify(live_server, client, registrar, resident):
    outcome = submit(resident)
    registrar_headers = api_token(client, registrar)
    statuses = at_once(
        "POST", f"{live_server}/api/v1/outcomes/{outcome.id}/certify", registrar_headers
    )
    assert statuses.count(200) == 1
    assert set(statuses) <= {200, 409}
    assert db.session.get(LearningOutcome, outcome.id).status is OutcomeStatus.CERTIFIED
    assert count(LedgerEntry, idempotency_key=f"outcome:{outcome.id}") == 1


def test_issue_transcript(live_server, headers, resident, registrar):
    from lms.credits import operations as credits

    outcome = submit(resident)
    credits.certify_outcome(registrar, outcome)
    db.session.commit()
    statuses = at_once("POST", f"{live_server}/api/v1/me/transcripts", headers)
    assert set(statuses) <= {200, 201, 409}
    assert count(Transcript, user_id=resident.id) == 1


def test_finish_upload(live_server, client, teacher, tmp_path):
    teacher_headers = api_token(client, teacher)
    (tmp_path / "clips").mkdir()
    data = ClipLibrary(tmp_path / "clips")["long"].read_bytes()
    started = client.post(
        "/api/v1/uploads",
        json={"filename": "第一课.mp4", "size": len(data)},
        headers=teacher_headers,
    )
    url = started.get_json()["upload_url"]
    sent = client.patch(
        url,
        data=data,
        headers={
            **teacher_headers,
            "Upload-Offset": "0",
            "Content-Type": "application/offset+octet-stream",
        },
    )
    assert sent.status_code == 200, sent.get_json()
    statuses = at_once("POST", f"{live_server}{url}/complete", teacher_headers)
    assert statuses.count(201) == 1
    assert set(statuses) <= {200, 201, 404, 409}
    assert count(MediaAsset, owner_id=teacher.id) == 1
