"""How an asset looks from outside: URLs of its renditions and its state."""

from __future__ import annotations

from flask import url_for
from flask_babel import gettext as _
from pydantic import BaseModel

from lms.media.models import MediaAsset


class RenditionOut(BaseModel):
    name: str
    label: str  # in plain words: 流畅, 标清, 高清, 超清
    height: int | None = None
    width: int | None = None
    bandwidth: int | None = None
    url: str


class MediaOut(BaseModel):
    id: int
    status: str
    status_label: str
    progress: int
    error: str | None
    duration_s: float | None
    hls_url: str | None
    mp4_url: str | None
    audio_url: str | None
    poster_url: str | None
    renditions: list[RenditionOut]


def rung_label(height: int | None) -> str:
    """A rung in the words video apps use (240p 流畅, 360p 标清, 480p 高清, 720p 超清)."""
    height = height or 0
    if height <= 240:
        return _("流畅")
    if height <= 360:
        return _("标清")
    if height <= 480:
        return _("高清")
    return _("超清")


def file_url(asset: MediaAsset, name: str | None) -> str | None:
    return url_for("media.rendition", asset_id=asset.id, name=name) if name else None


def media_out(asset: MediaAsset) -> MediaOut:
    # Renditions are recorded only once a complete set is in place; while a retranscode runs
    # (or after it failed) the previous set keeps playing.
    ready = bool(asset.renditions)
    result = asset.renditions or {}
    rungs = [
        RenditionOut(
            name=rung["name"],
            label=rung_label(rung.get("height")),
            height=rung.get("height"),
            width=rung.get("width"),
            bandwidth=rung.get("bandwidth"),
            url=file_url(asset, rung["playlist"]),
        )
        for rung in (result.get("rungs", []) if ready else [])
    ]
    return MediaOut(
        id=asset.id,
        status=asset.status.value,
        status_label=asset.status.label,
        progress=asset.progress,
        error=asset.error,
        duration_s=asset.duration_s,
        hls_url=file_url(asset, result.get("master_playlist")) if ready else None,
        mp4_url=file_url(asset, result.get("mp4")) if ready else None,
        audio_url=file_url(asset, result.get("audio_playlist")) if ready else None,
        poster_url=file_url(asset, result.get("poster")) if ready else None,
        renditions=rungs,
    )
