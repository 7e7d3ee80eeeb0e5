"""Signed ledger checkpoints under /api/v1: the latest or one by number (the signed JSON, as at
``/credits/checkpoints/…``), its leaves, and making one now (county officers)."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_login import current_user
from pydantic import BaseModel

from lms.core.api import endpoint
from lms.credits import access, api_bp
from lms.credits.tasks import make_checkpoint
from lms.credits.views.checkpoints import checkpoint_or_404, leaves_file, signed_json


class QueuedOut(BaseModel):
    queued: bool
    message: str


@endpoint(
    api_bp,
    "/ledger/checkpoints/latest",
    "GET",
    summary="最新的账本检查点（签名的 JSON，公开）",
    auth=False,
    content="application/json",
)
def latest_checkpoint_api():
    return signed_json(checkpoint_or_404(None))


@endpoint(
    api_bp,
    "/ledger/checkpoints/<int:number>",
    "GET",
    summary="第 number 号账本检查点（签名的 JSON，公开）",
    auth=False,
    content="application/json",
)
def checkpoint_api(number: int):
    return signed_json(checkpoint_or_404(number))


@endpoint(
    api_bp,
    "/ledger/checkpoints/<int:number>/leaves.gz",
    "GET",
    summary="检查点所记各账号的最新记录（gzip，每行：账号 id、序号、哈希）",
    auth=False,
    content="application/gzip",
)
def checkpoint_leaves_api(number: int):
    return leaves_file(checkpoint_or_404(number))


@endpoint(
    api_bp,
    "/ledger/checkpoints",
    "POST",
    summary="立即生成账本检查点（县级学分银行专员或县级管理员；在后台进行）",
    response=QueuedOut,
    status=202,
)
def make_checkpoint_api():
    access.require_checkpoint_maker(current_user)
    make_checkpoint()
    return QueuedOut(queued=True, message=_("已开始生成账本检查点")).model_dump(), 202
