"""Media: resumable uploads, probing, transcoding into an adaptive ladder, serving renditions."""

from flask import Blueprint

bp = Blueprint("media", __name__)
api_bp = Blueprint("media_api", __name__, url_prefix="/api/v1")

from lms.media import api, tasks, views  # noqa: E402,F401  (routes and jobs register on import)
