"""``lms doctor``: is this deployment set up right? Each check says in plain words what it found;
any problem makes the command exit non-zero. Run it on every machine (web and worker) with that
machine's environment; give it the app servers' own addresses (``--server`` or
``LMS_APP_SERVERS``) and it also compares their settings with its own."""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
import urllib.request
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import current_app
from sqlalchemy import select, text

from lms.core.time import utcnow
from lms.extensions import db
from lms.ops import workers
from lms.ops.fingerprints import SHARED, media_writable, settings
from lms.ops.models import WorkerBeat


@dataclass
class Report:
    lines: list[tuple[bool, str]] = field(default_factory=list)

    def ok(self, message: str) -> None:
        self.lines.append((True, message))

    def problem(self, message: str) -> None:
        self.lines.append((False, message))

    @property
    def problems(self) -> list[str]:
        return [message for good, message in self.lines if not good]


def run(servers: list[str], *, timeout_s: float = 10) -> Report:
    """Every check, in the order a deployment is brought up. Needs an application context."""
    report = Report()
    if check_database(report):
        check_workers(report)
    check_queue(report)
    check_tools(report)
    check_media(report)
    check_keys(report)
    check_proxy(report, settings_of_this=None)
    for url in servers:
        check_server(report, url.rstrip("/"), timeout_s=timeout_s)
    return report


def check_database(report: Report) -> bool:
    url = db.engine.url.render_as_string(hide_password=True)
    try:
        with db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
            current = set(MigrationContext.configure(connection).get_current_heads())
    except Exception as error:  # any driver's error: say which database and why
        report.problem(f"the database {url} cannot be reached: {error}")
        return False
    migrations = current_app.extensions["migrate"].directory
    heads = set(ScriptDirectory(migrations).get_heads())
    if current != heads:
        at = ", ".join(sorted(current)) or "nothing (an empty database)"
        report.problem(
            f"the database {url} is not migrated: it is at {at}, the code needs "
            f"{', '.join(sorted(heads))}; run `lms db upgrade`"
        )
        return False
    report.ok(f"database {url} reachable and migrated ({', '.join(sorted(heads))})")
    return True


def check_queue(report: Report) -> None:
    problem = workers.queue_problem()
    if problem:
        report.problem(problem)
    else:
        report.ok(f"job queue {workers.shown_url(current_app.config['LMS_QUEUE_URL'])} reachable")


def check_workers(report: Report) -> None:
    """A worker beat recently, and every live worker shares this machine's settings."""
    window = max(3 * workers.interval_s(), 90)
    since = utcnow() - timedelta(seconds=window)
    live = db.session.scalars(
        select(WorkerBeat).where(WorkerBeat.seen_at >= since).order_by(WorkerBeat.name)
    ).all()
    if not live:
        last = db.session.scalar(select(WorkerBeat.seen_at).order_by(WorkerBeat.seen_at.desc()))
        seen = f"the last one was seen at {last:%Y-%m-%d %H:%M:%S} UTC" if last else "none ever"
        report.problem(
            f"no worker heartbeat in the last {window:.0f} s ({seen}): start `lms worker`; "
            "without one nothing is transcoded or indexed"
        )
        return
    report.ok(f"{len(live)} worker(s) beating: {', '.join(beat.name for beat in live)}")
    for beat in live:
        compare(report, f"worker {beat.name}", beat.settings)


def compare(report: Report, who: str, theirs: dict) -> None:
    """Report each shared setting where *theirs* differs from this process's."""
    mine = settings(theirs.get("salt", ""))
    different = [SHARED[key] for key in SHARED if theirs.get(key) != mine.get(key)]
    for problem in theirs.get("problems", []):
        report.problem(f"{who}: {problem}")
    if theirs.get("media_unwritable"):
        report.problem(f"{who} cannot write to the media folder: {theirs['media_unwritable']}")
    if different:
        report.problem(
            f"{who} is set up differently from this machine: {'; '.join(different)}. "
            "Every web server and worker needs the same ones"
        )
    else:
        report.ok(f"{who} shares this machine's keys, database, queue and media folder")


def check_tools(report: Report) -> None:
    for tool in ("ffmpeg", "ffprobe"):
        path = shutil.which(tool)
        if path is None:
            report.problem(f"{tool} is missing (Debian package ffmpeg): uploads cannot be checked")
            continue
        try:
            subprocess.run(  # noqa: S603 - a fixed argument list, no shell
                [path, "-version"], capture_output=True, check=True, timeout=20
            )
        except (OSError, subprocess.SubprocessError) as error:
            report.problem(f"{tool} at {path} does not run: {error}")
        else:
            report.ok(f"{tool} found at {path}")


def check_media(report: Report) -> None:
    root = Path(current_app.config["LMS_MEDIA_DIR"])
    problem = media_writable(root)
    if problem:
        report.problem(
            f"the media folder {root} is not writable by this process: {problem}; uploads "
            "and transcodes would fail (give the web and worker user write access)"
        )
    else:
        report.ok(f"media folder {root} writable")


def check_keys(report: Report) -> None:
    mine = settings(secrets.token_hex(8))
    for problem in mine["problems"]:
        report.problem(problem)
    if not mine["problems"]:
        report.ok(f"key files readable (transcript signing key {mine['transcript_key']})")


def check_proxy(report: Report, settings_of_this: dict | None, who: str = "this machine") -> None:
    """Behind a proxy the public address must be set; behind HTTPS cookies must be Secure."""
    facts = settings_of_this or {
        "public_url": current_app.config.get("LMS_PUBLIC_URL") or None,
        "secure_cookies": bool(current_app.config.get("SESSION_COOKIE_SECURE")),
        "proxy_count": int(current_app.config.get("LMS_PROXY_COUNT") or 0),
        "accel_prefix": current_app.config.get("LMS_ACCEL_REDIRECT_PREFIX") or None,
    }
    behind_proxy = facts["proxy_count"] > 0 or facts["accel_prefix"]
    if behind_proxy and not facts["public_url"]:
        report.problem(
            f"{who} is behind a proxy (LMS_PROXY_COUNT or LMS_ACCEL_REDIRECT_PREFIX is set) but "
            "LMS_PUBLIC_URL is not: transcripts' QR codes and credentials would name whatever "
            "host a request came with"
        )
    public = facts["public_url"] or ""
    if public.startswith("https://") and not facts["secure_cookies"]:
        report.problem(
            f"{who} serves {public} over HTTPS but its cookies are not marked Secure: "
            "set LMS_SECURE_COOKIES=1"
        )
    elif behind_proxy and public:
        report.ok(f"{who}: public address {public}, cookies {_secure(facts)}")


def _secure(facts: dict) -> str:
    return "Secure" if facts["secure_cookies"] else "not Secure (plain HTTP)"


def check_server(report: Report, url: str, *, timeout_s: float) -> None:
    """Ask an app server for its fingerprints and compare them with this machine's."""
    nonce = secrets.token_hex(16)
    try:
        with urllib.request.urlopen(  # noqa: S310  # nosec B310
            f"{url}/_lms/fingerprint?nonce={nonce}", timeout=timeout_s
        ) as response:
            theirs = json.load(response)
    except (OSError, ValueError) as error:
        report.problem(f"app server {url} does not answer: {error}")
        return
    who = f"app server {url}"
    compare(report, who, theirs)
    check_proxy(report, theirs, who=who)
