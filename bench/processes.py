"""Servers under measurement, started exactly as users start them, each on a fresh data folder."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from regista.server.embedded_db import PID_FILE, free_port

# The user every benchmark request runs as (auth.fixed_users of the server under test).
BENCH_KEY = "BENCHACCESSKEY"
BENCH_SECRET = "bench-secret-not-for-production"


class ServerProcess:
    """A server subprocess on a free loopback port, ready once `ready_path` answers 200."""

    def __init__(
        self,
        command: list[str],
        env: dict[str, str],
        log_path: Path,
        ready_path: str,
        port: int,
        ready_method: str = "post",
        cwd: Path | None = None,
    ):
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = log_path
        self._log = open(log_path, "ab")
        started = time.monotonic()
        # Its own process group, as a terminal or a supervisor runs a server: signals to the group
        # (Ctrl-C, kill -9 of a unit) reach the server and its workers, not the caller.
        self.process = subprocess.Popen(
            command, env=env, cwd=cwd, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}:\n{self.tail()}")
            try:
                if requests.request(ready_method, f"{self.url}{ready_path}", timeout=1).status_code == 200:
                    self.ready_s = time.monotonic() - started  # from exec to the first answered call
                    return
            except (requests.ConnectionError, requests.Timeout):  # not listening yet, or busy starting
                pass
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"server did not answer in 60 s:\n{self.tail()}")
            time.sleep(0.2)

    def peak_rss_mb(self) -> dict[str, float]:
        """Peak resident memory (VmHWM) of each live process of the server, by role: the server (gunicorn's
        master), its workers (its process group), and the embedded database (a session of its own, so that
        a signal to the group does not reach it; found by its pid file)."""
        found: dict[str, float] = {}
        database_pid = _pid_in(getattr(self, "data_dir", None), PID_FILE)
        workers = 0
        for status in sorted(Path("/proc").glob("[0-9]*/status"), key=lambda path: int(path.parent.name)):
            pid = int(status.parent.name)
            try:
                if pid != database_pid and os.getpgid(pid) != self.process.pid:
                    continue
                fields = dict(line.split(":", 1) for line in status.read_text().splitlines() if ":" in line)
            except (OSError, ValueError):
                continue  # gone meanwhile
            peak = round(int(fields.get("VmHWM", "0 kB").split()[0]) / 1024, 1)
            if pid == database_pid:
                found["database"] = peak
            elif pid == self.process.pid:
                found["server"] = peak
            else:
                workers += 1
                found[f"worker_{workers}"] = peak
        return found

    def tail(self, chars: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]

    def stop(self, timeout_s: float = 30) -> int:
        """SIGTERM, as a process supervisor would; the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.kill()
                raise RuntimeError(f"no clean stop in {timeout_s} s:\n{self.tail()}") from None
        if not self._log.closed:
            self._log.close()
        return self.process.returncode

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        if not self._log.closed:
            self._log.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        if self.process.poll() is None:
            self.stop()


def _pid_in(folder: Path | None, name: str) -> int | None:
    try:
        return int((Path(folder) / name).read_text().split()[0]) if folder else None
    except (OSError, ValueError, IndexError):
        return None


def regista(data_dir: Path, log_path: Path, workers: int = 2, mongodb_uri: str = "", **overrides: str) -> ServerProcess:
    """`regista serve` on the embedded database in `data_dir`, or on the database at `mongodb_uri`."""
    port, db_port = free_port("127.0.0.1"), free_port("127.0.0.1")
    env = {
        **os.environ,
        "REGISTA__AUTH__FIXED_USERS": f"[{{name: bench, role: admin, company: bench, access_key: {BENCH_KEY}, "
        f"secret_key: {BENCH_SECRET}}}]",
        "REGISTA__AUTH__TOKEN_SECRET": BENCH_SECRET * 2,
        "REGISTA__EMBEDDED_DB__DATA_DIR": str(data_dir),
        "REGISTA__EMBEDDED_DB__PORT": str(db_port),
        "REGISTA__API__SCHEMA_CACHE_DIR": str(data_dir / "schema-cache"),
        "REGISTA__FILES__ROOT": str(data_dir / "files"),
        "REGISTA__ARTIFACTS__ROOT": str(data_dir / "artifacts"),
        "REGISTA__LOGGING__FORMAT": "json",
        "REGISTA__MONGODB__URI": mongodb_uri,
        **{f"REGISTA__{key.upper()}": value for key, value in overrides.items()},
    }
    command = [sys.executable, "-m", "regista.cli", "serve", "--port", str(port), "--workers", str(workers)]
    server = ServerProcess(command, env, log_path, "/api/debug.ping", port)
    server.db_uri = mongodb_uri or f"mongodb://127.0.0.1:{db_port}/regista"
    server.data_dir = Path(data_dir)
    login = requests.post(f"{server.url}/api/auth.login", auth=(BENCH_KEY, BENCH_SECRET), timeout=10).json()
    server.auth = {"Authorization": f"Bearer {login['data']['token']}"}
    me = requests.post(f"{server.url}/api/users.get_current_user", headers=server.auth, timeout=10).json()
    server.company_id = me["data"]["user"]["company"]["id"]
    return server


