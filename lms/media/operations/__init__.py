"""Every write of the media feature (law 1). Flush, never commit.

One module per part: files coming in (resumable uploads, whole files, accepting them as probed
assets), the state of a transcode, and the lessons and documents made of them. Callers use this
package's names."""

from lms.media.operations.lessons import (
    add_document_lesson,
    add_material,
    add_video_lesson,
    delete_material,
    set_captions,
)
from lms.media.operations.transcoding import (
    claim_transcode,
    enqueue_transcode,
    fail_transcode,
    finish_transcode,
    record_transcode_progress,
    requeue_stalled,
    retry_asset,
)
from lms.media.operations.uploads import (
    Finished,
    Refused,
    cancel_upload,
    expire_uploads,
    finish_upload,
    probe_message,
    save_stream,
    start_upload,
    write_chunk,
)

__all__ = [
    "Finished",
    "Refused",
    "add_document_lesson",
    "add_material",
    "add_video_lesson",
    "cancel_upload",
    "claim_transcode",
    "delete_material",
    "enqueue_transcode",
    "expire_uploads",
    "fail_transcode",
    "finish_transcode",
    "finish_upload",
    "probe_message",
    "record_transcode_progress",
    "requeue_stalled",
    "retry_asset",
    "save_stream",
    "set_captions",
    "start_upload",
    "write_chunk",
]
