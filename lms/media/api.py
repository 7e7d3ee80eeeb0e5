"""JSON views of media under /api/v1: resumable uploads (tus-like: chunks at stated offsets),
media state, and adding lessons (text as JSON, video by upload or as a multipart file)."""

from __future__ import annotations

from flask import current_app, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from pydantic import BaseModel, Field

from lms.core.api import ApiError, Id, Schema, endpoint, json_body, multipart_form, parse
from lms.core.retry import without_retry
from lms.core.text import clean_title
from lms.courses import access as courses_access
from lms.courses import operations as courses
from lms.courses.models import Course, LessonKind
from lms.extensions import db
from lms.media import access, api_bp, operations
from lms.media.models import Material
from lms.media.serializers import MediaOut, media_out


class UploadIn(Schema):
    filename: str = Field(max_length=400)
    size: int = Field(ge=1, le=2**53)


class UploadOut(BaseModel):
    upload_id: str
    offset: int
    size: int
    chunk_size: int
    upload_url: str


class UploadedOut(BaseModel):
    media: MediaOut
    reused: bool


class LessonIn(Schema):
    title: str = Field(max_length=400)
    kind: str = Field("text", pattern="^(text|video)$")
    body: str = Field("", max_length=400000)
    media_id: Id | None = None
    required: bool = True


class MaterialOut(BaseModel):
    id: int
    filename: str
    kind: str
    size_bytes: int
    url: str


def material_out(material: Material) -> MaterialOut:
    return MaterialOut(
        id=material.id,
        filename=material.filename,
        kind=material.kind,
        size_bytes=material.size_bytes,
        url=url_for("media.download_material", material_id=material.id),
    )


class LessonOut(BaseModel):
    id: int
    title: str
    kind: str
    duration_s: int | None
    required: bool
    media: MediaOut | None = None
    document: MaterialOut | None = None


def _upload_out(upload) -> dict:
    return UploadOut(
        upload_id=upload.token,
        offset=upload.received,
        size=upload.size,
        chunk_size=current_app.config["LMS_UPLOAD_CHUNK_BYTES"],
        upload_url=url_for("media_api.upload_chunk", token=upload.token),
    ).model_dump()


@endpoint(
    api_bp,
    "/uploads",
    "POST",
    summary="开始一次可续传的上传",
    body=UploadIn,
    response=UploadOut,
    status=201,
)
def start_upload(body: UploadIn):
    access.ensure_can_upload(current_user)
    upload = operations.start_upload(current_user, filename=body.filename, size=body.size)
    db.session.commit()
    return _upload_out(upload), 201


@endpoint(
    api_bp,
    "/uploads/<token>",
    "GET",
    summary="查询上传进度（从 offset 处续传）",
    response=UploadOut,
)
def get_upload(token: str):
    upload = access.get_upload_or_404(token, current_user)
    return _upload_out(upload), 200, {"Upload-Offset": str(upload.received)}


@endpoint(
    api_bp,
    "/uploads/<token>",
    "PATCH",
    summary="上传一段数据（请求头 Upload-Offset 给出位置）",
    response=UploadOut,
    raw="application/offset+octet-stream",
)
@without_retry  # it reads the request's body as a stream, which cannot be read twice
def upload_chunk(token: str):
    upload = access.get_upload_or_404(token, current_user)
    header = request.headers.get("Upload-Offset", "")
    if not header.isdigit():
        raise ApiError(400, "bad_request", _("缺少 Upload-Offset 请求头"))
    operations.write_chunk(
        upload, offset=int(header), stream=request.stream, length=request.content_length
    )
    db.session.commit()
    return _upload_out(upload), 200, {"Upload-Offset": str(upload.received)}


@endpoint(api_bp, "/uploads/<token>", "DELETE", summary="放弃上传", status=204)
def cancel_upload(token: str):
    operations.cancel_upload(access.get_upload_or_404(token, current_user))
    db.session.commit()
    return "", 204


@endpoint(
    api_bp,
    "/uploads/<token>/complete",
    "POST",
    summary="完成上传：检测视频并排队转码",
    response=UploadedOut,
    status=201,
)
def complete_upload(token: str):
    upload = access.get_upload_or_404(token, current_user)
    finished = operations.finish_upload(upload)
    db.session.commit()  # a refused file's upload is gone for good too
    if finished.refusal is not None:
        raise finished.refusal
    return UploadedOut(media=media_out(finished.asset), reused=finished.reused).model_dump(
        mode="json"
    ), 200 if finished.reused else 201


@endpoint(api_bp, "/media/<int:media_id>", "GET", summary="媒体状态与播放地址", response=MediaOut)
def get_media(media_id: int):
    asset = access.get_asset_or_404(media_id, current_user)
    return media_out(asset).model_dump(mode="json")