class DatabaseProcess:
    """`regista db serve`: the embedded database alone, for several API nodes; `.uri` is what it printed."""

    def __init__(self, data_dir: Path, log_path: Path):
        self.data_dir = Path(data_dir)
        self.log_path = log_path
        self._log = open(log_path, "ab")
        port = free_port("127.0.0.1")
        command = [sys.executable, "-m", "regista.cli", "db", "serve", "--data-dir", str(data_dir), "--port", str(port)]
        env = {**os.environ, "REGISTA__LOGGING__FORMAT": "json"}
        self.process = subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=self._log, text=True, start_new_session=True
        )  # fmt: skip
        self.uri = self.process.stdout.readline().strip()  # its first line, once the database answers
        if not self.uri.startswith("mongodb://"):
            self.process.kill()
            raise RuntimeError(f"regista db serve printed {self.uri!r}:\n{log_path.read_text()[-3000:]}")

    def stop(self, timeout_s: float = 30) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout_s)
        self._log.close()
        return self.process.returncode

    def __enter__(self) -> "DatabaseProcess":
        return self

    def __exit__(self, *exc) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self._log.close()


def bare_falcon(log_path: Path, workers: int = 2) -> ServerProcess:
    """The reference: a bare Falcon app under the same gunicorn configuration as Regista."""
    port = free_port("127.0.0.1")
    command = [sys.executable, "-m", "bench.bare_app", "--port", str(port), "--workers", str(workers)]
    return ServerProcess(command, dict(os.environ), log_path, "/", port)


def mlflow_stub(log_path: Path, workers: int = 2) -> ServerProcess:
    """The MLflow client's limit: fixed answers, no work, Regista's gunicorn settings."""
    port = free_port("127.0.0.1")
    command = [sys.executable, "-m", "bench.mlflow_stub", "--port", str(port), "--workers", str(workers)]
    return ServerProcess(command, dict(os.environ), log_path, "/api/2.0/mlflow/experiments/get", port)


def clearml_stub(log_path: Path, upstream: str, workers: int = 2) -> ServerProcess:
    """The ClearML SDK's reporting limit: events.add_batch answered at once, the rest handed to `upstream`."""
    port = free_port("127.0.0.1")
    command = [sys.executable, "-m", "bench.clearml_stub", "--port", str(port), "--upstream", upstream, "--workers", str(workers)]
    return ServerProcess(command, dict(os.environ), log_path, "/api/debug.ping", port)


def clearml_environment(url: str, home: Path) -> dict[str, str]:
    """The environment of a ClearML program (SDK or agent) talking to the server at `url` as the bench user."""
    return {
        **os.environ,
        "HOME": str(home),  # the SDK keeps its cache and configuration there
        "CLEARML_API_HOST": url,
        "CLEARML_WEB_HOST": url,
        "CLEARML_FILES_HOST": f"{url}/files",
        "CLEARML_API_ACCESS_KEY": BENCH_KEY,
        "CLEARML_API_SECRET_KEY": BENCH_SECRET,
    }


def mlflow_server(mlflow: Path, data_dir: Path, log_path: Path) -> ServerProcess:
    """MLflow's own tracking server, one worker, SQLite store: the baseline users run today."""
    port = free_port("127.0.0.1")
    data_dir.mkdir(parents=True, exist_ok=True)
    command = [
        str(mlflow), "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
        "--backend-store-uri", f"sqlite:///{data_dir / 'mlflow.db'}", "--default-artifact-root", str(data_dir / "artifacts"),
    ]  # fmt: skip
    return ServerProcess(command, dict(os.environ), log_path, "/health", port, ready_method="get")
