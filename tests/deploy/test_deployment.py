"""The deployment of deploy/, started for real on loopback (tests/deploy/stack.py): nginx in
front of two gunicorn app servers, two workers on Redis, PostgreSQL, one media folder. Runs once,
in the PostgreSQL pass of .ci/run; in CI (CI=true) a missing nginx or Redis fails the test
rather than skipping it."""

from __future__ import annotations

import http.client
import re
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from tests.conftest import PG_URL
from tests.deploy.stack import ROOT, Stack, children_named, free_port, missing_tools
from tests.media.clips import make_clip

pytestmark = pytest.mark.skipif(
    not (PG_URL or "").startswith("postgresql"),
    reason="the deployment runs in the PostgreSQL pass (LMS_TEST_DATABASE_URL)",
)
TITLE = "高血压防治与合理用药"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    missing = missing_tools()
    if missing:
        message = f"the deployment test needs {', '.join(missing)} (bash .ci/setup --test)"
        if __import__("os").environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    running = Stack(
        tmp_path_factory.mktemp("deployment"),
        PG_URL,
        # A worker that died is noticed within seconds rather than a minute.
        overrides={"LMS_WORKER_HEARTBEAT_S": "1", "LMS_TRANSCODE_STALL_S": "10"},
    )
    try:
        yield running.start()
    finally:
        running.close()


def token(base: str, person: dict) -> dict[str, str]:
    answer = requests.post(
        f"{base}/api/v1/auth/tokens",
        json={"phone": person["phone"], "password": person["password"]},
        timeout=30,
    )
    assert answer.status_code == 201, answer.text
    return {"Authorization": f"Bearer {answer.json()['token']}"}


def wait_until(check, what: str, timeout: float = 90, every: float = 0.3):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_session_started_on_one_app_server_holds_on_the_other(stack):
    web1, web2 = stack.web_urls
    resident = stack.people["residents"][0]
    browser = requests.Session()
    page = browser.get(f"{web1}/sign-in", timeout=30).text
    csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    signed_in = browser.post(
        f"{web1}/sign-in",
        data={"csrf_token": csrf, "phone": resident["phone"], "password": resident["password"]},
        allow_redirects=False,
        timeout=30,
    )
    assert signed_in.status_code == 302, signed_in.text[:2000]
    for base in (web2, stack.url):
        me = browser.get(f"{base}/api/v1/me", timeout=30)
        assert me.status_code == 200, me.text
        assert me.json()["name"] == resident["name"]