@endpoint(
    api_bp, "/media/<int:media_id>/retry", "POST", summary="重新转码失败的视频", response=MediaOut
)
def retry_media(media_id: int):
    asset = access.get_asset_or_404(media_id, current_user, manage=True)
    operations.retry_asset(asset)
    db.session.commit()
    return media_out(asset).model_dump(mode="json")


@endpoint(
    api_bp,
    "/courses/<int:course_id>/lessons",
    "POST",
    summary="添加课时：JSON（图文，或用 media_id 的视频），或 multipart（title、kind、file）",
    response=LessonOut,
    status=201,
    multipart={
        "title": "课时标题",
        "kind": "video",
        "file": "视频文件",
        "captions": "WebVTT 字幕（选填）",
    },
)
def create_lesson(course_id: int):
    course = courses_access.get_course_or_404(course_id, current_user, for_edit=True)
    if request.mimetype == "multipart/form-data":
        lesson = _lesson_from_form(course)
    else:
        lesson = _lesson_from_json(course, parse(LessonIn, json_body()))
    db.session.commit()
    return _lesson_out(lesson), 201


def _lesson_from_json(course: Course, body: LessonIn):
    if body.kind == LessonKind.TEXT.value:
        return courses.add_text_lesson(
            course, title=body.title, body=body.body, required=body.required
        )
    if body.media_id is None:
        message = _("视频课时需要 media_id（先上传视频）")
        raise ApiError(422, "validation_error", message, {"media_id": [message]})
    asset = access.asset_for_lesson(body.media_id, current_user)
    if asset is None:
        message = _("没有这个视频")
        raise ApiError(422, "validation_error", message, {"media_id": [message]})
    return operations.add_video_lesson(
        course, title=body.title, asset=asset, required=body.required
    )


def _uploaded_file():
    multipart_form()  # names and fields without control characters
    file = request.files.get("file")
    if file is None or not file.filename:
        message = _("请选择要上传的文件")
        raise ApiError(422, "validation_error", message, {"file": [message]})
    return file


def _lesson_from_form(course: Course):
    access.ensure_can_upload(current_user)
    request.max_content_length = current_app.config["LMS_UPLOAD_MAX_BYTES"] + 1024 * 1024
    form = multipart_form()
    kind = form.get("kind", "video")
    if kind not in (LessonKind.VIDEO.value, LessonKind.DOCUMENT.value):
        message = _("上传文件的课时只能是视频（video）或文档（document）")
        raise ApiError(422, "validation_error", message, {"kind": [message]})
    title = form.get("title", "")
    clean_title(title)  # refuse a bad title before receiving gigabytes
    file = _uploaded_file()
    required = form.get("required", "1") not in ("0", "false")
    if kind == LessonKind.DOCUMENT.value:
        return operations.add_document_lesson(
            course,
            current_user,
            title=title,
            filename=file.filename,
            stream=file.stream,
            required=required,
        )
    asset, _reused = operations.save_stream(
        current_user, filename=file.filename, stream=file.stream
    )
    captions = request.files.get("captions")
    return operations.add_video_lesson(
        course,
        title=title,
        asset=asset,
        required=required,
        captions=captions.stream if captions and captions.filename else None,
    )


def _lesson_out(lesson) -> dict:
    link = access.lesson_media(lesson)
    document = access.lesson_document(lesson)
    return LessonOut(
        id=lesson.id,
        title=lesson.title,
        kind=lesson.kind.value,
        duration_s=lesson.duration_s,
        required=lesson.required,
        media=media_out(link.asset) if link else None,
        document=material_out(document) if document else None,
    ).model_dump(mode="json")


class MaterialList(BaseModel):
    items: list[MaterialOut]


@endpoint(
    api_bp,
    "/courses/<int:course_id>/materials",
    "GET",
    summary="课程资料（文档）",
    response=MaterialList,
    auth=False,
)
def list_materials(course_id: int):
    course = courses_access.get_course_or_404(course_id, current_user)
    return {"items": [material_out(m).model_dump() for m in access.course_materials(course)]}


@endpoint(
    api_bp,
    "/courses/<int:course_id>/materials",
    "POST",
    summary="上传课程资料（multipart：file；PDF、DOCX、PPTX、XLSX）",
    response=MaterialOut,
    status=201,
    multipart={"file": "文档"},
)
def create_material(course_id: int):
    course = courses_access.get_course_or_404(course_id, current_user, for_edit=True)
    file = _uploaded_file()
    material = operations.add_material(
        course, current_user, filename=file.filename, stream=file.stream
    )
    db.session.commit()
    return material_out(material).model_dump(), 201


@endpoint(api_bp, "/materials/<int:material_id>", "DELETE", summary="删除课程资料", status=204)
def delete_material(material_id: int):
    material = access.get_material_or_404(material_id, current_user)
    courses_access.get_course_or_404(material.course_id, current_user, for_edit=True)
    operations.delete_material(material)
    db.session.commit()
    return "", 204
