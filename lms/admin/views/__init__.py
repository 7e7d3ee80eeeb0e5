"""The admin pages, one module per sub-feature."""

from lms.admin.views import (  # noqa: F401  (routes register on import)
    activity_reports,
    audit,
    imports,
    participation,
)
