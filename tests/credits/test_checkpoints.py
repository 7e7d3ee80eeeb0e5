"""Signed ledger checkpoints: a chain cut short behind the application's back (newest entries
deleted, an older database restored) is caught by `lms credits verify-ledger`, which a walk
of each chain from its first entry cannot do; badly signed checkpoints are refused; the
checkpoints are public."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import shutil
import sqlite3
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select, text

from lms.credits import checkpoints, operations
from lms.credits.checks import verify_ledger
from lms.credits.models import LedgerCheckpoint, Transcript
from lms.extensions import db
from tests.conftest import PG_URL, sign_in


def post(user, *keys: str, amount: str = "1.0") -> None:
    account = operations.account_for(user)
    for key in keys:
        operations.post_entry(account, key=key, amount=Decimal(amount))
    db.session.commit()


class Account:
    """What a message names, kept apart from the session (the checks empty it)."""

    def __init__(self, account) -> None:
        self.id, self.account_no = account.id, account.account_no


def cli(app, *args: str):
    return app.test_cli_runner().invoke(args=["credits", *args])


def checkpoint(app) -> int:
    result = cli(app, "checkpoint")
    assert result.exit_code == 0, result.output + result.stderr
    return db.session.scalar(
        select(LedgerCheckpoint.number).order_by(LedgerCheckpoint.number.desc())
    )


def folder(app) -> Path:
    return Path(app.instance_path) / "ledger-checkpoints"


# The Merkle tree is RFC 6962's --------------------------------------------------------------


def reference_root(leaves: list[bytes]) -> bytes:
    """RFC 6962 §2.1, written recursively as the specification states it."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    split = 1
    while split * 2 < len(leaves):
        split *= 2
    left, right = reference_root(leaves[:split]), reference_root(leaves[split:])
    return hashlib.sha256(b"\x01" + left + right).digest()


def test_the_streamed_root_is_rfc_6962s():
    for count in range(20):
        leaves = [f"{n} {n % 3 + 1} {'ab' * 32}".encode() for n in range(count)]
        tree = checkpoints.MerkleRoot()
        for leaf in leaves:
            tree.add(leaf)
        assert tree.hexdigest() == reference_root(leaves).hex(), count


# Making one ---------------------------------------------------------------------------------


def test_a_checkpoint_signs_every_head_in_the_database_and_the_folder(app, create_user):
    first, second = create_user(name="甲"), create_user(name="乙")
    post(first, "a:1", "a:2", "a:3")
    post(second, "b:1")
    assert checkpoint(app) == 1
    row = db.session.scalar(select(LedgerCheckpoint))
    payload = checkpoints.verified_payload(row.document)
    assert (payload["number"], payload["accounts"], payload["entries"]) == (1, 2, 4)
    heads = list(checkpoints.read_leaves(io.BytesIO(row.leaves)))
    accounts = [operations.account_for(u).id for u in (first, second)]
    assert [(a, s) for a, s, _h in heads] == list(zip(accounts, [3, 1], strict=True))
    # The same two files outside the database, byte for byte.
    manifest, leaves = (folder(app) / name for name in checkpoints.file_names(1))
    assert json.loads(manifest.read_text("utf-8")) == row.document
    assert leaves.read_bytes() == row.leaves
    post(first, "a:4")
    assert checkpoint(app) == 2
    latest = checkpoints.verified_payload(checkpoints.latest().document)
    assert latest["previous"] == {"number": 1, "root": payload["root"]}
    result = cli(app, "verify-ledger")
    assert result.exit_code == 0, result.stderr
    assert "2 checkpoints checked (latest 2), 0 problems." in result.stdout


# Cut short behind the application's back ----------------------------------------------------


def test_deleting_the_newest_entries_is_caught(app, resident):
    post(resident, *(f"t:{n}" for n in range(1, 6)))
    checkpoint(app)
    account = Account(operations.account_for(resident))
    # Delete the two newest entries and fix the account's cached totals to match, as someone
    # covering their tracks would: walking the chain from its first entry finds nothing.
    db.session.execute(
        text("DELETE FROM ledger_entry WHERE account_id = :a AND seq > 3"), {"a": account.id}
    )
    db.session.execute(
        text("UPDATE credit_account SET entry_count = 3, balance = 3.0 WHERE id = :a"),
        {"a": account.id},
    )
    db.session.commit()
    db.session.expire_all()
    assert verify_ledger().broken == []
    result = cli(app, "verify-ledger")
    assert result.exit_code == 1
    assert (
        f"BROKEN account {account.account_no} (id {account.id}): checkpoint 1 saw 5 entries, "
        "the chain has 3" in result.stderr
    )


