"""Admin API: bulk import of residents (the same dry run and import as the pages)."""

from __future__ import annotations

from datetime import datetime

from flask import request
from flask_babel import gettext as _
from flask_login import current_user
from pydantic import BaseModel

from lms.accounts import access
from lms.admin import api_bp, imports
from lms.admin.imports_read import MAX_BYTES, ImportFileError, read_table
from lms.admin.imports_tasks import import_residents
from lms.core.api import ApiError, endpoint, not_found
from lms.core.jobs import after_commit
from lms.extensions import db


class ImportProblem(BaseModel):
    row: int
    column: str
    message: str


class ImportOut(BaseModel):
    id: int
    filename: str
    status: str
    created_at: datetime
    total_rows: int
    good_rows: int
    to_create: int
    to_update: int
    unchanged: int
    problem_rows: int
    problems: list[ImportProblem]
    progress: int
    created: int
    updated: int


class SlipItem(BaseModel):
    user_id: int
    name: str
    phone: str
    village: str
    one_time_password: str


class SlipsOut(BaseModel):
    items: list[SlipItem]


def import_out(batch: imports.ResidentImport) -> dict:
    return ImportOut(
        id=batch.id,
        filename=batch.filename,
        status=batch.status.value,
        created_at=batch.created_at,
        total_rows=batch.total_rows,
        good_rows=batch.good_rows,
        to_create=batch.to_create,
        to_update=batch.to_update,
        unchanged=batch.unchanged,
        problem_rows=batch.problem_rows,
        problems=[ImportProblem(row=r, column=c, message=m) for r, c, m in batch.problems],
        progress=batch.progress,
        created=batch.created,
        updated=batch.updated,
    ).model_dump(mode="json")


def _own_import(batch_id: int) -> imports.ResidentImport:
    access.require_admin(current_user)
    batch = db.session.get(imports.ResidentImport, batch_id)
    if batch is None or batch.created_by_id != current_user.id:
        raise not_found()
    return batch


@endpoint(
    api_bp,
    "/admin/imports",
    "POST",
    summary="上传居民名单并检查（不导入）",
    multipart={"file": "名单（.xlsx 或 .csv，UTF-8 或 GBK）"},
    response=ImportOut,
    status=201,
)
def create_import():
    access.require_admin(current_user)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise ApiError(422, "validation_error", _("请选择要导入的文件（.xlsx 或 .csv）"))
    try:
        data = upload.stream.read(MAX_BYTES + 1)
    finally:
        upload.close()
    name = upload.filename.rsplit("/", 1)[-1][:200]
    try:
        table = read_table(data, name)
    except ImportFileError as error:
        raise ApiError(error.status, "bad_file", error.message) from None
    rows = imports.check_rows(current_user, table)
    extension = "xlsx" if data[:4] == b"PK\x03\x04" else "csv"
    batch = imports.record_dry_run(
        current_user, table, rows, filename=name, data=data, extension=extension
    )
    db.session.commit()
    return import_out(batch), 201


@endpoint(api_bp, "/admin/imports/<int:batch_id>", "GET", summary="一次导入", response=ImportOut)
def get_import(batch_id: int):
    return import_out(_own_import(batch_id))


@endpoint(
    api_bp,
    "/admin/imports/<int:batch_id>/run",
    "POST",
    summary="导入无误的行（大文件在后台进行）",
    response=ImportOut,
    status=202,
)
def run_import(batch_id: int):
    batch = _own_import(batch_id)
    if batch.status is not imports.ImportStatus.CHECKED:
        raise ApiError(409, "conflict", _("这次导入已经开始或已完成"))
    batch.status = imports.ImportStatus.QUEUED
    after_commit(db.session, import_residents, batch.id)
    db.session.commit()
    db.session.refresh(batch)
    return import_out(batch), 202


@endpoint(
    api_bp,
    "/admin/imports/<int:batch_id>/slips",
    "GET",
    summary="新居民的一次性密码（尚未改密的）",
    response=SlipsOut,
)
def import_slips(batch_id: int):
    batch = _own_import(batch_id)
    return SlipsOut(
        items=[
            SlipItem(
                user_id=slip.user.id,
                name=slip.user.name,
                phone=slip.user.phone,
                village=slip.user.org_unit.full_name,
                one_time_password=slip.password,
            )
            for slip in imports.printable_slips(batch, current_user)
        ]
    ).model_dump(mode="json")
