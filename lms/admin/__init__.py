"""Admin: what the county, town and village administrators run their programme with:
participation statistics and their rollups, bulk imports of residents, exports and the audit
trail of staff actions.

The highest feature (DESIGN.md): it reads lower features' models and calls their operations;
nothing below imports it.
"""

from flask import Blueprint

bp = Blueprint("admin", __name__)
api_bp = Blueprint("admin_api", __name__, url_prefix="/api/v1")

from lms.admin import api, views  # noqa: E402,F401  (routes register on import)
