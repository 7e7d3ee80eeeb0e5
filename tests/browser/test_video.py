"""Video lessons end to end in a real browser, with a clip transcoded for real by ffmpeg:
a resident watches a lesson to completion (hls.js, fetched only when play is pressed, and the
browser's own HLS), resumes where they left off after a reload, and a teacher uploads a lesson
video in resumable chunks and follows its transcoding on the course editor."""

from __future__ import annotations

import gc
import hashlib
import math
import time
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from lms.courses import operations as courses
from lms.courses.models import Lesson, LessonKind
from lms.extensions import db
from lms.learning import operations as learning
from lms.learning.models import LessonProgress
from lms.media import operations as media
from lms.media.models import LessonMedia, MediaAsset, MediaStatus, Upload
from tests.browser.conftest import ARTIFACTS, sign_in
from tests.media.clips import make_clip

pytestmark = [
    pytest.mark.browser,
    # werkzeug's development server skips closing a response's file when the browser resets
    # the connection while the server drains the request (serving.py, execute(): the read in
    # its `finally` raises before `application_iter.close()`). Browsers drop media range
    # requests all the time; production serves media through nginx (X-Accel-Redirect).
    pytest.mark.filterwarnings(
        r"ignore:unclosed file <_io.BufferedReader name='[^']*/media/renditions/:ResourceWarning"
    ),
]

CHUNK = 64 * 1024
VIDEO = "video[data-player]"


@pytest.fixture(autouse=True)
def _collect_dropped_files():
    """Finalise any such file while this test's warning filter still applies (autouse: torn
    down after the live server has stopped)."""
    yield
    gc.collect()


@pytest.fixture
def app_config() -> dict:
    # Small chunks so that an upload takes many PATCH requests; CSRF on, as in production, so
    # the scripts' X-CSRFToken headers are checked.
    return {"LMS_UPLOAD_CHUNK_BYTES": CHUNK, "WTF_CSRF_ENABLED": True}


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    """12 seconds of testsrc2 with a tone, 480×270, H.264 and AAC (about 0.7 MB)."""
    return make_clip(
        tmp_path_factory.mktemp("clips") / "taiji.mp4", seconds=12, width=480, height=270
    )


@pytest.fixture
def video_course(teacher, categories, clip):
    """A published course: a video lesson (transcoded on commit, the queue runs jobs at once)
    and a text lesson."""
    course = courses.create_course(
        teacher, title="太极拳入门", summary="<p>简介</p>", category=categories["健康养生"], hours=2
    )
    with open(clip, "rb") as stream:
        asset, _reused = media.save_stream(teacher, filename="taiji.mp4", stream=stream)
    lesson = media.add_video_lesson(course, title="第一式 起势", asset=asset)
    courses.add_text_lesson(course, title="练习要点", body="<p>全身放松，呼吸自然。</p>")
    courses.publish_course(course)
    db.session.commit()
    db.session.refresh(asset)
    assert asset.status is MediaStatus.READY, asset.error
    return course, lesson, asset


def video_state(page: Page) -> dict:
    return page.evaluate(
        """() => { const v = document.querySelector('video[data-player]');
                   return {time: v.currentTime, ready: v.readyState, paused: v.paused,
                           ended: v.ended, rate: v.playbackRate, engine: v.dataset.engine}; }"""
    )


def wait_for_video(page: Page, condition: str, timeout: float = 15_000) -> None:
    page.wait_for_function(
        f"() => {{ const v = document.querySelector('{VIDEO}'); return !!v && ({condition}); }}",
        timeout=timeout,
    )


def play_muted(page: Page) -> None:
    """Press the play button over the poster (muted: headless Chromium has no sound card)."""
    page.evaluate(f"() => {{ document.querySelector('{VIDEO}').muted = true; }}")
    page.get_by_role("button", name="播放", exact=True).click()


