"""The admin API, one module per sub-feature."""

from lms.admin.api import (  # noqa: F401  (routes register on import)
    activity_reports,
    audit,
    imports,
    participation,
)
