"""The embedded database: nx-27017 (a MongoDB wire-protocol server on SQLite) run as a subprocess.

One instance per server (started by the gunicorn master, never by workers) on a loopback port, with its
files in a data folder that a lock file reserves for it. The app reaches it through pymongo exactly as it
reaches a real MongoDB.
"""

from __future__ import annotations

import ctypes
import fcntl
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

import pymongo
from pymongo.errors import PyMongoError

from regista.server import embedded_leftovers as leftover

log = logging.getLogger(__name__)

# Regista works around this release's known gaps (README, "Embedded database"): other releases may differ.
PINNED_VERSION = "0.8.1"
_PR_SET_PDEATHSIG = 1
URI_FILE = "nx-27017.uri"
PID_FILE = "nx-27017.pid"
LOCK_FILE = "regista.lock"  # held by the server (or `regista db serve`) and its database process


class EmbeddedDbError(Exception):
    pass


def running_uri(data_dir: str | os.PathLike) -> str | None:
    """The URI of the embedded database a running server holds on `data_dir`; None if none runs."""
    folder = Path(data_dir).resolve()
    try:
        with open(folder / LOCK_FILE, "a") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                uri_file = folder / URI_FILE
                return uri_file.read_text().strip() if uri_file.exists() else None
            fcntl.flock(lock, fcntl.LOCK_UN)
            return None
    except FileNotFoundError:
        return None


def free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    # If the Regista master is killed outright, the database must not linger holding the data folder.
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass


class EmbeddedDatabase:
    def __init__(self, data_dir: str | os.PathLike, host: str = "127.0.0.1", port: int = 0, database: str = "regista"):
        self.data_dir = Path(data_dir).resolve()
        self.host = host
        self.port = port
        self.database = database
        self._process: subprocess.Popen | None = None
        self._lock_file = None

    @classmethod
    def from_config(cls, config: Any, **overrides: Any) -> "EmbeddedDatabase":
        """The embedded database as embedded_db.* configures it (`overrides` win: the CLI's flags)."""
        settings = {
            "data_dir": config.get("embedded_db.data_dir"),
            "host": config.get("embedded_db.host"),
            "port": int(config.get("embedded_db.port")),
            "database": config.get("embedded_db.database"),
        }
        settings.update({key: value for key, value in overrides.items() if value is not None})
        return cls(**settings)

    @property
    def uri(self) -> str:
        return f"mongodb://{self.host}:{self.port}/{self.database}"

    def start(self, timeout_s: float = 30.0, lock_timeout_s: float = 10.0) -> str:
        """Start the server, wait until it answers, and return its URI.

        The data folder's lock is waited for up to `lock_timeout_s`: after a crash the previous
        database process may still be finishing its shutdown.
        """
        installed = metadata.version("nx-27017")
        if installed != PINNED_VERSION:
            raise EmbeddedDbError(f"nx-27017 {installed} is installed, Regista needs {PINNED_VERSION}")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._lock(lock_timeout_s)
        # The lock proves that no server uses the folder; a pid file left by a database that was killed
        # with its server would make nx-27017 refuse to start ("already running").
        leftover.clear_pid_file(self.data_dir / PID_FILE, self.data_dir / "db")
        if not self.port:
            self.port = free_port(self.host)
        command = [
            sys.executable, "-m", "nx_27017.nx_27017",
            "--data-dir", str(self.data_dir / "db"),
            "--host", self.host,
            "--port", str(self.port),
            "--log-file", str(self.data_dir / "nx-27017.log"),
            "--pid-file", str(self.data_dir / PID_FILE),
        ]  # fmt: skip
        (self.data_dir / "db").mkdir(exist_ok=True)
        self._process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=open(self.data_dir / "nx-27017.stderr", "ab"),
            preexec_fn=_die_with_parent,
            # Its own session: a terminal's Ctrl-C (SIGINT to the foreground process group) must not stop
            # the database under workers still finishing their calls; the master stops it last.
            start_new_session=True,
            # The database process holds the folder's lock too, so that no new server starts on the
            # folder until this database process is really gone.
            pass_fds=(self._lock_file.fileno(),),
        )
        self._wait_until_up(timeout_s)
        (self.data_dir / URI_FILE).write_text(self.uri)  # for `regista credentials` beside a running server
        log.info("embedded database nx-27017 %s on %s, data in %s", installed, self.uri, self.data_dir)
        return self.uri

    def stop(self, timeout_s: float = 10.0) -> None:
        process, self._process = self._process, None
        if process is not None:
            (self.data_dir / URI_FILE).unlink(missing_ok=True)
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None

    def close_inherited_lock(self) -> None:
        """In a forked worker: drop the copy of the lock descriptor, so only master and database hold it.

        The worker forgets the database process too: a worker leaving (recycled by max_requests, or
        orphaned) unwinds through `serve`, whose stop() must not remove the running database's URI file.
        """
        self._process = None
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None

    def has_died(self) -> bool:
        """True once the database process has exited without stop() being called."""
        process = self._process
        # stop() forgets the process before ending it: a process ended by stop() has not died.
        return process is not None and process.poll() is not None and self._process is process

    def _lock(self, timeout_s: float) -> None:
        self._lock_file = open(self.data_dir / LOCK_FILE, "w")
        started = time.monotonic()
        deadline = started + timeout_s
        while True:
            try:
                fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() - started > timeout_s / 2:
                    # Still held: by a database whose server is gone (it should have stopped with it)?
                    leftover.stop_orphan(self.data_dir / PID_FILE, self.data_dir / "db", timeout_s / 2)
                if time.monotonic() >= deadline:
                    self._lock_file.close()
                    self._lock_file = None
                    raise EmbeddedDbError(f"data folder {self.data_dir} is in use by another Regista server") from None
                time.sleep(0.1)

    def _wait_until_up(self, timeout_s: float) -> None:
        # The port is polled every few ms before pymongo is asked: a client made while nothing listens
        # fails its server selection and its monitor only tries again half a second later (start-up took
        # 0.6 s that way, for a database that listens after 0.15 s).
        deadline = time.monotonic() + timeout_s
        while True:
            if self._process.poll() is not None:
                raise EmbeddedDbError(
                    f"nx-27017 exited with status {self._process.returncode}; see {self.data_dir}/nx-27017.stderr"
                )
            try:
                socket.create_connection((self.host, self.port), timeout=0.2).close()
                client = pymongo.MongoClient(self.host, self.port, serverSelectionTimeoutMS=1000)
                try:
                    client.admin.command("ping")
                    return
                finally:
                    client.close()
            except (OSError, PyMongoError):
                if time.monotonic() > deadline:
                    self.stop()
                    raise EmbeddedDbError(f"nx-27017 did not answer on {self.host}:{self.port} in {timeout_s}s")
                time.sleep(0.01)

    def __enter__(self) -> "EmbeddedDatabase":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