def without_native_hls(page: Page) -> None:
    """Make Chromium say it cannot play HLS by itself (as Firefox does), so hls.js is used."""
    page.add_init_script(
        """const canPlay = HTMLMediaElement.prototype.canPlayType;
           HTMLMediaElement.prototype.canPlayType = function (type) {
             return /mpegurl/i.test(type) ? "" : canPlay.call(this, type); };"""
    )


def media_requests(page: Page) -> list[str]:
    """URLs of media and of hls.js the page asks for from now on."""
    asked: list[str] = []
    page.on(
        "request",
        lambda request: (
            asked.append(request.url)
            if "/media/" in request.url or "hls.min.js" in request.url
            else None
        ),
    )
    return asked


def watch_console(page: Page) -> list[str]:
    """Errors the page reports (script errors, refused by the Content-Security-Policy …)."""
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


def progress_answers(page: Page, lesson) -> list:
    """The answers to the player's progress reports from now on (read with answered_so_far)."""
    answers: list = []
    url = f"/api/v1/lessons/{lesson.id}/progress"
    page.on("response", lambda response: answers.append(response) if url in response.url else None)
    return answers


def answered_so_far(answers: list) -> list[tuple]:
    """(what was reported, the status, what the server answered) for each report: what a
    failure message needs to tell a slow line from a miscount."""
    told = []
    for response in answers:
        body = response.request.post_data_json or {}
        try:
            answer = response.json()
        except Exception as error:  # whatever the answer was, say so
            answer = repr(error)
        told.append((body.get("segments"), body.get("position_s"), response.status, answer))
    return told


def played_seconds(page: Page, duration_s: float) -> float:
    """Seconds of the lesson the page's video has played, as the player reports them (each bound
    to the millisecond) and the server counts them (no further than the lesson's end)."""
    ranges = page.evaluate(
        f"""() => {{ const p = document.querySelector('{VIDEO}').played; const r = [];
                     for (let i = 0; i < p.length; i++) r.push([p.start(i), p.end(i)]);
                     return r; }}"""
    )
    return sum(
        max(0.0, min(round(end, 3), duration_s) - min(round(start, 3), duration_s))
        for start, end in ranges
    )


def progress_of(user, lesson) -> LessonProgress | None:
    db.session.expire_all()
    return db.session.scalar(select(LessonProgress).filter_by(user_id=user.id, lesson_id=lesson.id))


