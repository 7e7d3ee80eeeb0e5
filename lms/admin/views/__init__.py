"""The admin pages, one module per sub-feature."""

from lms.admin.views import audit, imports, participation  # noqa: F401  (routes register on import)
