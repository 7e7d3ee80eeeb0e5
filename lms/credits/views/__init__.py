"""HTML views of the credit bank, one module per part, as in ``operations``: accounts (我的学分
and the registrars' account pages), outcomes (submitting, review, decisions, reversals),
conversion rules, transcripts (with the public verify page)."""

from lms.credits.views import (  # noqa: F401  (routes)
    accounts,
    checkpoints,
    course_hours,
    credentials,
    outcomes,
    rules,
    transcripts,
    transfers,
)