def test_resident_watches_a_video_lesson_to_completion(
    app, live_server, browser_page, video_course, resident
):
    course, lesson, _asset = video_course
    learning.enrol(resident, course)
    db.session.commit()
    page = browser_page
    failed = []
    page.on("requestfailed", lambda request: failed.append(request.url))
    errors = watch_console(page)
    workers: list[str] = []
    page.on("worker", lambda worker: workers.append(worker.url))
    without_native_hls(page)
    sign_in(page, live_server, resident)
    asked = media_requests(page)
    # The line drops the first two reports sent once playback has stopped at the end (those of
    # the pause and the end): no heartbeat follows by itself then, so the player reports again.
    dropped: list[float] = []

    def drop_the_last_reports(route):
        body = route.request.post_data_json or {}
        if len(dropped) < 2 and body.get("position_s", 0) >= lesson.duration_s - 0.5:
            dropped.append(body["position_s"])
            route.abort()
        else:
            route.continue_()

    page.route(f"**/api/v1/lessons/{lesson.id}/progress", drop_the_last_reports)
    answered = progress_answers(page, lesson)

    page.goto(f"{live_server}/lessons/{lesson.id}", wait_until="networkidle")
    # Nothing before play: not hls.js, not a playlist, not a segment (the poster is an <img>'s
    # worth: it is the only media the page shows).
    assert [url for url in asked if "poster.jpg" not in url] == []
    assert video_state(page)["engine"] == "hls.js"  # MSE and no HLS of its own: hls.js
    expect(page.get_by_text("已看 0%")).to_be_visible()
    expect(page.locator("[data-completed]")).to_be_hidden()
    for name in ("自动", "流畅", "仅音频", "0.75 倍速", "1 倍速", "2 倍速"):
        expect(page.get_by_role("button", name=name, exact=True)).to_be_visible()

    faster = page.get_by_role("button", name="2 倍速")
    faster.click()
    expect(faster).to_have_attribute("aria-pressed", "true")
    expect(page.get_by_role("button", name="1 倍速", exact=True)).to_have_attribute(
        "aria-pressed", "false"
    )
    play_muted(page)
    wait_for_video(page, "v.currentTime > 0.5")
    assert any("hls.min.js" in url for url in asked)
    assert video_state(page)["rate"] == 2
    wait_for_video(page, "v.ended", timeout=40_000)

    # The page shows that the server counted all that the page played (the whole video, unless
    # the player itself jumped a gap in the buffered media); the reports dropped at the end are
    # sent again, and so is any part the server did not count yet (uncounted_s).
    played = played_seconds(page, lesson.duration_s)
    shown = math.floor(round(played / lesson.duration_s, 4) * 100)
    try:
        expect(page.locator("[data-completed]")).to_be_visible(timeout=20_000)
        expect(page.get_by_text(f"已看 {shown}%")).to_be_visible(timeout=30_000)
    except AssertionError as error:
        raise AssertionError(f"played {played} s; reports: {answered_so_far(answered)}") from error
    assert shown >= 97, answered_so_far(answered)
    page.screenshot(path=str(ARTIFACTS / "video-lesson-360.png"), full_page=True)

    progress = progress_of(resident, lesson)
    assert progress.completed_at is not None
    assert progress.watched_s >= 0.9 * lesson.duration_s
    # The player's heartbeats carry the visit's key: answered by the short path (the one that
    # completed the lesson, and any after it, by the application).
    assert app.extensions["lms_heartbeat_path"].served > 0
    assert len(dropped) == 2
    lost = [url for url in failed if "/media/" in url or "/api/" in url]
    assert lost == [f"{live_server}/api/v1/lessons/{lesson.id}/progress"] * 2, failed
    assert errors == ["Failed to load resource: net::ERR_FAILED"] * 2  # the two dropped
    assert any(url.startswith("blob:") for url in workers), workers  # hls.js's transmuxer


def test_resident_resumes_where_they_left_off_after_a_reload(
    live_server, browser_page, video_course, resident
):
    course, lesson, _asset = video_course
    learning.enrol(resident, course)
    db.session.commit()
    page = browser_page
    sign_in(page, live_server, resident)

    page.goto(f"{live_server}/lessons/{lesson.id}")
    assert video_state(page)["time"] == 0
    play_muted(page)
    wait_for_video(page, "v.currentTime >= 5", timeout=20_000)
    left_at = video_state(page)["time"]

    # Reloading while it plays: the page-hide heartbeat (keepalive) tells the server. The new
    # page fetches nothing until play is pressed, then starts where the resident left off.
    asked = media_requests(page)
    page.reload(wait_until="networkidle")
    assert [url for url in asked if "poster.jpg" not in url] == []
    assert video_state(page)["paused"]
    play_muted(page)
    wait_for_video(page, "v.currentTime > 0")
    state = video_state(page)
    assert left_at - 2 <= state["time"] <= left_at + 4, (state, left_at)

    deadline = time.monotonic() + 10
    while True:
        progress = progress_of(resident, lesson)
        if progress.resume_position_s > 0 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert abs(progress.resume_position_s - left_at) <= 2, (progress.resume_position_s, left_at)
    assert progress.watched_s > 3
    assert progress.completed_at is None

    # The server's position is what a fresh browser (another phone) starts from.
    page.evaluate("() => window.localStorage.clear()")
    page.reload()
    play_muted(page)
    wait_for_video(page, "v.currentTime > 0")
    assert (
        progress.resume_position_s - 2
        <= video_state(page)["time"]
        <= progress.resume_position_s + 4
    )


