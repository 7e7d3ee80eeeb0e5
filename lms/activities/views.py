"""HTML views of activities."""

from lms.activities import bp  # noqa: F401
