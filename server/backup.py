"""Backup and restore of the embedded database: its SQLite files, copied with SQLite's online backup.

A backup runs beside a serving database: SQLite's backup API copies the database as of one read
transaction, so every write the database acknowledged before the backup started is in the copy (and
none is half in it), while writes go on. A restore needs the data folder free (no server, no `regista db
serve`): the folder's lock proves it. The database files it replaces are kept aside, never deleted.
"""

from __future__ import annotations

import fcntl
import json
import shutil
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from regista import __version__
from regista.server import embedded_leftovers
from regista.server.embedded_db import LOCK_FILE, PID_FILE

MANIFEST = "regista-backup.json"


class BackupError(Exception):
    pass


@dataclass(frozen=True)
class BackupSummary:
    path: Path
    files: dict[str, int]  # database file name -> bytes


def database_folder(data_dir: Path) -> Path:
    return Path(data_dir).resolve() / "db"


def backup(data_dir: Path, target: Path) -> BackupSummary:
    """Copy every database file of `data_dir` into the new folder `target` (written whole, or not at all)."""
    sources = sorted(database_folder(data_dir).glob("*.db"))
    if not sources:
        raise BackupError(f"{database_folder(data_dir)} holds no embedded database")
    target = Path(target).resolve()
    if target.exists() and any(target.iterdir()):
        raise BackupError(f"{target} exists and is not empty: give a new folder")
    partial = target.with_name(f".{target.name}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    files = {}
    try:
        for source in sources:
            copy = partial / source.name
            _copy_online(source, copy)
            files[source.name] = copy.stat().st_size
        manifest = {"regista": __version__, "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "files": files}
        (partial / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        if target.exists():
            target.rmdir()  # the empty folder the caller may have made
        partial.rename(target)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return BackupSummary(target, files)


def _copy_online(source: Path, copy: Path) -> None:
    try:
        with sqlite3.connect(source, timeout=30) as src, sqlite3.connect(copy) as dst:
            src.backup(dst)  # all pages in one step: one consistent snapshot
            dst.execute("PRAGMA journal_mode=DELETE")  # a self-contained file, no -wal beside it
        _check(copy)
    except sqlite3.Error as exc:
        raise BackupError(f"{source}: {exc}") from exc


def _check(path: Path) -> None:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as connection:
        result = connection.execute("PRAGMA integrity_check").fetchone()[0]
    if result != "ok":
        raise BackupError(f"{path} fails SQLite's integrity check: {result}")


def restore(source: Path, data_dir: Path) -> BackupSummary:
    """Put the backup in `source` back as the database of `data_dir`, which no server may be using."""
    source = Path(source).resolve()
    try:
        files = json.loads((source / MANIFEST).read_text())["files"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise BackupError(f"{source} is not a Regista backup (no readable {MANIFEST})") from exc
    if not isinstance(files, dict) or not all(isinstance(n, str) and n == Path(n).name and n.endswith(".db") for n in files):
        raise BackupError(f"{source / MANIFEST} lists files that are not database files of one folder")
    try:
        for name in files:
            _check(source / name)
    except sqlite3.Error as exc:
        raise BackupError(f"{source}: {exc}") from exc
    data_dir = Path(data_dir).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    with open(data_dir / LOCK_FILE, "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BackupError(f"{data_dir} is in use by a running server or database: stop it first") from None
        embedded_leftovers.clear_pid_file(data_dir / PID_FILE, database_folder(data_dir))
        current = database_folder(data_dir)
        if current.exists():
            kept = current.with_name(f"db.before-restore-{time.strftime('%Y%m%dT%H%M%S')}")
            current.rename(kept)  # never thrown away: the operator deletes it once the restore is checked
        staging = current.with_name(".db.restoring")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir()
        for name in files:
            shutil.copy2(source / name, staging / name)
        staging.rename(current)
    return BackupSummary(current, {name: (current / name).stat().st_size for name in files})
