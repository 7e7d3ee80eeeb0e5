"""Uploading videos: resumable chunks at stated offsets, probing before acceptance, one asset per
file and owner, transcoding after commit, and who may fetch what."""

from __future__ import annotations

import hashlib
import io

import pytest
from sqlalchemy import func, select

from lms.accounts.models import Role
from lms.courses import operations as courses
from lms.extensions import db
from lms.media import operations as media
from lms.media.models import LessonMedia, MediaAsset, MediaStatus, Upload
from tests.conftest import api_token, sign_in
from tests.media.clips import make_clip


@pytest.fixture(scope="module")
def small_clip(tmp_path_factory):
    """Under werkzeug's 500 KB spooling size, so the test client keeps a multipart body in memory."""
    clip = make_clip(
        tmp_path_factory.mktemp("small") / "small.mp4", seconds=4, width=320, height=180
    )
    assert clip.stat().st_size < 400_000
    return clip


def media_files(app, folder: str) -> list[str]:
    from pathlib import Path

    root = Path(app.config["LMS_MEDIA_DIR"]) / folder
    return (
        sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
        if root.exists()
        else []
    )


def rows(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def status_of(client, url: str, **kwargs) -> int:
    """GET *url* and close the response (file responses hold the file open until closed)."""
    response = client.get(url, **kwargs)
    response.close()
    return response.status_code


def start_upload(client, headers, size: int, *, name="a.mp4") -> str:
    """Open a resumable upload; returns its URL."""
    started = client.post("/api/v1/uploads", json={"filename": name, "size": size}, headers=headers)
    assert started.status_code == 201, started.get_json()
    return started.get_json()["upload_url"]


def upload_file(client, headers, data: bytes, *, name="第一课.mp4", chunk=64 * 1024):
    url = start_upload(client, headers, len(data), name=name)
    offset = 0
    while offset < len(data):
        piece = data[offset : offset + chunk]
        response = client.patch(
            url,
            data=piece,
            headers={
                **headers,
                "Upload-Offset": str(offset),
                "Content-Type": "application/offset+octet-stream",
            },
        )
        assert response.status_code == 200, response.get_json()
        offset = response.get_json()["offset"]
    return url, client.post(f"{url}/complete", headers=headers)


def test_chunked_upload_is_probed_queued_and_transcoded(app, client, teacher, clips):
    headers = api_token(client, teacher)
    data = clips["long"].read_bytes()
    _url, completed = upload_file(client, headers, data)
    assert completed.status_code == 201, completed.get_json()
    body = completed.get_json()
    assert body["reused"] is False
    asset = db.session.get(MediaAsset, body["media"]["id"])
    db.session.refresh(asset)
    assert asset.sha256 == hashlib.sha256(data).hexdigest()
    assert asset.original_name == "第一课.mp4"
    # The test app runs jobs at once: the commit above transcoded it.
    assert asset.status is MediaStatus.READY, asset.error
    assert asset.progress == 100
    assert rows(Upload) == 0
    assert media_files(app, "uploads") == []
    state = client.get(f"/api/v1/media/{asset.id}", headers=headers).get_json()
    assert state["status"] == "ready"
    assert state["hls_url"].endswith("/master.m3u8")
    assert state["mp4_url"].endswith("/download.mp4")
    assert state["poster_url"].endswith("/poster.jpg")
    assert state["audio_url"]
    assert [r["name"] for r in state["renditions"]] == ["240p"]
    playlist = client.get(state["hls_url"], headers=headers)
    assert playlist.status_code == 200
    assert playlist.mimetype == "application/vnd.apple.mpegurl"
    assert b"#EXTM3U" in playlist.data
    playlist.close()


def test_the_same_file_twice_reuses_the_asset(client, teacher, clips):
    headers = api_token(client, teacher)
    data = clips["long"].read_bytes()
    _url, first = upload_file(client, headers, data)
    _url, second = upload_file(client, headers, data, name="again.mp4")
    assert second.status_code == 200
    assert second.get_json()["reused"] is True
    assert second.get_json()["media"]["id"] == first.get_json()["media"]["id"]
    assert rows(MediaAsset) == 1
    assert rows(Upload) == 0


@pytest.mark.parametrize(
    "clip", ["text", "garbage", "truncated", "scrambled", "audio_only", "cover_art", "blink"]
)
def test_what_is_not_a_playable_video_is_refused_and_leaves_nothing(
    app, client, teacher, clips, clip
):
    headers = api_token(client, teacher)
    _url, completed = upload_file(client, headers, clips[clip].read_bytes())
    assert completed.status_code == 422
    error = completed.get_json()["error"]
    assert error["code"] == "unsupported_media"
    assert any("\u4e00" <= ch <= "\u9fff" for ch in error["message"])  # a Chinese reason
    assert rows(Upload) == 0
    assert rows(MediaAsset) == 0
    assert media_files(app, "uploads") == []
    assert media_files(app, "originals") == []


@pytest.mark.parametrize("app_config", [{"LMS_VIDEO_MAX_DURATION_S": 5}])
def test_a_video_longer_than_the_limit_is_refused(client, teacher, clips):
    headers = api_token(client, teacher)
    _url, completed = upload_file(client, headers, clips["long"].read_bytes())
    assert completed.status_code == 422
    assert "5 分钟" not in completed.get_json()["error"]["message"]  # 0 minutes rounds down
    assert "太长" in completed.get_json()["error"]["message"]


def test_a_wrong_offset_is_a_conflict_that_names_the_right_one(client, teacher):
    headers = api_token(client, teacher)
    url = start_upload(client, headers, 10)
    ok = client.patch(url, data=b"abcd", headers={**headers, "Upload-Offset": "0"})
    assert ok.get_json()["offset"] == 4
    wrong = client.patch(url, data=b"efgh", headers={**headers, "Upload-Offset": "0"})
    assert wrong.status_code == 409
    assert wrong.get_json()["error"]["fields"]["offset"] == ["4"]
    assert client.get(url, headers=headers).headers["Upload-Offset"] == "4"
    missing = client.patch(url, data=b"efgh", headers=headers)
    assert missing.status_code == 400


def test_more_bytes_than_declared_are_refused(client, teacher):
    headers = api_token(client, teacher)
    url = start_upload(client, headers, 4)
    response = client.patch(url, data=b"too many bytes", headers={**headers, "Upload-Offset": "0"})
    assert response.status_code == 413
    assert db.session.scalar(select(Upload.received)) == 0


def test_an_unfinished_upload_cannot_be_completed(client, teacher):
    headers = api_token(client, teacher)
    url = start_upload(client, headers, 10)
    client.patch(url, data=b"abc", headers={**headers, "Upload-Offset": "0"})
    response = client.post(f"{url}/complete", headers=headers)
    assert response.status_code == 409
    assert rows(Upload) == 1


def test_an_upload_cut_off_half_way_resumes_where_it_stopped(client, teacher, clips):
    """A chunk whose connection drops keeps the bytes that arrived; the client asks for the
    offset and sends the rest."""
    headers = api_token(client, teacher)
    data = clips["long"].read_bytes()
    url = start_upload(client, headers, len(data), name="cut.mp4")

    class Dropping(io.BytesIO):
        def read(self, size=-1):
            if self.tell() >= 1000:
                raise OSError("connection reset")
            return super().read(min(size, 500) if size and size > 0 else 500)

    upload = db.session.scalar(select(Upload))
    media.write_chunk(upload, offset=0, stream=Dropping(data[:5000]), length=5000)
    db.session.commit()
    offset = int(client.get(url, headers=headers).headers["Upload-Offset"])
    assert offset == 1000
    rest = client.patch(url, data=data[offset:], headers={**headers, "Upload-Offset": str(offset)})
    assert rest.get_json()["offset"] == len(data)
    assert client.post(f"{url}/complete", headers=headers).status_code == 201


def test_someone_elses_upload_is_not_found(client, teacher, create_user):
    headers = api_token(client, teacher)
    url = start_upload(client, headers, 10)
    other = create_user(Role.TEACHER, "嘉明镇", name="别的老师")
    theirs = api_token(client, other)
    assert (
        client.patch(url, data=b"abc", headers={**theirs, "Upload-Offset": "0"}).status_code == 404
    )
    assert client.get(url, headers=theirs).status_code == 404
    assert client.post(f"{url}/complete", headers=theirs).status_code == 404
    assert db.session.scalar(select(Upload.received)) == 0


def test_residents_cannot_upload(client, resident):
    headers = api_token(client, resident)
    response = client.post(
        "/api/v1/uploads", json={"filename": "a.mp4", "size": 10}, headers=headers
    )
    assert response.status_code == 403
    assert rows(Upload) == 0


@pytest.mark.parametrize("size", [0, -1, 5 * 1024**3])
def test_impossible_sizes_are_refused(client, teacher, size):
    headers = api_token(client, teacher)
    response = client.post(
        "/api/v1/uploads", json={"filename": "a.mp4", "size": size}, headers=headers
    )
    assert response.status_code in (413, 422)
    assert rows(Upload) == 0


def test_a_video_lesson_by_multipart_and_who_may_fetch_it(
    app, client, teacher, resident, create_course, small_clip
):
    course = create_course(publish=False)
    headers = api_token(client, teacher)
    with open(small_clip, "rb") as handle:
        response = client.post(
            f"/api/v1/courses/{course.id}/lessons",
            headers=headers,
            data={"title": "视频课", "kind": "video", "file": (handle, "课.mp4")},
            content_type="multipart/form-data",
        )
    assert response.status_code == 201, response.get_json()
    lesson = response.get_json()
    assert lesson["kind"] == "video"
    assert lesson["media"]["status"] == "ready"
    assert lesson["duration_s"] == 4
    hls = lesson["media"]["hls_url"]

    resident_headers = api_token(app.test_client(), resident)
    assert status_of(client, hls, headers=resident_headers) == 404  # draft course
    assert status_of(client, hls) == 404
    assert status_of(client, hls, headers=headers) == 200

    courses.publish_course(course)
    db.session.commit()
    assert status_of(client, hls, headers=resident_headers) == 200
    assert status_of(client, hls) == 404  # signed-in users only …
    course.is_open = True
    db.session.commit()
    assert status_of(client, hls) == 200  # … unless the course is open


@pytest.fixture
def draft_video(client, teacher, create_course, save_video) -> MediaAsset:
    """A transcoded video in a draft course, its teacher signed in."""
    asset = save_video(teacher)
    media.add_video_lesson(create_course(publish=False), title="视频", asset=asset)
    db.session.commit()
    sign_in(client, teacher)
    return asset


def test_renditions_support_range_requests_and_refuse_odd_names(client, draft_video):
    asset = draft_video
    mp4 = f"/media/{asset.id}/download.mp4"
    partial = client.get(mp4, headers={"Range": "bytes=0-99"})
    assert partial.status_code == 206
    assert len(partial.data) == 100
    partial.close()
    for name in ("../originals/1/source", "v0/../../x.m3u8", "secret.txt", "master.m3u8.bak"):
        assert status_of(client, f"/media/{asset.id}/{name}") == 404


@pytest.mark.parametrize("app_config", [{"LMS_ACCEL_REDIRECT_PREFIX": "/protected-media/"}])
def test_production_hands_the_bytes_to_nginx(client, draft_video):
    asset = draft_video
    response = client.get(f"/media/{asset.id}/master.m3u8")
    assert response.status_code == 200
    assert (
        response.headers["X-Accel-Redirect"]
        == f"/protected-media/renditions/{asset.id}/master.m3u8"
    )
    assert response.data == b""


def test_a_failed_transcode_shows_the_reason_and_can_be_retried(app, client, teacher, save_video):
    asset = save_video(teacher)
    db.session.commit()
    db.session.refresh(asset)
    assert asset.status is MediaStatus.READY
    # Damage the original, then transcode again: ffmpeg's reason is kept, readable.
    from lms.core import storage

    storage.media_path(asset.original_path).write_bytes(b"\x00" * 1000)
    media.retry_asset(asset)
    db.session.commit()
    db.session.refresh(asset)
    assert asset.status is MediaStatus.FAILED
    assert asset.error
    state = client.get(f"/api/v1/media/{asset.id}", headers=api_token(client, teacher)).get_json()
    assert state["status"] == "failed"
    assert state["error"]
    assert state["hls_url"]  # the earlier, complete renditions keep playing


def test_lesson_media_link_is_removed_with_the_lesson(teacher, create_course, save_video):
    course = create_course(publish=False)
    asset = save_video(teacher)
    lesson = media.add_video_lesson(course, title="视频", asset=asset)
    db.session.commit()
    courses.delete_lesson(lesson)
    db.session.commit()
    assert rows(LessonMedia) == 0


def test_expired_uploads_are_refused_and_swept_away(app, client, teacher):
    from datetime import timedelta

    from lms.core.time import utcnow
    from lms.media.tasks import delete_expired_uploads

    headers = api_token(client, teacher)
    url = start_upload(client, headers, 10)
    client.patch(url, data=b"abc", headers={**headers, "Upload-Offset": "0"})
    upload = db.session.scalar(select(Upload))
    upload.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert (
        client.patch(url, data=b"def", headers={**headers, "Upload-Offset": "3"}).status_code == 404
    )
    assert delete_expired_uploads() == 1
    assert rows(Upload) == 0
    assert media_files(app, "uploads") == []


SRT = b"1\n00:00:00,000 --> 00:00:01,000\nSRT, not WebVTT\n"


def post_video(client, url: str, clip, captions: bytes, *, headers=None, **fields):
    """Post *clip* with *captions* as the multipart form of a lesson titled 字幕课."""
    with open(clip, "rb") as handle:
        return client.post(
            url,
            headers=headers or {},
            data={
                "title": "字幕课",
                "file": (handle, "课.mp4"),
                "captions": (io.BytesIO(captions), "a.vtt"),
                **fields,
            },
            content_type="multipart/form-data",
        )


def test_captions_are_checked_and_served_with_the_lesson(
    client, teacher, create_course, small_clip
):
    course = create_course(publish=False)
    headers = api_token(client, teacher)

    def post(captions: bytes):
        url = f"/api/v1/courses/{course.id}/lessons"
        return post_video(client, url, small_clip, captions, headers=headers, kind="video")

    refused = post(SRT)
    assert refused.status_code == 422
    assert "WebVTT" in refused.get_json()["error"]["message"]
    vtt = "WEBVTT\n\n00:00.000 --> 00:02.000\n大家好，今天学习养猪。\n".encode()
    lesson = post(vtt).get_json()
    detail = client.get(f"/api/v1/lessons/{lesson['id']}", headers=headers).get_json()
    response = client.get(detail["captions_url"], headers=headers)
    assert response.status_code == 200
    assert response.mimetype == "text/vtt"
    assert "养猪" in response.get_data(as_text=True)
    response.close()


def test_the_plain_video_lesson_form_keeps_nothing_of_a_refused_lesson(
    app, client, teacher, create_course, small_clip
):
    """Without JavaScript the form carries the video itself: a lesson the form refuses takes
    the new video with it, and the corrected form is saved with its video in one go."""
    course = create_course(publish=False)
    sign_in(client, teacher)

    def post(captions: bytes):
        url = f"/courses/{course.id}/lessons/new-video"
        return post_video(client, url, small_clip, captions, required="y")

    refused = post(SRT)
    assert refused.status_code == 422
    assert "WebVTT" in refused.get_data(as_text=True)
    assert rows(MediaAsset) == 0
    assert rows(LessonMedia) == 0
    assert media_files(app, "originals") == []
    assert media_files(app, "uploads") == []

    saved = post("WEBVTT\n\n00:00.000 --> 00:02.000\n大家好\n".encode())
    assert saved.status_code == 302
    link = db.session.scalar(select(LessonMedia))
    assert link.lesson.title == "字幕课"
    assert link.captions_path
    assert link.asset.status is MediaStatus.READY
    assert link.lesson.duration_s == 4
    assert media_files(app, "uploads") == []


def test_retranscode_command_queues_assets_again(app, teacher, save_video):
    asset = save_video(teacher)
    db.session.commit()
    runner = app.test_cli_runner()
    assert runner.invoke(args=["media", "retranscode"]).exit_code != 0  # needs ids or --all
    assert "no such asset" in runner.invoke(args=["media", "retranscode", "999"]).output
    result = runner.invoke(args=["media", "retranscode", "--all"])
    assert result.exit_code == 0, result.output
    assert "queued 1 asset" in result.output
    db.session.refresh(asset)
    assert asset.status is MediaStatus.READY  # the test app transcodes at once
    assert asset.attempts == 2