def test_upload_transcode_kill_a_worker_play_through_nginx_and_earn_credits(stack, tmp_path):
    base = stack.url
    teacher = token(base, stack.people["teacher"])
    registrar = token(base, stack.people["registrar"])
    course = requests.post(
        f"{base}/api/v1/courses",
        json={"title": TITLE, "summary": "讲座", "category": "健康养生", "hours": "1"},
        headers=teacher,
        timeout=30,
    )
    assert course.status_code == 201, course.text
    course_id = course.json()["id"]

    # A resumable upload through nginx, in three chunks.
    clip = make_clip(tmp_path / "lecture.mp4", seconds=3, width=1280, height=720)
    data = clip.read_bytes()
    upload = requests.post(
        f"{base}/api/v1/uploads",
        json={"filename": "讲座.mp4", "size": len(data)},
        headers=teacher,
        timeout=30,
    )
    assert upload.status_code == 201, upload.text
    upload_url = upload.json()["upload_url"]

    # Over nginx's body limit: refused by nginx (413, in Chinese) before any app server reads
    # it, and the upload is untouched.
    connection = http.client.HTTPConnection("127.0.0.1", stack.ports["nginx"], timeout=30)
    connection.putrequest("PATCH", upload_url)
    for name, value in {
        **teacher,
        "Content-Type": "application/offset+octet-stream",
        "Upload-Offset": "0",
        "Content-Length": str(65 * 1024 * 1024),
    }.items():
        connection.putheader(name, value)
    connection.endheaders()
    refused = connection.getresponse()
    assert refused.status == 413
    assert "太大" in refused.read().decode()
    connection.close()
    assert requests.get(f"{base}{upload_url}", headers=teacher, timeout=30).json()["offset"] == 0

    step = len(data) // 3 + 1
    for offset in range(0, len(data), step):
        sent = requests.patch(
            f"{base}{upload_url}",
            data=data[offset : offset + step],
            headers={
                **teacher,
                "Upload-Offset": str(offset),
                "Content-Type": "application/offset+octet-stream",
            },
            timeout=30,
        )
        assert sent.status_code == 200, sent.text
    done = requests.post(f"{base}{upload_url}/complete", headers=teacher, timeout=60)
    assert done.status_code == 201, done.text
    media_id = done.json()["media"]["id"]

    # The worker that takes the job is killed (SIGKILL, its ffmpeg too) in the middle.
    def transcoding_worker():
        for name, pid in stack.worker_pids().items():
            if children_named(pid, "ffmpeg"):
                return name
        status = stack.sql("SELECT status FROM media_asset WHERE id = %s", media_id)[0][0]
        assert status != "ready", "the transcode finished before a worker could be killed"
        return None

    victim = wait_until(transcoding_worker, "a worker running ffmpeg", timeout=120, every=0.02)
    stack.kill(victim)
    survivor = next(iter(stack.worker_pids()))

    def ready():
        media = requests.get(f"{base}/api/v1/media/{media_id}", headers=teacher, timeout=30)
        return media.json() if media.json()["status"] in ("ready", "failed") else None

    media = wait_until(ready, "the other worker to finish the transcode", timeout=150)
    assert media["status"] == "ready", media
    assert stack.sql("SELECT attempts FROM media_asset WHERE id = %s", media_id)[0][0] == 2
    assert "transcode_asset" in stack.log(survivor)

    lesson = requests.post(
        f"{base}/api/v1/courses/{course_id}/lessons",
        json={"title": "第一讲", "kind": "video", "media_id": media_id},
        headers=teacher,
        timeout=30,
    )
    assert lesson.status_code == 201, lesson.text
    lesson_id = lesson.json()["id"]
    published = requests.post(
        f"{base}/api/v1/courses/{course_id}/publish", headers=teacher, timeout=30
    )
    assert published.status_code == 200, published.text
    certified = requests.post(
        f"{base}/api/v1/courses/{course_id}/hours/certify",
        json={"hours": "1", "reason": "讲座配套线下答疑"},
        headers=registrar,
        timeout=30,
    )
    assert certified.status_code == 200, certified.text

    # A worker indexes the course; both app servers find it.
    for web in stack.web_urls:
        wait_until(
            lambda web=web: any(
                item["id"] == course_id
                for item in requests.get(
                    f"{web}/api/v1/search", params={"q": "高血压"}, timeout=30
                ).json()["items"]
            ),
            f"the search on {web} to find the course",
            timeout=60,
        )

    # A resident plays it through nginx: nginx sends the bytes (X-Accel-Redirect), Range too.
    resident = token(base, stack.people["residents"][1])
    enrol = requests.put(
        f"{base}/api/v1/courses/{course_id}/enrolment", headers=resident, timeout=30
    )
    assert enrol.status_code in (200, 201), enrol.text
    detail = requests.get(f"{base}/api/v1/lessons/{lesson_id}", headers=resident, timeout=30).json()
    mp4_path = urlsplit(detail["media"]["mp4_url"]).path
    part = requests.get(
        f"{base}{mp4_path}", headers={**resident, "Range": "bytes=100-1123"}, timeout=30
    )
    assert part.status_code == 206, part.text[:500]
    on_disk = next((stack.base / "media" / "renditions" / str(media_id)).rglob(Path(mp4_path).name))
    assert part.content == on_disk.read_bytes()[100:1124]
    assert part.headers["Content-Range"] == f"bytes 100-1123/{on_disk.stat().st_size}"
    playlist = requests.get(
        f"{base}{urlsplit(detail['media']['hls_url']).path}", headers=resident, timeout=30
    )
    assert playlist.status_code == 200
    assert playlist.text.startswith("#EXTM3U")
    access = (stack.base / "log" / "lms-access.log").read_text()
    served = [line for line in access.splitlines() if f'"GET {mp4_path} ' in line]
    assert served
    assert " 206 1024 " in served[-1], served
    assert f'accel="/protected-media/renditions/{media_id}/' in served[-1]
    # The app server that answered sent no body: its access log shows 0 bytes for it.
    app_lines = [
        line
        for name in ("web1", "web2")
        for line in stack.log(name).splitlines()
        if f"GET {mp4_path} " in line
    ]
    assert app_lines
    assert all(re.search(r'" 200 (0|-) ', line) for line in app_lines), app_lines

    # Heartbeats complete the lesson; the completion posts credits.
    visit = requests.post(f"{base}/api/v1/lessons/{lesson_id}/visits", headers=resident, timeout=30)
    assert visit.status_code == 201, visit.text
    visit_id = visit.json()["visit_id"]
    duration = float(detail["duration_s"] or media["duration_s"])

    def heartbeat():
        progress = requests.post(
            f"{base}/api/v1/lessons/{lesson_id}/progress",
            json={
                "visit_id": visit_id,
                "position_s": duration,
                "segments": [[0, duration]],
                "rate": 1,
            },
            headers=resident,
            timeout=30,
        )
        assert progress.status_code == 200, progress.text
        return progress.json()["completed"]

    wait_until(heartbeat, "the heartbeats to complete the lesson", timeout=30, every=1)
    credits = wait_until(
        lambda: (
            (
                answer := requests.get(f"{base}/api/v1/me/credits", headers=resident, timeout=30)
            ).json()["entries"]
            and answer.json()
        ),
        "the completion's credits",
        timeout=30,
    )
    assert float(credits["balance"]) > 0, credits