def test_audio_only_and_back(live_server, browser_page, video_course, resident):
    course, lesson, asset = video_course
    learning.enrol(resident, course)
    db.session.commit()
    page = browser_page
    sign_in(page, live_server, resident)
    page.goto(f"{live_server}/lessons/{lesson.id}")

    # Chosen before play: remembered, fetched when play is pressed.
    page.get_by_role("button", name="仅音频").click()
    expect(page.get_by_role("button", name="仅音频")).to_have_attribute("aria-pressed", "true")
    expect(page.get_by_text("正在只播放声音")).to_be_visible()
    with page.expect_request(lambda request: "/audio/" in request.url and ".m3u8" in request.url):
        play_muted(page)
    wait_for_video(page, "v.currentTime > 1")
    assert video_state(page)["engine"] == "native"  # this Chromium plays HLS by itself
    assert page.evaluate(f"() => document.querySelector('{VIDEO}').videoWidth") == 0

    with page.expect_request(lambda request: request.url.endswith("/master.m3u8")):
        page.get_by_role("button", name="自动").click()
    wait_for_video(page, "v.videoWidth > 0 && v.currentTime > 1", timeout=20_000)
    expect(page.get_by_text("正在只播放声音")).to_be_hidden()


def test_text_lesson_is_marked_learnt_after_its_reading_time(
    live_server, browser_page, video_course, resident
):
    course, _video, _asset = video_course
    learning.enrol(resident, course)
    db.session.commit()
    text = course.lessons[1]
    page = browser_page
    sign_in(page, live_server, resident)
    page.goto(f"{live_server}/lessons/{text.id}")
    page.screenshot(path=str(ARTIFACTS / "text-lesson-360.png"))
    # Straight away is too early: the server says how much longer, and records nothing.
    page.get_by_role("button", name="我已学完").click()
    expect(page.get_by_text("后再标记学完")).to_be_visible()
    assert progress_of(resident, text).completed_at is None
    # The reading time has passed (the test cannot wait half a minute): now it counts.
    progress = progress_of(resident, text)
    progress.opened_at -= timedelta(minutes=30)
    db.session.commit()
    page.get_by_role("button", name="我已学完").click()
    expect(page.get_by_text("已学完", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="我已学完")).to_have_count(0)
    assert progress_of(resident, text).completed_at is not None


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_teacher_uploads_a_video_lesson_in_resumable_chunks(
    live_server, browser_page, teacher, categories, clip
):
    course = courses.create_course(
        teacher, title="防诈骗知识", summary="<p>简介</p>", category=categories["法制教育"], hours=1
    )
    db.session.commit()
    page = browser_page
    sign_in(page, live_server, teacher)
    page.goto(f"{live_server}/courses/{course.id}/edit")
    page.get_by_role("link", name="添加视频课时").click()
    page.wait_for_url(f"**/courses/{course.id}/lessons/new-video")

    offsets: list[int] = []
    dropped: list[int] = []

    def chunks(route):
        request = route.request
        if request.method == "PATCH":
            offset = int(request.headers["upload-offset"])
            offsets.append(offset)
            if len(offsets) == 3 and not dropped:  # the line drops once, half-way through
                dropped.append(offset)
                route.abort("internetdisconnected")
                return
        route.continue_()

    page.route("**/api/v1/uploads/*", chunks)
    size = clip.stat().st_size
    page.get_by_label("课时标题").fill("识别电信诈骗")
    page.get_by_label("视频文件").set_input_files(str(clip))
    page.get_by_role("button", name="上传并保存").click()
    expect(page.get_by_text("网络不稳定")).to_be_visible()
    expect(page.locator("[data-upload-bar]")).to_have_js_property("value", 2 * CHUNK * 100 // size)
    expect(page.get_by_text(f"已上传 {2 * CHUNK * 100 // size}%")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "video-upload-360.png"), full_page=True)

    page.wait_for_url(f"**/courses/{course.id}/edit", timeout=60_000)
    expect(page.get_by_text("视频课时已添加")).to_be_visible()
    row = page.locator(".row", has_text="识别电信诈骗")
    expect(row.get_by_text("可以播放")).to_be_visible()
    expect(row.get_by_text("时长 0:12")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "course-editor-video-360.png"), full_page=True)

    assert len(offsets) >= size // CHUNK + 1  # every chunk, plus the one sent again
    assert dropped == [2 * CHUNK]
    assert offsets[:4] == [0, CHUNK, 2 * CHUNK, 2 * CHUNK]
    db.session.expire_all()
    lesson = db.session.scalar(select(Lesson).filter_by(course_id=course.id, title="识别电信诈骗"))
    assert lesson.kind is LessonKind.VIDEO
    asset = db.session.get(LessonMedia, lesson.id).asset
    assert asset.status is MediaStatus.READY
    assert asset.size_bytes == size
    assert asset.sha256 == _sha256(clip)
    assert db.session.scalar(select(func.count()).select_from(Upload)) == 0


