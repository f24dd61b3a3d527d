"""What a killed server can leave in its data folder: the embedded database's pid file, or the database.

After `kill -9` of a server (the OOM killer, a container runtime, a supervisor's cgroup kill) the
database process either stops by itself (it gets SIGTERM when its parent dies), or is killed too and
leaves its pid file behind, or lingers as a zombie nobody has reaped yet. nx-27017 refuses to start
while its pid file names a process that exists, so a restart at once would fail. These functions tell a
pid that is gone (or a zombie, or a recycled pid of another program) from a database of this folder that
still runs. Linux only: processes are inspected through /proc.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from pathlib import Path

log = logging.getLogger(__name__)


def read_pid(pid_file: Path) -> int | None:
    try:
        return int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return None


def is_database_of(pid: int, db_dir: Path) -> bool:
    """True when `pid` is a live (not zombie) nx-27017 process serving `db_dir`."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (OSError, IndexError):
        return False  # gone (or not ours to read)
    return state != "Z" and b"nx_27017.nx_27017" in argv and str(db_dir).encode() in argv


def parent_pid(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def wait_gone(pid: int, db_dir: Path, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while is_database_of(pid, db_dir):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


def stop(pid: int, db_dir: Path, grace_s: float) -> None:
    """Wait up to `grace_s` for the database to finish stopping, then SIGTERM it, then SIGKILL it."""
    for sig in (None, signal.SIGTERM, signal.SIGKILL):
        if sig is not None and is_database_of(pid, db_dir):
            log.warning("stopping the embedded database left running by an earlier server (pid %d, %s)", pid, sig.name)
            os.kill(pid, sig)
        if wait_gone(pid, db_dir, grace_s):
            return


def clear_pid_file(pid_file: Path, db_dir: Path, grace_s: float = 10.0) -> None:
    """Before starting the database, with the folder's lock held: make sure its pid file is no obstacle."""
    pid = read_pid(pid_file)
    if pid is not None and is_database_of(pid, db_dir):
        # It holds no lock (it would block ours) but still runs: it is closing down. Let it finish.
        stop(pid, db_dir, grace_s)
    if pid_file.exists():
        log.info("removed the pid file of an embedded database that is gone (pid %s)", pid)
        pid_file.unlink(missing_ok=True)


def stop_orphan(pid_file: Path, db_dir: Path, grace_s: float) -> None:
    """While the folder's lock is held by someone else: stop it if it is a database whose server died.

    A database started by a server (or `regista db serve`) is its child; once that parent is gone
    (re-parented to init or a subreaper, which are no Regista processes) nothing will use or stop it.
    """
    pid = read_pid(pid_file)
    if pid is None or not is_database_of(pid, db_dir):
        return
    parent = parent_pid(pid)
    try:
        parent_argv = Path(f"/proc/{parent}/cmdline").read_bytes()
    except OSError:
        parent_argv = b""
    if b"regista" not in parent_argv:
        stop(pid, db_dir, grace_s)
