"""``GET /_lms/fingerprint?nonce=…``: an app server's settings as fingerprints salted with the
caller's nonce, for ``lms doctor`` to compare with its own. It shows no secret (slow salted
hashes, public key ids) and the nginx site refuses ``/_lms/`` from outside: doctor asks each
app server at its own address."""

from __future__ import annotations

import re

from flask import Blueprint, abort, jsonify, request

from lms.extensions import csrf
from lms.ops.fingerprints import settings

bp = Blueprint("ops", __name__)
csrf.exempt(bp)

NONCE = re.compile(r"[0-9a-f]{16,64}")


@bp.get("/_lms/fingerprint")
def fingerprint():
    nonce = request.args.get("nonce", "")
    if not NONCE.fullmatch(nonce):
        abort(400)
    response = jsonify(settings(nonce))
    response.headers["Cache-Control"] = "no-store"
    return response
