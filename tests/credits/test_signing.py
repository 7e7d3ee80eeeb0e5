"""Signed transcript JSON: whoever holds a transcript can tell whether it is ours and unchanged."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lms.credits import signing
from tests.conftest import make_app

TAMPERED = "签名与内容不符，文件可能被改动过"
UNKNOWN_KEY = "不是本平台签发的学分证明（签名密钥未知）"
MALFORMED = "文件格式不正确"
BAD_SIGNATURE = "签名格式不正确"


def transcript() -> dict:
    return {
        "format": "lms-transcript/1",
        "serial": "LX2026-7F3K9Q2M",
        "issued_at": "2026-11-23T15:20:00+08:00",
        "issuer": {"name": "泸县社区教育学院", "code": "510521"},
        "holder": {"name": "张秀英", "phone": "137****0001", "account_no": "510521-2026-000001"},
        "entries": [
            {
                "entry_id": 1,
                "date": "2026-11-01",
                "title": "生猪养殖技术",
                "kind": "online_course",
                "kind_label": "线上课程",
                "hours": "8.0",
                "credits": "0.5",
                "certified_by": "泸县社区教育学院",
            }
        ],
        "total_hours": "8.0",
        "total_credits": "0.5",
        "verify_url": "http://127.0.0.1:5000/verify/LX2026-7F3K9Q2M?code=abc123",
    }


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_canonical_form_is_sorted_compact_utf8():
    assert signing.canonical({"b": 1, "a": {"姓名": "张秀英", "z": [1, 2]}}) == (
        '{"a":{"z":[1,2],"姓名":"张秀英"},"b":1}'.encode()
    )


def test_signed_transcript_verifies_after_passing_through_json(app):
    document = signing.sign_document(transcript())

    # Re-indented and re-ordered on the way, as a file passed along by hand might be.
    received = json.loads(json.dumps(document, indent=2, ensure_ascii=True))
    received["transcript"] = dict(reversed(list(received["transcript"].items())))
    result = signing.verify_document(received)

    assert result.valid
    assert result.payload == transcript()
    assert document["signature"]["alg"] == "Ed25519"
    assert "=" not in document["signature"]["value"]


@pytest.mark.parametrize(
    "change",
    [
        lambda t: t["holder"].update(name="张秀芙"),
        lambda t: t.update(total_credits="0.6"),
        lambda t: t.update(serial="LX2026-7F3K9Q2N"),
        lambda t: t["entries"][0].update(hours="80.0"),
        lambda t: t["entries"].append(dict(t["entries"][0], entry_id=2)),
        lambda t: t.update(extra="1"),
        lambda t: t.pop("verify_url"),
    ],
    ids=["name", "total", "serial", "hours", "added entry", "added key", "removed key"],
)
def test_a_changed_transcript_is_refused(app, change):
    document = signing.sign_document(transcript())
    change(document["transcript"])

    result = signing.verify_document(document)

    assert not result.valid
    assert result.reason == TAMPERED
    assert result.payload is None


def test_every_single_character_change_is_refused(app):
    document = signing.sign_document(transcript())
    text = signing.canonical(transcript()).decode()
    checked = 0
    for position, character in enumerate(text):
        if character.isdigit():
            replacement = str((int(character) + 1) % 10)
        elif character.isalpha():
            replacement = "x" if character != "x" else "y"
        else:
            continue  # punctuation changes make the file unreadable, not silently different
        try:
            changed = json.loads(text[:position] + replacement + text[position + 1 :])
        except ValueError:
            continue
        result = signing.verify_document({**document, "transcript": changed})
        assert not result.valid, (position, character)
        checked += 1
    assert checked > 300


def test_a_changed_signature_is_refused(app):
    document = signing.sign_document(transcript())
    raw = base64.urlsafe_b64decode(document["signature"]["value"] + "==")
    for position in range(len(raw)):
        forged = bytearray(raw)
        forged[position] ^= 0x01
        document["signature"]["value"] = b64url(bytes(forged))

        result = signing.verify_document(document)

        assert not result.valid
        assert result.reason == TAMPERED


def signed(**signature) -> dict:
    document = signing.sign_document(transcript())
    document["signature"].update(signature)
    return document


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda: None, MALFORMED),
        (lambda: "学分证明", MALFORMED),
        (lambda: [signing.sign_document(transcript())], MALFORMED),
        (lambda: {}, MALFORMED),
        (lambda: {"transcript": transcript()}, MALFORMED),
        (lambda: {"signature": signed()["signature"]}, MALFORMED),
        (lambda: {**signed(), "transcript": "张秀英"}, MALFORMED),
        (lambda: {**signed(), "signature": "abc"}, MALFORMED),
        (lambda: signed(alg=None), MALFORMED),
        (lambda: signed(kid=7), MALFORMED),
        (lambda: signed(value=b"abc"), MALFORMED),
        (lambda: signed(alg="RS256"), "不支持的签名算法"),
        (lambda: signed(kid="0123456789abcdef"), UNKNOWN_KEY),
        (lambda: signed(value="!!!!不是签名"), BAD_SIGNATURE),
        (lambda: signed(value=signed()["signature"]["value"] + "=="), BAD_SIGNATURE),
        (lambda: signed(value=b64url(b"\x00" * 32)), BAD_SIGNATURE),
        (lambda: signed(value=b64url(b"\x00" * 65)), BAD_SIGNATURE),
        (lambda: signed(value="A"), BAD_SIGNATURE),
        (lambda: signed(value=""), BAD_SIGNATURE),
    ],
    ids=[
        "none",
        "string",
        "list",
        "empty",
        "no signature",
        "no transcript",
        "transcript not an object",
        "signature not an object",
        "no alg",
        "kid not a string",
        "value not a string",
        "other alg",
        "unknown kid",
        "not base64url",
        "padded",
        "short",
        "long",
        "impossible length",
        "empty value",
    ],
)
def test_malformed_documents_get_a_reason_not_an_exception(app, make, reason):
    result = signing.verify_document(make())

    assert not result.valid
    assert result.reason == reason
    assert result.payload is None


def test_a_document_signed_by_another_key_is_unknown(app):
    stranger = Ed25519PrivateKey.generate()
    payload = transcript()
    document = {
        "transcript": payload,
        "signature": {
            "alg": "Ed25519",
            "kid": signing.key_id(stranger.public_key()),
            "value": b64url(stranger.sign(signing.canonical(payload))),
        },
    }
    assert signing.verify_document(document).reason == UNKNOWN_KEY

    # Claiming our key id does not help either.
    document["signature"]["kid"] = signing.sign_document(payload)["signature"]["kid"]
    assert signing.verify_document(document).reason == TAMPERED


def test_key_file_is_private_and_survives_a_restart(app, tmp_path, monkeypatch):
    first = signing.sign_document(transcript())
    path = Path(app.instance_path) / "transcript-signing-key.pem"

    assert path.stat().st_mode & 0o777 == 0o600
    assert path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    pem = path.read_bytes()
    assert signing.sign_document(transcript())["signature"] == first["signature"]

    # A new process: nothing cached, a new app on the same instance folder.
    monkeypatch.setattr(signing, "_keys", {})
    restarted = make_app(tmp_path)
    with restarted.app_context():
        assert signing.sign_document(transcript())["signature"]["kid"] == first["signature"]["kid"]
        assert signing.verify_document(first).valid
    assert path.read_bytes() == pem
    assert not [name for name in os.listdir(path.parent) if name.startswith(f".{path.name}")]


def test_key_file_can_be_configured(tmp_path, monkeypatch):
    configured = tmp_path / "keys" / "transcript.pem"
    monkeypatch.setenv("LMS_TRANSCRIPT_KEY_FILE", str(configured))
    app = make_app(tmp_path)
    with app.app_context():
        document = signing.sign_document(transcript())

    assert configured.stat().st_mode & 0o777 == 0o600
    assert not (tmp_path / "instance" / "transcript-signing-key.pem").exists()
    other = make_app(tmp_path / "elsewhere", LMS_TRANSCRIPT_KEY_FILE=str(configured))
    with other.app_context():
        assert signing.verify_document(document).valid


def test_the_loser_of_a_creation_race_uses_the_winners_key(tmp_path, monkeypatch):
    path = tmp_path / "key.pem"
    winner = Ed25519PrivateKey.generate()
    real_link = os.link

    def link_after_the_winner(source, destination):
        # Another process finishes first, between our draft and our link.
        path.write_bytes(winner.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
        real_link(source, destination)

    monkeypatch.setattr(os, "link", link_after_the_winner)
    key = signing.load_or_create_key(path)

    assert signing.key_id(key.public_key()) == signing.key_id(winner.public_key())
    assert os.listdir(tmp_path) == ["key.pem"]


def test_processes_starting_together_agree_on_one_key(tmp_path):
    path = tmp_path / "key.pem"
    # The module alone, without the app, so that the processes start (and race) quickly.
    script = (
        "import importlib.util, pathlib, sys\n"
        "spec = importlib.util.spec_from_file_location('signing', sys.argv[1])\n"
        "signing = sys.modules['signing'] = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(signing)\n"
        "key = signing.load_or_create_key(pathlib.Path(sys.argv[2]))\n"
        "print(signing.key_id(key.public_key()))\n"
    )
    command = [sys.executable, "-c", script, signing.__file__, str(path)]
    processes = [
        subprocess.Popen(command, stdout=subprocess.PIPE, text=True)  # noqa: S603 - our own script
        for _ in range(8)
    ]
    kids = {process.communicate(timeout=60)[0].strip() for process in processes}

    assert all(process.returncode == 0 for process in processes)
    assert len(kids) == 1
    assert os.listdir(tmp_path) == ["key.pem"]


def test_jwks_lets_an_outside_verifier_check_a_transcript(app):
    document = signing.sign_document(transcript())
    keys = signing.jwks()["keys"]

    assert len(keys) == 1
    (jwk,) = keys
    assert {key: jwk[key] for key in ("kty", "crv", "use", "alg")} == {
        "kty": "OKP",
        "crv": "Ed25519",
        "use": "sig",
        "alg": "EdDSA",
    }
    assert jwk["kid"] == document["signature"]["kid"]
    assert "=" not in jwk["x"]
    public_key = Ed25519PublicKey.from_public_bytes(base64.urlsafe_b64decode(jwk["x"] + "="))
    assert signing.key_id(public_key) == jwk["kid"]
    signature = base64.urlsafe_b64decode(document["signature"]["value"] + "==")
    public_key.verify(signature, signing.canonical(document["transcript"]))  # raises if wrong


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_verify_never_raises(app, data):
    kid = signing.key_id(signing.public_keys()[0])
    signature_shaped = st.fixed_dictionaries(
        {
            "alg": st.just("Ed25519") | json_values,
            "kid": st.just(kid) | json_values,
            "value": st.text("ABCabc019-_", min_size=86, max_size=86) | st.text() | json_values,
        }
    )
    document = data.draw(
        json_values
        | st.fixed_dictionaries({"transcript": json_values, "signature": json_values})
        | st.fixed_dictionaries(
            {"transcript": st.dictionaries(st.text(), json_values), "signature": signature_shaped}
        )
    )

    result = signing.verify_document(document)

    assert not result.valid
    assert isinstance(result.reason, str)
    assert result.reason
