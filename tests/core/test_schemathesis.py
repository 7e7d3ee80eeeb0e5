"""Schemathesis against the live OpenAPI document, as a resident and as a teacher: no server
error, every answer conforms to its documented schema, status code and content type.

Each role runs Schemathesis's command line against a real server on loopback: its coverage
phase (boundary values and invalid inputs for every parameter and body) and a fuzzing phase with
a bounded number of examples per operation (LMS_SCHEMATHESIS_EXAMPLES, default 8; phases in
LMS_SCHEMATHESIS_PHASES), about 1,600 requests and 80 s a role on two cores. Its report (tests/artifacts/schemathesis-*.txt) names
each failing operation with a curl command that reproduces it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import api_token

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
EXAMPLES = os.environ.get("LMS_SCHEMATHESIS_EXAMPLES", "8")
CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
    ]
)
# The resumable upload's chunks (PATCH /uploads/{token}) are raw bytes of this media type.
HOOKS = """
from schemathesis.transport.requests import REQUESTS_TRANSPORT, binary_serializer

REQUESTS_TRANSPORT.serializer("application/offset+octet-stream")(binary_serializer)
"""
# Signing out revokes the very token the run uses; everything else may be called at random.
EXCLUDED = ["accounts_api_delete_token"]


@pytest.fixture
def seeded(create_course, resident, teacher, client):
    """A published course (so ids exist to find) and a bearer token for each role."""
    create_course()
    return {"resident": api_token(client, resident), "teacher": api_token(client, teacher)}


@pytest.mark.parametrize("role", ["resident", "teacher"])
def test_api_conforms_to_its_openapi_document(live_server, seeded, role, tmp_path):
    ARTIFACTS.mkdir(exist_ok=True)
    hooks = tmp_path / "schemathesis_hooks.py"
    hooks.write_text(HOOKS, encoding="utf-8")
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "run",
        f"{live_server}/api/v1/openapi.json",
        "--url",
        f"{live_server}/api/v1",
        "--header",
        f"Authorization: {seeded[role]['Authorization']}",
        "--checks",
        CHECKS,
        "--max-examples",
        EXAMPLES,
        "--phases",
        os.environ.get("LMS_SCHEMATHESIS_PHASES", "examples,coverage,fuzzing"),
        "--workers",
        "1",
        "--seed",
        "2026",
        "--request-timeout",
        "30",
        "--no-color",
        "--output-truncate",
        "true",
        "--generation-database",
        "none",
        "--suppress-health-check",
        "all",
        "--warnings",
        "off",
    ]
    for operation_id in EXCLUDED:
        command += ["--exclude-operation-id", operation_id]
    result = subprocess.run(  # noqa: S603 - our own tool, fixed arguments
        command,
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,  # its crash cache (.schemathesis/) stays out of the checkout
        env={**os.environ, "SCHEMATHESIS_HOOKS": str(hooks)},
        check=False,
    )
    report = result.stdout + result.stderr
    (ARTIFACTS / f"schemathesis-{role}.txt").write_text(report, encoding="utf-8")
    assert result.returncode == 0, report[-20000:]
