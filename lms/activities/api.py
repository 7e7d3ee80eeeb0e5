"""The activities API under /api/v1."""

from lms.activities import api_bp  # noqa: F401
