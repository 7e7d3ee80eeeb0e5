"""ffmpeg processes that die with their worker, and stopping one that a dead job left behind.

Pure Python: no Flask, no database. Two guards, because a worker can go away in two ways:

- it dies (SIGKILL, OOM killer, a crash): ffmpeg is started with a parent-death signal
  (Linux ``prctl(PR_SET_PDEATHSIG, SIGKILL)``), so the kernel kills it with the thread that
  started it; it also stays in the worker's process group, so stopping the group stops it;
- it hangs, or its heartbeat cannot reach the database, and the job is sent again while ffmpeg
  still runs: the transcoder records ffmpeg's pid, start time and machine in a pid file in the
  job's scratch folder, and the job sent again stops that ffmpeg before it clears the folder,
  after checking that the pid still names that very ffmpeg (same machine and boot, same start
  time, an ``ffmpeg`` writing into that folder), so a recycled pid is never killed.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import logging
import os
import signal
import socket
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

PID_FILE = ".ffmpeg.pid"
PR_SET_PDEATHSIG = 1
_SIGKILL = int(signal.SIGKILL)


def _load_prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    prctl.restype = ctypes.c_int
    return prctl


# Resolved once here: the child between fork and exec must not load libraries or take locks.
_PRCTL = _load_prctl()


def die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` that makes the child get SIGKILL when the thread that started it ends
    (the whole worker dying included); None where the platform has no such thing."""
    if _PRCTL is None:
        return None
    parent = os.getpid()
    prctl = _PRCTL

    def arm() -> None:
        prctl(PR_SET_PDEATHSIG, _SIGKILL, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before the signal was armed
            os._exit(1)

    return arm


def record(pid_file: Path, pid: int, *, marker: str) -> None:
    """Write who *pid* is into *pid_file* (under a temporary name, then renamed into place).
    *marker* is a string the process's command line contains (its output folder)."""
    start = _start_ticks(pid)
    if start is None:  # no /proc, or the process is already gone
        return
    data = {
        "pid": pid,
        "start": start,
        "boot": _boot_id(),
        "host": socket.gethostname(),
        "marker": marker,
    }
    draft = pid_file.with_name(f"{pid_file.name}.{os.getpid()}.tmp")
    draft.write_text(json.dumps(data), encoding="utf-8")
    os.replace(draft, pid_file)


def stop_recorded(pid_file: Path) -> bool:
    """SIGKILL the ffmpeg that *pid_file* names if it still runs and really is that ffmpeg;
    returns whether one was stopped. A missing or unreadable file, another machine's process,
    or a pid now used by another program is left alone."""
    try:
        data: dict[str, Any] = json.loads(pid_file.read_text(encoding="utf-8"))
        pid, start, marker = int(data["pid"]), int(data["start"]), str(data["marker"])
    except (OSError, ValueError, KeyError, TypeError):
        return False
    if data.get("host") != socket.gethostname() or data.get("boot") != _boot_id():
        return False  # recorded on another machine (or before a reboot)
    if pid <= 1 or not marker:
        return False
    try:
        # A pidfd pins the process: the checks below and the kill concern the same one even if
        # it exits and its pid is reused in between.
        handle = os.pidfd_open(pid)
    except (ProcessLookupError, AttributeError, OSError):
        return False
    try:
        if _start_ticks(pid) != start or not _is_ffmpeg_writing_to(pid, marker):
            return False
        signal.pidfd_send_signal(handle, _SIGKILL)
    except (ProcessLookupError, OSError):
        return False
    finally:
        os.close(handle)
    log.warning("stopped ffmpeg %s left running by a dead transcoding job (%s)", pid, marker)
    return True


def stop_leftovers(folders: list[Path]) -> int:
    """``stop_recorded`` on the pid file of every folder; returns how many were stopped."""
    return sum(stop_recorded(folder / PID_FILE) for folder in folders)


def forget(pid_file: Path) -> None:
    with contextlib.suppress(OSError):
        pid_file.unlink()


def is_running(pid: int) -> bool:
    """Whether *pid* is a live process (a zombie, dead but not yet reaped, is not)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return text[text.rfind(")") + 2 :].split(" ", 1)[0] not in ("Z", "X")


def _start_ticks(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (field 22 of /proc/<pid>/stat)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses; fields after it are plain.
    rest = text[text.rfind(")") + 2 :].split()
    try:
        return int(rest[19])
    except (IndexError, ValueError):
        return None


def _is_ffmpeg_writing_to(pid: int, marker: str) -> bool:
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    arguments = [part.decode("utf-8", "replace") for part in argv if part]
    if not arguments or Path(arguments[0]).name != "ffmpeg":
        return False
    return any(marker in argument for argument in arguments[1:])


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""
