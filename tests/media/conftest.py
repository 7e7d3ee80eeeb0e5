"""Fixtures of the media tests: one library of generated clips for the whole session, and a
teacher's video saved the way an upload saves it."""

from __future__ import annotations

import io

import pytest

from lms.accounts.models import User
from lms.media import operations as media
from lms.media.models import MediaAsset
from tests.media.clips import ClipLibrary


@pytest.fixture(scope="session")
def clips(tmp_path_factory) -> ClipLibrary:
    """``clips["phone"]``: that clip's path, made the first time any test asks for it."""
    return ClipLibrary(tmp_path_factory.mktemp("clips"))


@pytest.fixture
def save_video(clips):
    """``save_video(owner)``: the 8-second clip saved as *owner*'s asset, not yet committed."""

    def save(owner: User, clip: str = "long") -> MediaAsset:
        asset, _reused = media.save_stream(
            owner, filename="a.mp4", stream=io.BytesIO(clips[clip].read_bytes())
        )
        return asset

    return save
