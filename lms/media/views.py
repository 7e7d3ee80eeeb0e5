"""HTML views of media: adding a video lesson, retrying a failed transcode, and serving
renditions (through nginx's X-Accel-Redirect in production, by Flask with Range support in
development)."""

from __future__ import annotations

import re

from flask import abort, current_app, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from lms.core.errors import field_error
from lms.core.files import send_media_file
from lms.core.forms import attempt, render_form, require_form_token
from lms.courses import access as courses_access
from lms.media import access, bp, documents, operations
from lms.media.forms import DocumentForm, VideoLessonForm
from lms.media.models import MediaAsset
from lms.media.serializers import media_out

RENDITION_NAME = re.compile(r"[A-Za-z0-9_\-]+(?:/[A-Za-z0-9_\-]+)*\.(m3u8|ts|m4s|mp4|m4a|aac|jpg)")
CONTENT_TYPES = {
    "m3u8": "application/vnd.apple.mpegurl",
    "ts": "video/mp2t",
    "m4s": "video/iso.segment",
    "mp4": "video/mp4",
    "m4a": "audio/mp4",
    "aac": "audio/aac",
    "jpg": "image/jpeg",
}


@bp.app_context_processor
def _media_helpers():
    def lesson_media(lesson):
        link = access.lesson_media(lesson)
        return media_out(link.asset) if link else None

    return {
        "lesson_media": lesson_media,
        "course_materials": access.course_materials,
        "lesson_document": access.lesson_document,
    }


@bp.get("/media/<int:asset_id>/<path:name>")
def rendition(asset_id: int, name: str):
    match = RENDITION_NAME.fullmatch(name)
    if match is None:
        abort(404)
    asset = access.get_asset_or_404(asset_id, current_user)
    if not asset.renditions:
        abort(404)  # only a complete set, renamed into place, is ever served
    return send_media_file(
        f"{asset.folder}/{name}", CONTENT_TYPES[match.group(1)], cache=not name.endswith(".m3u8")
    )


@bp.get("/lessons/<int:lesson_id>/captions.vtt")
def captions(lesson_id: int):
    lesson = courses_access.get_lesson_or_404(lesson_id, current_user)
    link = access.lesson_media(lesson)
    if link is None or not link.captions_path or not access.can_fetch(current_user, link.asset):
        abort(404)
    return send_media_file(link.captions_path, "text/vtt; charset=utf-8", cache=False)


@bp.route("/courses/<int:course_id>/lessons/new-video", methods=["GET", "POST"])
@login_required
def new_video_lesson(course_id: int):
    course = courses_access.get_course_or_404(course_id, current_user, for_edit=True)
    access.ensure_can_upload(current_user)
    # A plain form post may carry the whole video; chunked uploads arrive through the API.
    request.max_content_length = current_app.config["LMS_UPLOAD_MAX_BYTES"] + 1024 * 1024
    form = VideoLessonForm()
    if form.validate_on_submit():
        with attempt(form, done=_("视频课时已添加，正在后台转码，完成后居民即可观看")) as result:
            operations.add_video_lesson(
                course,
                title=form.title.data,
                asset=_asset_from(form),
                required=form.required.data,
                captions=form.captions.data.stream if form.captions.data else None,
            )
        if result.ok:
            return redirect(url_for("courses.edit_course", course_id=course.id))
    return render_form(
        "media/video_lesson_form.html",
        form,
        course=course,
        chunk_size=current_app.config["LMS_UPLOAD_CHUNK_BYTES"],
        max_bytes=current_app.config["LMS_UPLOAD_MAX_BYTES"],
    )


def _asset_from(form: VideoLessonForm) -> MediaAsset:
    """The video the form names: uploaded already (media_id, by the resumable uploader) or
    carried by the form itself. Saved in the lesson's transaction: a lesson that fails takes a
    new asset's files with it."""
    if form.media_id.data:
        asset = access.asset_for_lesson(int(form.media_id.data), current_user)
        if asset is None:
            raise field_error("file", _("没有这个视频，请重新上传"))
        return asset
    if form.file.data and form.file.data.filename:
        asset, _reused = operations.save_stream(
            current_user, filename=form.file.data.filename, stream=form.file.data.stream
        )
        return asset
    raise field_error("file", _("请选择要上传的视频文件"))


@bp.route("/courses/<int:course_id>/documents/new", methods=["GET", "POST"])
@login_required
def new_document(course_id: int):
    course = courses_access.get_course_or_404(course_id, current_user, for_edit=True)
    form = DocumentForm()
    if form.validate_on_submit():
        file = form.file.data
        with attempt(form, done=_("文件已上传")) as result:
            if file is None or not file.filename:
                raise field_error("file", _("请选择要上传的文件"))
            if form.as_lesson.data:
                operations.add_document_lesson(
                    course,
                    current_user,
                    title=form.title.data,
                    filename=file.filename,
                    stream=file.stream,
                    required=form.required.data,
                )
            else:
                operations.add_material(
                    course, current_user, filename=file.filename, stream=file.stream
                )
        if result.ok:
            return redirect(url_for("courses.edit_course", course_id=course.id))
    return render_form("media/document_form.html", form, course=course)


@bp.get("/materials/<int:material_id>/download")
def download_material(material_id: int):
    material = access.get_material_or_404(material_id, current_user)
    # PDFs open in the browser; Office files download. Either way under their Chinese name.
    return send_media_file(
        material.path,
        documents.mimetype(material.kind),
        cache=False,
        download_name=material.filename,
        inline=material.kind == "pdf",
    )


@bp.post("/materials/<int:material_id>/delete")
@login_required
def delete_material(material_id: int):
    material = access.get_material_or_404(material_id, current_user, manage=True)
    require_form_token()
    course_id = material.course_id
    with attempt(done=_("资料已删除")):
        operations.delete_material(material)
    return redirect(url_for("courses.edit_course", course_id=course_id))


@bp.post("/media/<int:asset_id>/retry")
@login_required
def retry(asset_id: int):
    asset = access.get_asset_or_404(asset_id, current_user, manage=True)
    require_form_token()
    with attempt(done=_("已重新开始转码")):
        operations.retry_asset(asset)
    return redirect(
        request.referrer
        if request.referrer and request.referrer.startswith(request.host_url)
        else url_for("courses.teaching")
    )
