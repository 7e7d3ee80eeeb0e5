"""Accounts: sign-up and sign-in, roles per org unit, the org tree, API tokens."""

from flask import Blueprint

bp = Blueprint("accounts", __name__)
api_bp = Blueprint("accounts_api", __name__, url_prefix="/api/v1")

from lms.accounts import api, elderly, views  # noqa: E402,F401  (routes register on import)