def test_an_entry_rewritten_with_its_chain_is_caught(app, resident):
    """Rewriting a newest entry and recomputing its hash keeps the chain whole: only the
    checkpoint knows it was another entry."""
    from lms.credits import ledger

    post(resident, "r:1", "r:2")
    checkpoint(app)
    entry = operations.entries_newest_first(operations.account_for(resident))[0]
    entry_memo, entry.memo = entry.memo, "改过"
    new_hash = ledger.hash_of(entry)
    entry.memo = entry_memo
    db.session.expire_all()
    db.session.execute(
        text("UPDATE ledger_entry SET memo = '改过', hash = :h WHERE id = :id"),
        {"h": new_hash, "id": entry.id},
    )
    db.session.commit()
    assert verify_ledger().broken == []
    result = cli(app, "verify-ledger")
    assert result.exit_code == 1
    assert "entry 2 is not the one checkpoint 1 saw (another hash)" in result.stderr


def _copy(source: str | Path, target: str | Path) -> None:
    """A consistent copy of a live SQLite database, its WAL included (SQLite's backup API):
    taking the copy, and restoring it over the live one as an operator restoring a backup
    would."""
    with sqlite3.connect(source) as reading, sqlite3.connect(target) as writing:
        reading.backup(writing)
    reading.close()
    writing.close()


def test_restoring_an_older_database_is_caught_by_the_folder(app, resident, tmp_path):
    post(resident, "o:1", "o:2")
    assert checkpoint(app) == 1
    account = Account(operations.account_for(resident))
    if not PG_URL:
        copy = tmp_path / "backup.sqlite3"
        _copy(db.engine.url.database, copy)
    post(resident, "o:3", "o:4", "o:5")
    assert checkpoint(app) == 2
    if PG_URL:
        # The same state as a restored dump: the later entries and checkpoint are gone.
        db.session.execute(
            text("DELETE FROM ledger_entry WHERE account_id = :a AND seq > 2"), {"a": account.id}
        )
        db.session.execute(text("DELETE FROM ledger_checkpoint WHERE number = 2"))
        db.session.execute(
            text("UPDATE credit_account SET entry_count = 2, balance = 2.0 WHERE id = :a"),
            {"a": account.id},
        )
        db.session.commit()
    else:
        db.session.remove()
        db.engine.dispose()
        _copy(copy, db.engine.url.database)
    db.session.expire_all()
    # The restored database agrees with itself, its own checkpoints included…
    assert verify_ledger().broken == []
    assert (
        db.session.scalar(select(LedgerCheckpoint.number).order_by(LedgerCheckpoint.number.desc()))
        == 1
    )
    # …but the folder remembers checkpoint 2.
    result = cli(app, "verify-ledger")
    assert result.exit_code == 1
    assert (
        f"BROKEN account {account.account_no} (id {account.id}): checkpoint 2 saw 5 entries, the chain has 2"
        in result.stderr
    )
    # The next checkpoint takes a new number: the folder's files are never replaced.
    kept = (folder(app) / checkpoints.file_names(2)[0]).read_bytes()
    assert checkpoint(app) == 3
    assert (folder(app) / checkpoints.file_names(2)[0]).read_bytes() == kept
    assert cli(app, "verify-ledger").exit_code == 1


# Refused ------------------------------------------------------------------------------------


def test_a_checkpoint_with_a_bad_signature_is_refused(app, resident, tmp_path):
    post(resident, "s:1")
    checkpoint(app)
    manifest = folder(app) / checkpoints.file_names(1)[0]
    document = json.loads(manifest.read_text("utf-8"))
    document["checkpoint"]["entries"] = 7
    forged = tmp_path / "checkpoint-000001.json"
    forged.write_text(json.dumps(document), "utf-8")
    shutil.copyfile(
        folder(app) / checkpoints.file_names(1)[1], tmp_path / "checkpoint-000001.leaves.gz"
    )
    result = cli(app, "verify-ledger", "--checkpoint", str(forged))
    assert result.exit_code == 1
    assert (
        f"checkpoint from {forged} refused: its signature does not match its content"
        in result.stderr
    )
    # Leaves that are not the signed ones are refused too.
    with gzip.open(tmp_path / "checkpoint-000001.leaves.gz", "wb") as leaves:
        leaves.write(b"1 9 " + b"0" * 64 + b"\n")
    shutil.copyfile(manifest, tmp_path / "checkpoint-000001.json")
    result = cli(app, "verify-ledger", "--checkpoint", str(tmp_path / "checkpoint-000001.json"))
    assert result.exit_code == 1
    assert "its leaves do not match the signed hash and Merkle root" in result.stderr
    # A damaged file in the folder is refused, and said to be.
    (folder(app) / "checkpoint-000009.json").write_text("{", "utf-8")
    result = cli(app, "verify-ledger")
    assert result.exit_code == 1
    assert "checkpoint-000009.json refused: it is not a signed checkpoint" in result.stderr


