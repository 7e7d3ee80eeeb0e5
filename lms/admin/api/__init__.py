"""The admin API, one module per sub-feature."""

from lms.admin.api import audit, imports, participation  # noqa: F401  (routes register on import)
