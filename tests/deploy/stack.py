"""A real deployment on loopback, from the files in deploy/ filled in by deploy/render.py:
PostgreSQL (a database of its own in the cluster LMS_TEST_DATABASE_URL names), Redis, two
gunicorn app servers and two ``lms worker`` processes started from the systemd units' ExecStart
lines with the environment file's settings, and nginx in front. Everything runs as the current
user with its own ports and folders. Used by tests/deploy/test_deployment.py and
benchmarks/load/run.py."""

from __future__ import annotations

import contextlib
import getpass
import importlib.util
import json
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
TOOLS = {"nginx": "/usr/sbin/nginx", "redis-server": "/usr/bin/redis-server"}


def _render_module():
    spec = importlib.util.spec_from_file_location("lms_deploy_render", DEPLOY / "render.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


render = _render_module().render


def missing_tools() -> list[str]:
    found = [name for name, path in TOOLS.items() if not os.access(path, os.X_OK)]
    return found + [tool for tool in ("ffmpeg", "ffprobe") if shutil.which(tool) is None]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def read_env_file(text: str) -> dict[str, str]:
    """KEY=VALUE lines as systemd's EnvironmentFile reads them (later lines win)."""
    values = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def exec_start(unit: str, values: dict[str, str], instance: str, env: dict[str, str]) -> list[str]:
    """A unit's ExecStart as systemd would run it: @NAMES@ filled in, %i and ${VAR} expanded."""
    text = render((DEPLOY / "systemd" / unit).read_text(), values)
    line = next(line for line in text.splitlines() if line.startswith("ExecStart="))
    command = line.removeprefix("ExecStart=").replace("%i", instance)
    command = re.sub(r"\$\{(\w+)\}", lambda match: env[match.group(1)], command)
    return shlex.split(command)


@dataclass
class Stack:
    base: Path
    database_url: str  # the cluster's test database; the stack makes a database of its own
    residents: int = 2
    web_processes: int = 1
    web_threads: int = 4
    worker_threads: int = 1
    overrides: dict[str, str] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    def start(self) -> Stack:
        started = time.monotonic()
        for folder in ("run", "log", "media", "shared", "instance"):
            (self.base / folder).mkdir(parents=True, exist_ok=True)
        self.ports = {name: free_port() for name in ("redis", "nginx", "web1", "web2")}
        self.url = f"http://127.0.0.1:{self.ports['nginx']}"
        self.web_urls = [f"http://127.0.0.1:{self.ports[name]}" for name in ("web1", "web2")]
        self._create_database()
        self._start("redis", [
            TOOLS["redis-server"], "--port", str(self.ports["redis"]), "--bind", "127.0.0.1",
            "--save", "", "--appendonly", "no", "--dir", str(self.base / "run"),
        ])  # fmt: skip
        self.values = {
            "DATABASE_URL": self.lms_database_url,
            "QUEUE_URL": f"redis://127.0.0.1:{self.ports['redis']}/0",
            "SECRET_KEY": secrets.token_hex(32),
            "DATA_KEY": _fernet_key(),
            "SHARED_DIR": str(self.base / "shared"),
            "MEDIA_DIR": str(self.base / "media"),
            "INSTANCE_DIR": str(self.base / "instance"),
            "PUBLIC_URL": self.url,
            "SECURE_COOKIES": "0",
            "APP_SERVER_URLS": ",".join(self.web_urls),
            "ROOT": str(ROOT),
            "USER": getpass.getuser(),
            "APP_SERVERS": " ".join(
                f"server 127.0.0.1:{self.ports[name]};" for name in ("web1", "web2")
            ),
            "LISTEN": f"127.0.0.1:{self.ports['nginx']}",
            "SERVER_NAME": "127.0.0.1",
            "LOG_DIR": str(self.base / "log"),
            "RUN_DIR": str(self.base / "run"),
            "SITE": str(self.base / "run" / "lms-site.conf"),
        }
        env_file = render((DEPLOY / "lms.env.template").read_text(), self.values)
        (self.base / "lms.env").write_text(env_file)
        self.settings = {
            **read_env_file(env_file),
            "LMS_WEB_PROCESSES": str(self.web_processes),
            "LMS_WEB_THREADS": str(self.web_threads),
            "LMS_WORKER_THREADS": str(self.worker_threads),
            **self.overrides,
        }
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("LMS_")},
            **self.settings,
            "PYTHONPATH": str(ROOT),
            "PATH": f"{ROOT / '.venv' / 'bin'}:{os.environ.get('PATH', '')}",
        }
        self._wait_port(self.ports["redis"], "redis")
        # The app servers start while the database is migrated (they read it only per request).
        for name in ("web1", "web2"):
            self._start(
                name, exec_start("lms-web@.service", self.values, str(self.ports[name]), self.env)
            )
        seeded = subprocess.run(  # noqa: S603 - our own script
            [sys.executable, "-m", "tests.deploy.seed", str(self.residents)],
            env=self.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if seeded.returncode != 0:
            raise RuntimeError(f"seeding failed:\n{seeded.stderr[-4000:]}")
        self.people = json.loads(seeded.stdout.strip().splitlines()[-1])
        for number in (1, 2):
            self._start(
                f"worker{number}",
                exec_start("lms-worker@.service", self.values, str(number), self.env),
            )
        (self.base / "run" / "lms-site.conf").write_text(
            render((DEPLOY / "nginx" / "lms-site.conf").read_text(), self.values)
        )
        conf = self.base / "run" / "nginx.conf"
        conf.write_text(render((DEPLOY / "nginx" / "standalone.conf").read_text(), self.values))
        self._start("nginx", [
            TOOLS["nginx"], "-c", str(conf), "-e", str(self.base / "log" / "error.log"),
            "-g", "daemon off;",
        ])  # fmt: skip
        for name in ("nginx", "web1", "web2"):
            self._wait_http(f"http://127.0.0.1:{self.ports[name]}/sign-in", name)
        self.wait_workers(2)
        self.started_in = time.monotonic() - started
        return self

    # --- processes -----------------------------------------------------------------------

    def _start(self, name: str, command: list[str]) -> None:
        with (self.base / "log" / f"{name}.log").open("ab") as log:
            self.processes[name] = subprocess.Popen(  # noqa: S603 - our own commands
                command,
                env=getattr(self, "env", None),
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: a kill reaches its ffmpeg too
            )

    def log(self, name: str) -> str:
        return (self.base / "log" / f"{name}.log").read_text(errors="replace")

    def kill(self, name: str) -> None:
        """SIGKILL a process and everything it started (a machine pulled out)."""
        process = self.processes[name]
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def stop(self, name: str, timeout: float = 30) -> None:
        process = self.processes.get(name)
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill(name)

    def close(self) -> None:
        for process in self.processes.values():  # all at once, then wait for each
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
        for name in self.processes:
            self.stop(name, timeout=15)
        self._drop_database()

    def _wait_port(self, port: int, name: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                return
            self._check_alive(name)
            time.sleep(0.1)
        raise RuntimeError(f"{name} did not listen on {port}")

    def _wait_http(self, url: str, name: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(url, timeout=5) as response,  # noqa: S310
            ):
                if response.status == 200:
                    return
            self._check_alive(name)
            time.sleep(0.2)
        raise RuntimeError(f"{name} did not answer at {url}:\n{self.log(name)[-3000:]}")

    def _check_alive(self, name: str) -> None:
        process = self.processes.get(name)
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{name} exited ({process.returncode}):\n{self.log(name)[-3000:]}")

    def worker_pids(self) -> dict[str, int]:
        return {
            name: process.pid
            for name, process in self.processes.items()
            if name.startswith("worker") and process.poll() is None
        }

    def wait_workers(self, count: int, timeout: float = 120) -> None:
        """Until *count* workers have written their heartbeat row."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pids = set(self.worker_pids().values())
            rows = self.sql("SELECT pid FROM worker_beats")
            if len(pids & {row[0] for row in rows}) >= count:
                return
            for name in self.worker_pids():
                self._check_alive(name)
            time.sleep(0.2)
        raise RuntimeError("the workers did not start:\n" + self.log("worker1")[-3000:])

    # --- the database ----------------------------------------------------------------------

    def _connect(self, database: str | None = None):
        import psycopg
        from sqlalchemy.engine import make_url

        url = make_url(self.database_url)
        return psycopg.connect(
            host=url.host or "127.0.0.1",
            port=url.port or 5432,
            user=url.username,
            password=url.password,
            dbname=database or url.database,
            autocommit=True,
        )

    def _create_database(self) -> None:
        from sqlalchemy.engine import make_url

        self.database = f"lms_deploy_{secrets.token_hex(4)}"
        with self._connect() as connection:
            connection.execute(f'CREATE DATABASE "{self.database}"')
        url = make_url(self.database_url).set(database=self.database)
        self.lms_database_url = url.render_as_string(hide_password=False)

    def _drop_database(self) -> None:
        with contextlib.suppress(Exception), self._connect() as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')

    def sql(self, query: str, *params) -> list[tuple]:
        with self._connect(self.database) as connection:
            return connection.execute(query, params).fetchall()


def _fernet_key() -> str:
    import base64

    return base64.urlsafe_b64encode(os.urandom(32)).decode()


def children_named(pid: int, name: str) -> list[int]:
    """Processes called *name* whose parent is *pid* (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            stat = (entry / "stat").read_text()
            command = stat[stat.index("(") + 1 : stat.rindex(")")]
            parent = int(stat[stat.rindex(")") + 2 :].split()[1])
            if parent == pid and command == name:
                found.append(int(entry.name))
    return found