def test_the_sign_in_limit_holds_across_both_app_servers(stack):
    stranger = stack.people["stranger"]
    statuses = []
    for attempt in range(7):
        web = stack.web_urls[attempt % 2]
        answer = requests.post(
            f"{web}/api/v1/auth/tokens",
            json={"phone": stranger["phone"], "password": "wrong-password-1"},
            headers={"X-Forwarded-For": "198.51.100.7"},  # one client, through "nginx"
            timeout=30,
        )
        statuses.append(answer.status_code)
    assert statuses == [401] * 5 + [429, 429]


def test_lms_doctor_on_the_deployment(stack, tmp_path):
    """Three commands at once (each loads the application): doctor as deployed, doctor on a
    machine set up with another secret and another signing key, and a worker pointed at a
    wrong Redis."""
    env = stack.env
    runs = {
        "good": (["doctor"], env),
        "bad": (
            ["doctor"],
            {
                **env,
                "LMS_SECRET_KEY": "another-secret",
                "LMS_TRANSCRIPT_KEY_FILE": str(tmp_path / "k.pem"),
            },
        ),
        "worker": (["worker"], {**env, "LMS_QUEUE_URL": f"redis://127.0.0.1:{free_port()}/0"}),
    }
    started = {
        name: subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "lms.cli", *arguments],
            env=environment,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name, (arguments, environment) in runs.items()
    }
    done = {name: (process, *process.communicate(timeout=300)) for name, process in started.items()}

    good, out, err = done["good"]
    assert good.returncode == 0, out + err
    assert "app server http://127.0.0.1" in out
    assert "worker" in out

    bad, out, _ = done["bad"]
    assert bad.returncode == 1, out
    for server in stack.web_urls:
        line = next(line for line in out.splitlines() if f"app server {server} is set" in line)
        assert "LMS_SECRET_KEY" in line
        assert "LMS_TRANSCRIPT_KEY_FILE" in line

    # Not a consumer retrying for ever: a clear message and exit 1.
    worker, _, err = done["worker"]
    assert worker.returncode == 1
    assert "worker not started: the job queue at redis://127.0.0.1" in err
