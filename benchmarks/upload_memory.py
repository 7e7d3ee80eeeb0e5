"""Peak memory of the web process while a 2 GB video arrives, by the resumable chunked API and
as one multipart form post. Bytes are streamed to disk, so the peak should not grow with the
file's size.

    .venv/bin/python benchmarks/upload_memory.py [--gigabytes 2]

Runs gunicorn with one sync worker on loopback and reads that worker's VmHWM (peak resident
set) from /proc before and after each upload."""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.heartbeat import ROOT, free_port, prepare

BLOCK = os.urandom(8 * 1024 * 1024)


def worker_pid(master: int) -> int:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        if children:
            return int(children[0])
        time.sleep(0.2)
    raise RuntimeError("no gunicorn worker")


def peak_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM")


def blocks(total: int):
    sent = 0
    while sent < total:
        piece = BLOCK[: min(len(BLOCK), total - sent)]
        sent += len(piece)
        yield piece


def chunked(port: int, token: str, total: int) -> float:
    started = time.monotonic()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    connection.request(
        "POST", "/api/v1/uploads", json.dumps({"filename": "big.mp4", "size": total}), headers
    )
    upload = json.loads(connection.getresponse().read())
    offset = 0
    for piece in blocks(total):
        connection.request(
            "PATCH",
            upload["upload_url"],
            piece,
            {
                "Authorization": f"Bearer {token}",
                "Upload-Offset": str(offset),
                "Content-Type": "application/offset+octet-stream",
            },
        )
        response = connection.getresponse()
        offset = json.loads(response.read())["offset"]
    assert offset == total, offset
    connection.request("DELETE", upload["upload_url"], headers=headers)
    connection.getresponse().read()
    return time.monotonic() - started


def multipart(port: int, token: str, course_id: int, total: int) -> tuple[float, int]:
    boundary = "lmsbenchmarkboundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="title"\r\n\r\n大文件\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="kind"\r\n\r\nvideo\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.mp4"\r\n'
        "Content-Type: video/mp4\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()

    def body():
        yield head
        yield from blocks(total)
        yield tail

    started = time.monotonic()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    connection.request(
        "POST",
        f"/api/v1/courses/{course_id}/lessons",
        body(),
        {
            "Authorization": f"Bearer {token}",
            "Content-Length": str(len(head) + total + len(tail)),
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        },
    )
    response = connection.getresponse()
    response.read()
    return time.monotonic() - started, response.status


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--gigabytes", type=float, default=2.0)
    args = parser.parse_args()
    total = int(args.gigabytes * 1024**3)
    instance = Path(tempfile.mkdtemp(prefix="lms-upload-bench-"))
    env = {
        "LMS_INSTANCE_DIR": str(instance),
        "LMS_MEDIA_DIR": str(instance / "media"),
        "LMS_SECRET_KEY": "benchmark",
    }
    _lesson, _viewers, token = prepare(env, 0)
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-w",
            "1",
            "-k",
            "sync",
            "-t",
            "600",
            "--log-level",
            "warning",
            "-b",
            f"127.0.0.1:{port}",
            "lms:create_app()",
        ],
        cwd=ROOT,
        env={**os.environ, **env},
    )
    try:
        pid = worker_pid(server.pid)
        time.sleep(2)
        idle = peak_kib(pid)
        print(f"gunicorn sync worker pid {pid}; upload of {total / 1024**3:.1f} GiB over loopback")
        print(f"peak RSS at rest:                 {idle / 1024:8.1f} MiB")
        seconds = chunked(port, token, total)
        after_chunked = peak_kib(pid)
        print(
            f"peak RSS after chunked upload:    {after_chunked / 1024:8.1f} MiB "
            f"(+{(after_chunked - idle) / 1024:.1f}; {total / 1024**2 / seconds:.0f} MiB/s, 8 MiB chunks)"
        )
        seconds, status = multipart(port, token, 1, total)
        after_multipart = peak_kib(pid)
        print(
            f"peak RSS after multipart upload:  {after_multipart / 1024:8.1f} MiB "
            f"(+{(after_multipart - after_chunked) / 1024:.1f}; {total / 1024**2 / seconds:.0f} MiB/s; "
            f"answered {status}: random bytes are refused by the probe)"
        )
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(instance, ignore_errors=True)


if __name__ == "__main__":
    main()
