"""Configuration: defaults in one place, then ``LMS_*`` environment variables, then overrides.

Nothing here holds a secret. The secret key comes from ``LMS_SECRET_KEY`` or is generated into
the instance folder on first start.
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

DEFAULTS: dict[str, Any] = {
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_SECURE": False,
    "REMEMBER_COOKIE_HTTPONLY": True,
    "REMEMBER_COOKIE_SAMESITE": "Lax",
    "LMS_REMEMBER_DAYS": 30,  # how long "remember me" keeps a phone signed in
    "WTF_CSRF_TIME_LIMIT": None,
    "BABEL_DEFAULT_LOCALE": "zh_CN",
    "BABEL_DEFAULT_TIMEZONE": "Asia/Shanghai",
    "LMS_LOCALES": ("zh_CN", "en"),
    "LMS_DISPLAY_TIMEZONE": "Asia/Shanghai",
    "LMS_COUNTY_CODE": "510521",
    "LMS_PASSWORD_MIN_LENGTH": 8,
    "LMS_ARGON2": {},
    "LMS_LOGIN_WINDOW_S": 15 * 60,
    # Sign-in limits never lock the owner out: failures count per phone *and* address, and many
    # failures for one phone from everywhere only slow other addresses down (not the owner's
    # usual one, where the phone signed in before).
    "LMS_LOGIN_MAX_FAILURES_PER_PHONE": 5,
    "LMS_LOGIN_MAX_FAILURES_PER_ADDRESS": 20,
    "LMS_LOGIN_SLOW_AFTER": 10,
    "LMS_LOGIN_SLOW_INTERVAL_S": 30,
    "LMS_LOGIN_USUAL_ADDRESS_DAYS": 180,
    # Self sign-ups per address and per number block (first 7 digits) in the window.
    "LMS_SIGNUP_WINDOW_S": 3600,
    "LMS_SIGNUP_MAX_PER_ADDRESS": 10,
    "LMS_SIGNUP_MAX_PER_PREFIX": 30,
    "LMS_TOKEN_TTL_S": 30 * 24 * 3600,
    "LMS_COVER_MAX_BYTES": 5 * 1024 * 1024,
    "LMS_COVER_SIZE": (960, 540),
    "LMS_PICTURE_SIZE": (1280, 1280),  # pictures in lesson texts fit inside this (px)
    "LMS_PAGE_SIZE": 12,
    "LMS_SEARCH_DIR": None,
    "LMS_QUEUE_URL": None,
    "LMS_QUEUE_IMMEDIATE": False,
    "LMS_PROXY_COUNT": 0,
    "LMS_UPLOAD_MAX_BYTES": 4 * 1024**3,
    "LMS_UPLOAD_CHUNK_BYTES": 8 * 1024**2,
    "LMS_UPLOAD_TTL_S": 7 * 24 * 3600,
    "LMS_VIDEO_MAX_DURATION_S": 3 * 3600,
    # Limits an uploaded video is probed against before it is accepted (lms/media/probe.py), so
    # that a tiny file cannot claim hours of frames nobody recorded. Refused above this average
    # frame rate (renditions are at most 30 fps whatever comes in):
    "LMS_VIDEO_MAX_FPS": 120,
    # Refused when the picture's long × short side exceed this (4K); anything up to it is scaled
    # down to the ladder's top rung (720p).
    "LMS_VIDEO_MAX_SIZE": (3840, 2160),
    # Refused with fewer frames than this per second of duration (two frames hours apart).
    "LMS_VIDEO_MIN_FRAMES_PER_S": 0.1,
    # Refused when the renditions (every rung's bit rate × the duration) would be larger than
    # this many times the upload plus the floor: a 417 KB file claiming 2 h 50 min at 1080p.
    "LMS_VIDEO_MAX_OUTPUT_RATIO": 200,
    "LMS_VIDEO_OUTPUT_FLOOR_BYTES": 64 * 1024**2,
    # The worker stops ffmpeg when the renditions pass this many times their estimate (plus
    # the floor above); ffmpeg also reads no more than the probed duration.
    "LMS_TRANSCODE_MAX_OUTPUT_FACTOR": 3,
    "LMS_TRANSCODE_TIMEOUT_S": 6 * 3600,
    "LMS_TRANSCODE_STALL_S": 60,
    "LMS_TRANSCODE_QUEUE_STALL_S": 3 * 3600,
    "LMS_CAPTIONS_MAX_BYTES": 2 * 1024**2,
    "LMS_DOCUMENT_MAX_BYTES": 50 * 1024**2,
    "LMS_EVIDENCE_MAX_BYTES": 10 * 1024**2,
    "LMS_ACCEL_REDIRECT_PREFIX": None,
    "LMS_TRANSCRIPT_KEY_FILE": None,
    "LMS_PUBLIC_URL": None,
    # Where signed ledger checkpoints are also written, outside the database (append-only).
    "LMS_CHECKPOINT_DIR": None,
    # Public keys retired by `lms credits rotate-key` (default: instance/retired-signing-keys).
    "LMS_RETIRED_KEY_DIR": None,
    # Fetching from other institutions (their did:web document, their revocation lists) goes
    # only to public addresses over https; True lets it reach loopback and private addresses
    # over plain http too (two instances on one machine in tests, a closed county network).
    "LMS_FETCH_PRIVATE_ADDRESSES": False,
    # Certifying more 学时 than a course's measured content × (1 + margin) needs a written reason.
    "LMS_HOURS_MARGIN": 0.2,
    # Reading time of text and document lessons (lms/learning/reading.py).
    "LMS_READING_CHARS_PER_MINUTE": 300,
    "LMS_READING_SECONDS_PER_PAGE": 60,
    "LMS_READING_FLOOR_S": 30,
    "LMS_READING_CAP_S": 1800,
    # Activities: check-in opens this long before the start and stays open after the end (then
    # the activity closes itself); a scanned code's arrival is honoured this long (time to sign
    # in); organisers may correct attendance this long after closing.
    "LMS_ACTIVITY_CHECK_IN_MARGIN_MINUTES": 30,
    "LMS_ACTIVITY_ARRIVAL_GRACE_SECONDS": 300,
    "LMS_ACTIVITY_CORRECTION_DAYS": 7,
    # How long a process trusts an API token it has checked (sign-out revokes within this).
    "LMS_TOKEN_CACHE_S": 5,
    "MAX_CONTENT_LENGTH": 64 * 1024 * 1024,
}

# Environment variables read at start-up: name -> config key.
ENVIRONMENT = {
    "LMS_DATABASE_URL": "SQLALCHEMY_DATABASE_URI",
    "LMS_SECRET_KEY": "SECRET_KEY",
    "LMS_MEDIA_DIR": "LMS_MEDIA_DIR",
    "LMS_QUEUE_URL": "LMS_QUEUE_URL",
    "LMS_SEARCH_DIR": "LMS_SEARCH_DIR",
    "LMS_PROXY_COUNT": "LMS_PROXY_COUNT",
    "LMS_ACCEL_REDIRECT_PREFIX": "LMS_ACCEL_REDIRECT_PREFIX",
    "LMS_TRANSCODE_STALL_S": "LMS_TRANSCODE_STALL_S",
    "LMS_TRANSCRIPT_KEY_FILE": "LMS_TRANSCRIPT_KEY_FILE",
    "LMS_PUBLIC_URL": "LMS_PUBLIC_URL",
    "LMS_CHECKPOINT_DIR": "LMS_CHECKPOINT_DIR",
    "LMS_RETIRED_KEY_DIR": "LMS_RETIRED_KEY_DIR",
    "LMS_REMEMBER_DAYS": "LMS_REMEMBER_DAYS",
    "LMS_READING_CHARS_PER_MINUTE": "LMS_READING_CHARS_PER_MINUTE",
    "LMS_READING_SECONDS_PER_PAGE": "LMS_READING_SECONDS_PER_PAGE",
    "LMS_READING_FLOOR_S": "LMS_READING_FLOOR_S",
    "LMS_READING_CAP_S": "LMS_READING_CAP_S",
    "LMS_ACTIVITY_CHECK_IN_MARGIN_MINUTES": "LMS_ACTIVITY_CHECK_IN_MARGIN_MINUTES",
    "LMS_ACTIVITY_ARRIVAL_GRACE_SECONDS": "LMS_ACTIVITY_ARRIVAL_GRACE_SECONDS",
    "LMS_ACTIVITY_CORRECTION_DAYS": "LMS_ACTIVITY_CORRECTION_DAYS",
}


def instance_dir(environ: os._Environ[str] | dict[str, str] | None = None) -> Path:
    """The instance folder: ``LMS_INSTANCE_DIR`` or ``instance/`` in the checkout."""
    environ = os.environ if environ is None else environ
    return Path(environ.get("LMS_INSTANCE_DIR") or ROOT / "instance").resolve()


def build_config(instance: Path, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Merge defaults, environment and *overrides* into one mapping; fill in derived paths."""
    config = dict(DEFAULTS)
    for variable, key in ENVIRONMENT.items():
        value = os.environ.get(variable)
        if value:
            config[key] = int(value) if isinstance(DEFAULTS.get(key), int) else value
    if os.environ.get("LMS_SECURE_COOKIES") == "1":
        config["SESSION_COOKIE_SECURE"] = config["REMEMBER_COOKIE_SECURE"] = True
    config.update(overrides or {})
    config["REMEMBER_COOKIE_DURATION"] = timedelta(days=int(config["LMS_REMEMBER_DAYS"]))

    config.setdefault("SQLALCHEMY_DATABASE_URI", f"sqlite:///{instance / 'lms.sqlite3'}")
    config.setdefault("LMS_MEDIA_DIR", str(ROOT / "media"))
    config["LMS_QUEUE_URL"] = config["LMS_QUEUE_URL"] or f"sqlite:///{instance / 'queue.sqlite3'}"
    config["LMS_SEARCH_DIR"] = config["LMS_SEARCH_DIR"] or str(instance / "search")
    if not config.get("SECRET_KEY"):
        config["SECRET_KEY"] = _instance_secret(instance)
    return config


def _instance_secret(instance: Path) -> str:
    """Read the generated secret key, creating it (owner-readable only) on first start."""
    path = instance / "secret_key"
    if not path.exists():
        # Written under a private name and linked into place, so that a web process and a
        # worker starting together agree on one secret and never read a half-written file.
        instance.mkdir(parents=True, exist_ok=True)
        draft = instance / f".secret_key.{os.getpid()}"
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_text().strip()
