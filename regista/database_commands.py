"""`regista db serve`, `regista backup` and `regista restore`: the embedded database on its own."""

from __future__ import annotations

import argparse
import logging
import signal
import socket
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

COMMANDS = ("db", "backup", "restore")
DB_SERVE_PORT = 27017  # MongoDB's own: the URI printed is one that clients would guess

log = logging.getLogger("regista.db")


def add_parsers(commands: Any) -> None:
    database = commands.add_parser(
        "db", help="run the embedded database on its own", description="The embedded database (nx-27017)."
    )
    database_commands = database.add_subparsers(dest="db_command", required=True, metavar="SUBCOMMAND")
    serve = database_commands.add_parser(
        "serve",
        help="serve the embedded database for several API nodes",
        description="Run the embedded database alone, for several `regista serve` processes (on this machine "
        "or others) sharing one database: it prints the mongodb:// URI to set as their mongodb.uri "
        "(REGISTA__MONGODB__URI=...). It has no authentication: listen on a network only the API nodes "
        "reach. Stops cleanly on Ctrl-C or SIGTERM.",
    )
    serve.add_argument("--host", help="address to listen on (embedded_db.host, default 127.0.0.1)")
    serve.add_argument("--port", type=int, help=f"port to listen on (default {DB_SERVE_PORT}; 0 picks a free one)")
    _folder_arguments(serve)

    backup = commands.add_parser(
        "backup",
        help="copy the embedded database, also while it serves",
        description="Write a consistent copy of the embedded database of the data folder into the new folder "
        "PATH (SQLite's online backup: every write acknowledged before the backup started is in it). "
        "Works while a server uses the database. For a real MongoDB use mongodump.",
    )
    backup.add_argument("path", metavar="PATH", help="new folder for the copy")
    _folder_arguments(backup)

    restore = commands.add_parser(
        "restore",
        help="put a backup back into a stopped server's data folder",
        description="Replace the embedded database of the data folder with the backup in PATH. The server "
        "(and any `regista db serve`) on that folder must be stopped. The database it replaces is kept "
        "beside it as db.before-restore-<time>.",
    )
    restore.add_argument("path", metavar="PATH", help="folder written by `regista backup`")
    _folder_arguments(restore)


def _folder_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", metavar="D", help="data folder (embedded_db.data_dir, default ./data)")
    parser.add_argument("--config", metavar="PATH", help="HOCON file or folder merged over the defaults")


def run(args: argparse.Namespace, load_config: Callable[[str | None], Any]) -> int:
    config = load_config(args.config)
    if config is None:
        return 2
    if args.command == "db":
        return serve_database(args, config)
    from regista.server.backup import BackupError, backup, restore

    if config.get("mongodb.uri"):
        print("regista: mongodb.uri is set: back up a real MongoDB with mongodump/mongorestore", file=sys.stderr)
        return 2
    data_dir = Path(args.data_dir or config.get("embedded_db.data_dir"))
    try:
        if args.command == "backup":
            summary = backup(data_dir, Path(args.path))
            print(f"backed up {data_dir} into {summary.path}: {_sizes(summary.files)}")
        else:
            summary = restore(Path(args.path), data_dir)
            print(f"restored {args.path} into {summary.path}: {_sizes(summary.files)}")
    except BackupError as exc:
        print(f"regista: {exc}", file=sys.stderr)
        return 1
    return 0


def _sizes(files: dict[str, int]) -> str:
    return ", ".join(f"{name} ({size:,} bytes)" for name, size in files.items())


def serve_database(args: argparse.Namespace, config: Any) -> int:
    from regista.server.embedded_db import EmbeddedDatabase, EmbeddedDbError
    from regista.server.logs import configure_logging

    configure_logging(config)
    port = args.port if args.port is not None else DB_SERVE_PORT
    database = EmbeddedDatabase.from_config(config, data_dir=args.data_dir, host=args.host, port=port)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    try:
        uri = database.start(float(config.get("embedded_db.start_timeout_s")))
    except EmbeddedDbError as exc:
        print(f"regista: the embedded database did not start: {exc}", file=sys.stderr)
        return 1
    try:
        shown = uri.replace(f"//{database.host}:", f"//{socket.gethostname()}:") if database.host in ("0.0.0.0", "::") else uri
        print(shown, flush=True)  # the one line on standard output: scripts read it
        log.info("embedded database serving %s for API nodes: set mongodb.uri (REGISTA__MONGODB__URI) to it", shown)
        while not stop.wait(0.5):
            if database.has_died():
                log.error("the embedded database exited; see %s/nx-27017.stderr", database.data_dir)
                return 1
    finally:
        database.stop()
    log.info("embedded database stopped")
    return 0
