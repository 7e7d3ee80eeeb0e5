"""Someone else's verifier accepts what we issue: Digital Bazaar's JavaScript stack
(@digitalbazaar/vc, data-integrity, eddsa-rdfc-2022-cryptosuite, vc-bitstring-status-list),
installed from npm by .ci/setup into tests/credits/verifier, with a document loader that serves
only local documents. It verifies a badge and a learner record with Chinese text, refuses a copy
with one character changed and a remote context, and reads the revocation from our published
status list. Skipped only on a machine without node (CI installs it, so there it always runs)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select

from lms.credits import operations
from lms.credits.credentials.jsonld import CONTEXTS_DIR
from lms.credits.models import LedgerEntry
from lms.extensions import db
from tests.conftest import sign_in
from tests.credits.test_credentials import (  # noqa: F401  (fixtures)
    _outcome,
    app_config,
    badge_of,
    learner,
    record_of,
)

VERIFIER = Path(__file__).parent / "verifier"
NODE = shutil.which("node")

pytestmark = pytest.mark.skipif(
    NODE is None and not os.environ.get("CI"), reason="node is not installed here"
)


def independent(tmp_path, credentials, documents) -> list[dict]:
    assert NODE, "CI must have node: .ci/setup --test installs it"
    assert (VERIFIER / "node_modules").is_dir(), "run `bash .ci/setup --test` (npm ci)"
    request = tmp_path / "verify-input.json"
    request.write_text(
        json.dumps(
            {
                "credentials": credentials,
                "documents": documents,
                "clrContext": str(CONTEXTS_DIR / "clr-context-2.0.1.jsonld"),
            },
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    done = subprocess.run(  # noqa: S603
        [NODE, str(VERIFIER / "verify.mjs"), str(request)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def published(client) -> dict:
    """What a verifier would fetch from the site: its DID document and status list."""
    did_document = client.get("/.well-known/did.json").get_json()
    status_list = client.get("/credentials/status/1").get_json()
    return {did_document["id"]: did_document, status_list["id"]: status_list}


def test_the_independent_verifier_agrees_with_us(client, learner, registrar, tmp_path):  # noqa: F811
    resident, transcript = learner
    sign_in(client, resident)
    badge = badge_of(client, resident, "生猪科学养殖技术")
    record = record_of(client, transcript)
    changed = json.loads(json.dumps(badge, ensure_ascii=False).replace("生猪科学", "生猪科字"))
    remote = {**badge, "@context": [*badge["@context"], "https://evil.example/context.json"]}

    genuine, tampered, learner_record, far = independent(
        tmp_path, [badge, changed, record, remote], published(client)
    )
    assert genuine["verified"] is True, genuine
    assert genuine["revoked"] is False
    assert tampered["verified"] is False
    assert learner_record["verified"] is True, learner_record
    assert [inner["verified"] for inner in learner_record["inner"]] == [True, True]
    assert far["verified"] is False
    assert "https://evil.example/context.json" in far["error"]  # refused, not fetched

    entry = db.session.scalar(
        select(LedgerEntry).where(
            LedgerEntry.outcome_id == _outcome(resident, "生猪科学养殖技术").id
        )
    )
    operations.reverse_entry(registrar, entry, reason="重复记入")
    db.session.commit()
    badge_after, record_after = independent(tmp_path, [badge, record], published(client))
    assert badge_after["revoked"] is True, badge_after
    assert record_after["revoked"] is True
    assert [inner["revoked"] for inner in record_after["inner"]] == [True, False]