def test_an_interrupted_upload_resumes_after_a_reload(
    live_server, browser_page, teacher, categories, clip
):
    course = courses.create_course(
        teacher, title="防诈骗知识", summary="<p>简介</p>", category=categories["法制教育"], hours=1
    )
    db.session.commit()
    page = browser_page
    page.on("dialog", lambda dialog: dialog.accept())  # "leave the page?" while uploading
    sign_in(page, live_server, teacher)
    page.goto(f"{live_server}/courses/{course.id}/lessons/new-video")

    sent: list[int] = []

    def offline_after_two(route):
        if route.request.method == "PATCH":
            sent.append(int(route.request.headers["upload-offset"]))
            if len(sent) > 2:
                route.abort("internetdisconnected")
                return
        route.continue_()

    page.route("**/api/v1/uploads/*", offline_after_two)
    page.get_by_label("课时标题").fill("识别电信诈骗")
    page.get_by_label("视频文件").set_input_files(str(clip))
    page.get_by_role("button", name="上传并保存").click()
    expect(page.get_by_text("网络不稳定")).to_be_visible()
    db.session.expire_all()
    assert db.session.scalar(select(Upload.received)) == 2 * CHUNK

    page.unroute("**/api/v1/uploads/*")
    page.reload()
    resumed: list[int] = []
    page.route(
        "**/api/v1/uploads/*",
        lambda route: (
            resumed.append(int(route.request.headers["upload-offset"]))
            if route.request.method == "PATCH"
            else None,
            route.continue_(),
        ),
    )
    page.get_by_label("课时标题").fill("识别电信诈骗")
    page.get_by_label("视频文件").set_input_files(str(clip))
    page.get_by_role("button", name="上传并保存").click()
    page.wait_for_url(f"**/courses/{course.id}/edit", timeout=60_000)

    assert resumed[0] == 2 * CHUNK  # not from the start
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(MediaAsset)) == 1
    assert db.session.scalar(select(func.count()).select_from(Upload)) == 0
    assert (
        page.evaluate("() => Object.keys(localStorage).filter(k => k.startsWith('lms-upload:'))")
        == []
    )


