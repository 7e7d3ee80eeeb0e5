"""JSON views of the credit bank under /api/v1 (API.md), one module per part, as in
``operations``: accounts, outcomes (with reversals), conversion rules, transcripts (with
public verification)."""

from lms.credits.api import (  # noqa: F401  (routes)
    accounts,
    checkpoints,
    course_hours,
    credentials,
    outcomes,
    rules,
    transcripts,
    transfers,
)
