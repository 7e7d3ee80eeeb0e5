"""How an asset looks from outside: URLs of its renditions and its state."""

from __future__ import annotations

from flask import url_for
from pydantic import BaseModel

from lms.media.models import MediaAsset


class RenditionOut(BaseModel):
    name: str
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