def test_checkpoints_signed_before_a_key_rotation_still_verify(app, resident):
    post(resident, "k:1")
    checkpoint(app)
    assert cli(app, "rotate-key", "--yes").exit_code == 0
    post(resident, "k:2")
    checkpoint(app)
    result = cli(app, "verify-ledger")
    assert result.exit_code == 0, result.stderr
    kids = {
        row.document["signature"]["kid"] for row in db.session.scalars(select(LedgerCheckpoint))
    }
    assert len(kids) == 2


# Public -------------------------------------------------------------------------------------


def test_checkpoints_are_public(app, client, resident):
    assert client.get("/credits/checkpoints/latest").status_code == 404
    post(resident, "p:1")
    checkpoint(app)
    for url in (
        "/credits/checkpoints/latest",
        "/credits/checkpoints/1",
        "/api/v1/ledger/checkpoints/latest",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        assert checkpoints.verified_payload(response.get_json())["number"] == 1
    leaves = client.get("/credits/checkpoints/1/leaves.gz")
    assert leaves.status_code == 200
    assert leaves.content_type == "application/gzip"
    assert leaves.data == db.session.scalar(select(LedgerCheckpoint.leaves))
    assert client.get("/credits/checkpoints/2").status_code == 404
    assert client.get("/api/v1/ledger/checkpoints/2").status_code == 404
    page = client.get("/credits/checkpoints")
    assert "第 1 号" in page.get_data(as_text=True)
    assert "立即生成检查点" not in page.get_data(as_text=True)


def test_county_officers_make_one_on_demand(app, client, resident, registrar, town_registrar):
    sign_in(client, town_registrar)
    assert client.post("/credits/checkpoints").status_code == 403
    assert client.post("/api/v1/ledger/checkpoints").status_code == 403
    client = app.test_client()
    sign_in(client, registrar)
    assert "立即生成检查点" in client.get("/credits/checkpoints").get_data(as_text=True)
    response = client.post("/credits/checkpoints")
    assert response.status_code == 302
    assert client.post("/api/v1/ledger/checkpoints").status_code == 202
    assert [row.number for row in db.session.scalars(select(LedgerCheckpoint))] == [1, 2]
    assert checkpoints.folder_numbers(folder(app)) == [1, 2]


# What transcripts and credentials say -------------------------------------------------------


def test_transcripts_and_credentials_name_their_checkpoint(
    app, client, resident, registrar, tmp_path, live_server
):
    from tests.credits.conftest import poppler, submit
    from tests.credits.test_credentials import badge_of, record_of
    from tests.credits.test_independent_verifier import NODE, independent, published

    operations.certify_outcome(registrar, submit(resident, hours="16", title="防汛志愿服务"))
    db.session.commit()
    number = checkpoint(app)
    root = checkpoints.latest().root
    sign_in(client, resident)
    assert client.post("/me/transcripts").status_code == 302
    transcript = db.session.scalar(select(Transcript))
    named = transcript.document["transcript"]["checkpoint"]
    assert named == {
        "number": number,
        "root": root,
        "url": f"http://localhost/credits/checkpoints/{number}",
    }
    pdf = client.get(f"/transcripts/{transcript.serial}.pdf").data
    (tmp_path / "t.pdf").write_bytes(pdf)
    assert f"第 {number} 号（{root[:16]}" in poppler("pdftotext", str(tmp_path / "t.pdf"), "-")
    # The checkpoint a transcript names is evidence verify-ledger takes by its address.
    url = named["url"].replace("http://localhost", live_server)
    result = cli(app, "verify-ledger", "--checkpoint", url)
    assert result.exit_code == 0, result.stderr
    result = cli(app, "verify-ledger", "--checkpoint", url.rsplit("/", 1)[0] + "/99")
    assert result.exit_code == 1
    assert "cannot be fetched (HTTP Error 404" in result.stderr

    badge = badge_of(client, resident, "防汛志愿服务")
    record = record_of(client, transcript)
    for credential in (badge, record):
        (evidence,) = credential["evidence"]
        assert evidence["id"] == named["url"]
        assert evidence["type"] == ["Evidence"]
        assert root in evidence["description"]
        verdict = client.post("/api/v1/verify", json=credential).get_json()
        assert verdict["valid"] is True, verdict
    if NODE:
        genuine, learner_record = independent(tmp_path, [badge, record], published(client))
        assert genuine["verified"] is True, genuine
        assert learner_record["verified"] is True, learner_record