def test_cancelling_an_upload_leaves_nothing_behind(
    app, live_server, browser_page, teacher, categories, clip
):
    course = courses.create_course(
        teacher, title="防诈骗知识", summary="<p>简介</p>", category=categories["法制教育"], hours=1
    )
    db.session.commit()
    page = browser_page
    page.on("dialog", lambda dialog: dialog.accept())  # "cancel the upload?"
    sign_in(page, live_server, teacher)
    page.goto(f"{live_server}/courses/{course.id}/lessons/new-video")

    def stall(route):
        if route.request.method == "PATCH" and route.request.headers["upload-offset"] != "0":
            route.abort("internetdisconnected")
            return
        route.continue_()

    page.route("**/api/v1/uploads/*", stall)
    page.get_by_label("课时标题").fill("识别电信诈骗")
    page.get_by_label("视频文件").set_input_files(str(clip))
    page.get_by_role("button", name="上传并保存").click()
    expect(page.get_by_text("网络不稳定")).to_be_visible()
    with page.expect_request(lambda request: request.method == "DELETE"):
        page.get_by_role("button", name="取消上传").click()
    expect(page.get_by_text("已取消上传")).to_be_visible()
    expect(page.get_by_role("button", name="上传并保存")).to_be_enabled()

    # The row goes with the request; the file is removed after commit by a job (law 2), so
    # wait for both.
    uploads = Path(app.config["LMS_MEDIA_DIR"]) / "uploads"
    deadline = time.monotonic() + 10
    while True:
        db.session.expire_all()
        left = db.session.scalar(select(func.count()).select_from(Upload))
        files = list(uploads.iterdir()) if uploads.exists() else []
        if (left == 0 and not files) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert left == 0
    assert files == []
    assert page.url.endswith("/lessons/new-video")


def test_a_refused_file_shows_the_reason_beside_the_file_field(
    live_server, browser_page, teacher, categories, tmp_path
):
    course = courses.create_course(
        teacher, title="防诈骗知识", summary="<p>简介</p>", category=categories["法制教育"], hours=1
    )
    db.session.commit()
    not_a_video = tmp_path / "notes.mp4"
    not_a_video.write_bytes(b"these are my lesson notes, not a video\n" * 5000)
    page = browser_page
    sign_in(page, live_server, teacher)
    page.goto(f"{live_server}/courses/{course.id}/lessons/new-video")
    page.get_by_label("课时标题").fill("识别电信诈骗")
    page.get_by_label("视频文件").set_input_files(str(not_a_video))
    page.get_by_role("button", name="上传并保存").click()

    error = page.locator("#file-upload-error")
    expect(error).to_contain_text("这不是可以播放的视频文件")
    expect(page.get_by_label("视频文件")).to_have_attribute("aria-invalid", "true")
    assert page.url.endswith("/lessons/new-video")
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Lesson)) == 0
    assert db.session.scalar(select(func.count()).select_from(MediaAsset)) == 0


def test_course_editor_follows_transcoding_and_offers_a_retry(
    live_server, browser_page, video_course, teacher
):
    course, lesson, asset = video_course
    asset.status, asset.progress = MediaStatus.PROCESSING, 40
    db.session.commit()
    page = browser_page
    sign_in(page, live_server, teacher)

    page.goto(f"{live_server}/lessons/{lesson.id}")
    expect(page.get_by_text("视频正在准备中")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "video-lesson-pending-360.png"))
    assert page.locator("video").count() == 0

    page.goto(f"{live_server}/courses/{course.id}/edit")
    state = page.locator(f"[data-media-id='{asset.id}']")
    expect(state.get_by_text("转码中")).to_be_visible()
    expect(state.locator("progress")).to_have_attribute("value", "40")

    asset.progress = 75
    db.session.commit()
    expect(state.get_by_text("75%")).to_be_visible(timeout=10_000)  # polled every 3 s
    expect(state.locator("progress")).to_have_js_property("value", 75)
    state.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "course-editor-transcoding-360.png"))

    asset.status, asset.error = (
        MediaStatus.FAILED,
        "[h264 @ 0x55d0] Invalid NAL unit size (1734 > 112).",
    )
    db.session.commit()
    expect(page.get_by_text("视频转码没有成功")).to_be_visible(timeout=10_000)  # reloaded
    page.get_by_text("查看出错详情").click()
    expect(page.get_by_text("Invalid NAL unit size")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "course-editor-failed-360.png"), full_page=True)

    page.get_by_role("button", name="重新转码").click()
    expect(page.get_by_text("已重新开始转码")).to_be_visible(timeout=60_000)
    expect(page.locator(f"[data-media-id='{asset.id}']").get_by_text("可以播放")).to_be_visible()
    db.session.expire_all()
    assert db.session.get(MediaAsset, asset.id).status is MediaStatus.READY


