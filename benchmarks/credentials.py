"""Standard-credential benchmark: issuing and verifying one Open Badges 3.0 badge and one CLR 2.0
learner record of a 200-outcome transcript (eddsa-rdfc-2022 proofs, RDF canonicalisation with
pyld), plus the signed status list, and the independent JavaScript verifier on the same files.

    .venv/bin/python -m benchmarks.credentials [--outcomes 200] [--runs 5] [--database-url URL]

issue badge     badge_for_entry + commit for one standing deposit (never issued before)
verify badge    verify.check_credential of it (contexts, proof, dates, status bit)
issue record    record_for_transcript + commit for a transcript of N outcomes whose badges do
                not exist yet (N badges signed, then the record over them), and again for a
                second transcript of the same entries (badges already there: the record alone)
verify record   check_credential of the record: its proof and each carried badge's
status list     status_list_credential after a change (sign) and unchanged (cached)
node            tests/credits/verifier/verify.mjs on the badge and the record (one process,
                including node's start-up), when node and its packages are installed
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import select

from benchmarks.credits import (
    World,
    bulk_pending_outcomes,
    certify_all,
    fresh_database,
    kib,
    load,
    make_app,
    ms,
    person,
    summary,
)
from lms.credits import operations
from lms.credits.credentials import did, issue, status, verify
from lms.credits.credentials.jsonld import CONTEXTS_DIR
from lms.credits.models import LedgerEntry, StandardCredential, Transcript, TrustedIssuer
from lms.extensions import db

ROOT = Path(__file__).resolve().parents[1]
VERIFIER = ROOT / "tests" / "credits" / "verifier"


def timed(function, runs: int) -> tuple[list[float], object]:
    times, result = [], None
    for _run in range(runs):
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    return times, result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--outcomes", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5, help="verifications of each")
    parser.add_argument("--database-url", help="default: SQLite in a temporary folder")
    args = parser.parse_args()
    print(f"standard credentials benchmark — Python {sys.version.split()[0]}; {load()}")
    with tempfile.TemporaryDirectory(prefix="lms-bench-credentials-") as tmp:
        folder = Path(tmp)
        app = make_app(folder, args.database_url, LMS_PUBLIC_URL="https://xuexi.luxian.example")
        with fresh_database(app), app.app_context(), app.test_request_context():
            run(args, folder)


def import_figures(badge_doc, record_doc, resident, args) -> None:
    """学分互认: the same badge and record read as another institution's (the site moves to
    another public URL; its old DID goes on the trust list with its keys, its status list is
    put in the cache, so the figures are the checks without the network)."""
    from datetime import date

    from flask import current_app

    from lms.credits.credentials import foreign

    old_did, old_document = did.site_did(), did.did_document()
    public_url = current_app.config["LMS_PUBLIC_URL"]
    url = status.list_url(1)
    bits = status.decode(status.status_list_credential(1)["credentialSubject"]["encodedList"])
    current_app.config["LMS_PUBLIC_URL"] = "https://elsewhere.example"
    trusted = TrustedIssuer(
        name="bench",
        did=old_did,
        keys=foreign.keys_from_did_document(old_document, old_did),
        origin=url.rsplit("/credentials/", 1)[0],
        trusted_from=date(2000, 1, 1),
        achievement_types=list(foreign.ACHIEVEMENT_TYPES),
    )
    db.session.add(trusted)
    db.session.flush()
    foreign._cache[url] = (time.monotonic() + 3600, bits)
    times, exam = timed(lambda: foreign.examine(badge_doc, resident), args.runs)
    assert exam.accepted, [item.note for item in exam.items]
    print(f"import check of one badge from elsewhere (status list cached): {summary(times)}")
    times, exam = timed(lambda: foreign.examine(record_doc, resident), max(1, args.runs // 2))
    assert len(exam.accepted) == args.outcomes, [item.note for item in exam.items][:3]
    print(f"import check of the {args.outcomes}-outcome record from elsewhere: {summary(times)}")
    db.session.rollback()
    current_app.config["LMS_PUBLIC_URL"] = public_url


def run(args, folder: Path) -> None:
    rng = random.Random(1)
    started = time.perf_counter()
    world = World()
    resident = person("王芳", world.villages[0])
    db.session.commit()
    certify_all(
        world.registrar.id,
        bulk_pending_outcomes([resident.id], args.outcomes, rng),
        commit_every=25,
    )
    transcript = operations.issue_transcript(resident)
    db.session.commit()
    print(
        f"setup: {args.outcomes} certified outcomes and a transcript in "
        f"{time.perf_counter() - started:.1f} s; issuer {did.site_did()}"
    )

    entries = list(
        db.session.scalars(
            select(LedgerEntry).where(LedgerEntry.account_id == transcript.account_id)
        )
    )
    started = time.perf_counter()
    badge = issue.badge_for_entry(entries[0])
    db.session.commit()
    print(f"issue one badge: {ms(time.perf_counter() - started)}")
    badge_doc = badge.document
    print(f"   size {kib(len(json.dumps(badge_doc, ensure_ascii=False).encode()))}")
    times, finding = timed(lambda: verify.check_credential(badge_doc), args.runs)
    assert finding.valid, finding.reason
    print(f"verify one badge: {summary(times)}")

    started = time.perf_counter()
    record = issue.record_for_transcript(transcript)
    db.session.commit()
    print(
        f"issue the {args.outcomes}-outcome learner record ({args.outcomes - 1} badges not yet "
        f"issued): {ms(time.perf_counter() - started)}"
    )
    record_doc = record.document
    print(f"   size {kib(len(json.dumps(record_doc, ensure_ascii=False).encode()))}")
    # A second transcript of the same entries: the badges exist, only the record is signed.
    second = Transcript(
        serial="LXBENCH-2",
        code="bench",
        user_id=transcript.user_id,
        account_id=transcript.account_id,
        issued_at=transcript.issued_at,
        total_credits=transcript.total_credits,
        document=transcript.document,
    )
    db.session.add(second)
    db.session.flush()
    from lms.credits.models import TranscriptEntry

    db.session.add_all(TranscriptEntry(transcript_id=second.id, entry_id=e.id) for e in entries)
    db.session.flush()
    started = time.perf_counter()
    issue.record_for_transcript(second)
    db.session.commit()
    print(f"issue a learner record whose badges exist: {ms(time.perf_counter() - started)}")
    times, finding = timed(lambda: verify.check_credential(record_doc), max(1, args.runs // 2))
    assert finding.valid, finding.reason
    print(f"verify the learner record (its proof and {args.outcomes} badges'): {summary(times)}")

    import_figures(badge_doc, record_doc, resident, args)

    status._signed.clear()
    started = time.perf_counter()
    status.status_list_credential(1)
    signed = time.perf_counter() - started
    times, _list = timed(lambda: status.status_list_credential(1), args.runs)
    print(f"status list: signed after a change {ms(signed)}; unchanged {summary(times)}")
    count = db.session.query(StandardCredential).count()
    print(f"credentials stored: {count}")

    node = shutil.which("node")
    if node is None or not (VERIFIER / "node_modules").is_dir():
        print("node verifier: not installed here (bash .ci/setup --test), skipped")
        return
    from flask import current_app

    client = current_app.test_client()
    did_document = client.get("/.well-known/did.json").get_json()
    status_list = client.get("/credentials/status/1").get_json()
    for name, document in (("badge", badge_doc), ("learner record", record_doc)):
        request = folder / "verify.json"
        request.write_text(
            json.dumps(
                {
                    "credentials": [document],
                    "documents": {did_document["id"]: did_document, status_list["id"]: status_list},
                    "clrContext": str(CONTEXTS_DIR / "clr-context-2.0.1.jsonld"),
                },
                ensure_ascii=False,
            )
        )
        started = time.perf_counter()
        done = subprocess.run(
            [node, str(VERIFIER / "verify.mjs"), str(request)],
            capture_output=True,
            text=True,
            check=True,
        )
        answer = json.loads(done.stdout)[0]
        verified = answer["verified"] and all(inner["verified"] for inner in answer["inner"])
        print(
            f"node verifier, {name}: {'verified' if verified else 'NOT verified'} in "
            f"{ms(time.perf_counter() - started)} (one process, start-up included)"
        )


if __name__ == "__main__":
    main()
