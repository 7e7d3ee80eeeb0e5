"""``lms doctor`` finds each misconfiguration in plain words and exits non-zero: no worker
heartbeat, a queue that cannot be reached, a read-only media folder, a worker or app server with
another secret or other key files, no public address behind a proxy, cookies not Secure behind
HTTPS. On SQLite, with workers' rows written by the heartbeat itself and an app server served
in this process."""

from __future__ import annotations

import os
import subprocess
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from werkzeug.serving import make_server

from lms.core.time import utcnow
from lms.extensions import db
from lms.ops import doctor, workers
from lms.ops.models import WorkerBeat
from tests.conftest import make_app
from tests.deploy.stack import free_port

pytestmark = pytest.mark.once


@pytest.fixture(autouse=True)
def migrated(app):
    """The tables are made from the models here: say they are at the newest migration."""
    from flask_migrate import stamp

    stamp()


def problems(servers: list[str] | None = None) -> list[str]:
    return doctor.run(servers or []).problems


@pytest.fixture
def beating(app):
    """A live worker set up like this app (its heartbeat row, written by the worker's code)."""
    workers.beat(utcnow())
    return app


def other_app(tmp_path: Path, app, **overrides):
    """Another machine: the same database and media folder, its own instance folder."""
    config = {
        "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
        "LMS_MEDIA_DIR": app.config["LMS_MEDIA_DIR"],
        "LMS_QUEUE_URL": app.config["LMS_QUEUE_URL"],
        "SECRET_KEY": app.config["SECRET_KEY"],
        "LMS_TRANSCRIPT_KEY_FILE": str(Path(app.instance_path) / "transcript-signing-key.pem"),
        "LMS_DATA_KEY": _data_key(app),
        **overrides,
    }
    return make_app(tmp_path / "other", **config)


def _data_key(app) -> str:
    from lms.accounts import sealing

    return sealing.data_key().decode()


def test_a_sound_setup_has_no_problem(beating):
    assert problems() == []


def test_no_worker_heartbeat(app):
    assert "no worker heartbeat in the last 180 s (none ever)" in " ".join(problems())
    workers.beat(utcnow())
    db.session.execute(update(WorkerBeat).values(seen_at=utcnow() - timedelta(minutes=5)))
    db.session.commit()
    found = " ".join(problems())
    assert "no worker heartbeat in the last 180 s (the last one was seen at" in found


def test_a_queue_that_cannot_be_reached(tmp_path, app):
    url = f"redis://127.0.0.1:{free_port()}/0"
    wrong = make_app(
        tmp_path / "wrong",
        SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
        LMS_QUEUE_URL=url,
        LMS_QUEUE_IMMEDIATE=False,
    )
    with wrong.app_context():
        found = " ".join(problems())
        result = wrong.test_cli_runner().invoke(args=["worker"])
    assert f"the job queue at {url} cannot be reached" in found
    assert "check LMS_QUEUE_URL" in found
    assert result.exit_code == 1
    assert f"worker not started: the job queue at {url} cannot be reached" in result.output


@pytest.fixture
def read_only_media(app):
    """The media folder made read-only: a read-only bind mount as root (root writes through
    file modes), file modes otherwise."""
    media = Path(app.config["LMS_MEDIA_DIR"])
    media.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        subprocess.run(["mount", "--bind", "-o", "ro", media, media], check=True)  # noqa: S603,S607
        yield media
        subprocess.run(["umount", media], check=True)  # noqa: S603,S607
    else:
        media.chmod(0o555)
        yield media
        media.chmod(0o755)


def test_a_read_only_media_folder(app, read_only_media):
    workers.beat(utcnow())  # the worker finds it read-only too
    found = problems()
    assert any(
        f"the media folder {read_only_media} is not writable by this process" in problem
        for problem in found
    ), found
    assert any("cannot write to the media folder" in problem for problem in found), found


def test_a_worker_with_another_secret_and_other_keys(tmp_path, app):
    machine = other_app(
        tmp_path,
        app,
        SECRET_KEY="another-secret",
        LMS_TRANSCRIPT_KEY_FILE=str(tmp_path / "other-key.pem"),
    )
    with machine.app_context():
        workers.beat(utcnow())
    found = " ".join(problems())
    assert f"worker {workers.name()} is set up differently from this machine" in found
    assert "LMS_SECRET_KEY (the secret key)" in found
    assert "LMS_TRANSCRIPT_KEY_FILE (the transcript signing key)" in found
    assert "LMS_DATABASE_URL" not in found  # what is the same is not named


def test_an_app_server_with_another_secret(tmp_path, beating):
    machine = other_app(tmp_path, beating, SECRET_KEY="another-secret")
    server = make_server("127.0.0.1", 0, machine, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}"
    try:
        found = problems([url])
        same = other_app(tmp_path / "same", beating)
        server.app = same  # the same server, now set up like this machine
        assert problems([url]) == []
    finally:
        server.shutdown()
        server.server_close()
    assert found == [
        f"app server {url} is set up differently from this machine: LMS_SECRET_KEY (the secret "
        "key). Every web server and worker needs the same ones"
    ]
    closed = f"http://127.0.0.1:{free_port()}"
    assert f"app server {closed} does not answer" in " ".join(problems([closed]))


def test_behind_a_proxy_and_https(app):
    workers.beat(utcnow())
    app.config["LMS_PROXY_COUNT"] = 1
    assert len(found := problems()) == 1
    assert "behind a proxy (LMS_PROXY_COUNT or LMS_ACCEL_REDIRECT_PREFIX is set) but " in found[0]
    assert "LMS_PUBLIC_URL is not" in found[0]
    app.config["LMS_PUBLIC_URL"] = "https://study.example.cn"
    assert problems() == [
        "this machine serves https://study.example.cn over HTTPS but its cookies are not marked "
        "Secure: set LMS_SECURE_COOKIES=1"
    ]
    app.config["SESSION_COOKIE_SECURE"] = True
    assert problems() == []


def test_the_command_says_what_is_wrong_and_exits_1(app):
    result = app.test_cli_runner().invoke(args=["doctor"])
    assert result.exit_code == 1
    assert "PROBLEM no worker heartbeat" in result.output
    assert "ok      ffmpeg found at" in result.output
    workers.beat(utcnow())
    result = app.test_cli_runner().invoke(args=["doctor"])
    assert result.exit_code == 0, result.output
    assert "No problems found." in result.output