def test_an_uploaded_video_is_kept_while_the_form_is_corrected(
    live_server, browser_page, teacher, categories, clip
):
    course = courses.create_course(
        teacher, title="防诈骗知识", summary="<p>简介</p>", category=categories["法制教育"], hours=1
    )
    db.session.commit()
    page = browser_page
    sign_in(page, live_server, teacher)
    page.goto(f"{live_server}/courses/{course.id}/lessons/new-video")
    page.get_by_label("视频文件").set_input_files(str(clip))
    page.get_by_role("button", name="上传并保存").click()  # no title yet

    expect(page.get_by_text("请填写课时标题")).to_be_visible(timeout=60_000)
    expect(page.get_by_text("视频已经上传好了")).to_be_visible()
    page.get_by_label("课时标题").fill("识别电信诈骗")
    api: list[str] = []
    page.on("request", lambda request: api.append(request.url) if "/api/" in request.url else None)
    page.get_by_role("button", name="上传并保存").click()
    page.wait_for_url(f"**/courses/{course.id}/edit")
    assert api == []  # nothing is uploaded twice

    db.session.expire_all()
    lesson = db.session.scalar(select(Lesson).filter_by(course_id=course.id))
    assert lesson.title == "识别电信诈骗"
    assert db.session.scalar(select(func.count()).select_from(MediaAsset)) == 1


def test_without_javascript_the_form_posts_the_whole_file(
    live_server, browser_page, teacher, categories, clip
):
    course = courses.create_course(
        teacher, title="防诈骗知识", summary="<p>简介</p>", category=categories["法制教育"], hours=1
    )
    db.session.commit()
    context = browser_page.context.browser.new_context(
        java_script_enabled=False, viewport={"width": 360, "height": 800}, locale="zh-CN"
    )
    page = context.new_page()
    try:
        sign_in(page, live_server, teacher)
        page.goto(f"{live_server}/courses/{course.id}/lessons/new-video")
        page.get_by_label("课时标题").fill("识别电信诈骗")
        page.get_by_label("视频文件").set_input_files(str(clip))
        api: list[str] = []
        page.on(
            "request", lambda request: api.append(request.url) if "/api/" in request.url else None
        )
        page.get_by_role("button", name="上传并保存").click()
        page.wait_for_url(f"**/courses/{course.id}/edit", timeout=60_000)
        assert api == []
        expect(
            page.locator(".row", has_text="识别电信诈骗").get_by_text("可以播放")
        ).to_be_visible()
    finally:
        context.close()


@pytest.mark.parametrize("engine", ["native", "mp4"])
def test_without_hls_js_the_browser_plays_by_itself(
    live_server, browser_page, video_course, resident, engine
):
    """When hls.js cannot load (or MSE is missing), the player uses the browser's own HLS (as
    Safari and recent Chromium have), or else the MP4, and still reports progress."""
    course, lesson, _asset = video_course
    learning.enrol(resident, course)
    db.session.commit()
    page = browser_page
    page.route("**/vendor/hls.js/*", lambda route: route.abort())
    if engine == "mp4":  # a browser without HLS of its own
        without_native_hls(page)
    sign_in(page, live_server, resident)
    page.goto(f"{live_server}/lessons/{lesson.id}")
    play_muted(page)
    wait_for_video(page, "v.readyState >= 1")
    assert video_state(page)["engine"] == engine
    quality = page.locator("[data-quality-group]")
    if engine == "mp4":
        expect(quality).to_be_hidden()
    else:
        expect(quality).to_be_visible()
    wait_for_video(page, "v.currentTime >= 3", timeout=20_000)
    with page.expect_response(lambda response: response.url.endswith("/progress")) as answer:
        page.evaluate(f"() => document.querySelector('{VIDEO}').pause()")
    assert answer.value.ok
    assert answer.value.json()["watched_s"] >= 2
