"""Background jobs shared by every feature."""

from __future__ import annotations

from lms.core import storage
from lms.core.jobs import app_task


@app_task(retries=2, retry_delay=10)
def delete_media_file(relative: str) -> None:
    """Delete a file that the database no longer refers to (sent after commit)."""
    storage.delete_file(relative)
