"""`regista gc`: apply the retention policies and purge what was deleted (runs, experiments, logged
models, with their events and artifact files), from the command line, beside a running server or alone."""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from regista.server.config import Config

DESCRIPTION = """\
Free what is no longer wanted, in two steps:

1. Apply the retention policies (retention.set, or retention.policies in the configuration): each
   project's console lines and debug images older than its policy says are deleted, and its older
   metric points downsampled to what their summaries keep. What no policy names is kept.
2. Purge what was deleted, as `mlflow gc` does: deleted runs (a task archived in ClearML is a deleted
   run: one data model), deleted experiments (archived projects) with every run in them, and deleted
   logged models, each with its events and the artifact files Regista keeps for it. Restoring is no
   longer possible afterwards.

With --dry-run nothing is deleted, and the report says what would be. The server applies the policies
by itself every retention.interval_sec; purging happens only here.
"""

UNITS = {"d": "days", "h": "hours", "m": "minutes", "s": "seconds"}


def add_parsers(commands: Any) -> None:
    gc = commands.add_parser("gc", help="apply retention policies and purge deleted runs, experiments and models",
                             description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    gc.add_argument("--dry-run", action="store_true", help="delete nothing; report what would be deleted")
    gc.add_argument("--older-than", metavar="AGE", type=_age,
                    help="purge only what was deleted at least this long ago: 30d, 12h, 1d2h30m (default: any age)")  # fmt: skip
    gc.add_argument("--run-ids", metavar="IDS", type=_ids, default=[], help="purge only these deleted runs (comma-separated)")
    gc.add_argument("--experiment-ids", metavar="IDS", type=_ids, default=[],
                    help="purge only these deleted experiments and their runs (comma-separated)")  # fmt: skip
    gc.add_argument("--no-policies", action="store_true", help="skip step 1 (the retention policies)")
    gc.add_argument("--no-purge", action="store_true", help="skip step 2 (the purge of deleted records)")
    gc.add_argument("--json", action="store_true", help="the report as one JSON object")
    gc.add_argument("--config", metavar="PATH", help="HOCON file or folder merged over the defaults")


def run(args: argparse.Namespace, load: Callable[[str | None], Config | None]) -> int:
    from regista.server.errors import ApiError
    from regista.server.runtime import database_session
    from regista.services import document_classes
    from regista.services.retention import passes, purge

    config = load(args.config)
    if config is None:
        return 2
    report: dict[str, Any] = {"dry_run": args.dry_run}
    with database_session(config, document_classes()):
        if not args.no_policies:
            report["retention"] = passes.apply(config, dry_run=args.dry_run).as_dict()
        if not args.no_purge:
            try:
                purged = purge.purge(config, args.older_than, args.run_ids, args.experiment_ids, args.dry_run)
            except ApiError as exc:
                print(f"regista gc: {exc.message}", file=sys.stderr)
                return 2
            report["purged"] = purged.as_dict()
    print(json.dumps(report, sort_keys=True) if args.json else _text(report))
    return 0


def _text(report: dict[str, Any]) -> str:
    verb = "would delete" if report["dry_run"] else "deleted"
    lines = []
    if "retention" in report:
        kept = report["retention"]
        lines.append(f"retention policies of {kept['projects']} projects: {verb} {kept['console_events']} console lines, "
                     f"{kept['debug_image_events']} debug images, {kept['metric_points']} metric points (downsampled) "
                     f"and {kept['traces']} traces")  # fmt: skip
    if "purged" in report:
        gone = report["purged"]
        lines.append(f"purge: {verb} {len(gone['runs'])} runs, {len(gone['experiments'])} experiments, "
                     f"{len(gone['logged_models'])} logged models"
                     + ("" if report["dry_run"] else f", {gone['events']} events") + f", {gone['traces']} traces"
                     + f"; {_size(gone['artifact_bytes'])} of artifact files in {gone['artifact_folders']} folders")  # fmt: skip
        for kind in ("runs", "experiments", "logged_models"):
            if gone[kind]:
                lines.append(f"  {kind.replace('_', ' ')}: {', '.join(gone[kind])}")
    return "\n".join(lines)


def _size(count: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if count < 1024 or unit == "GiB":
            return f"{count} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return str(count)


def _age(text: str) -> timedelta:
    parts = re.fullmatch(r"(?:\d+[dhms])+", text.strip())
    if not parts:
        raise argparse.ArgumentTypeError(f"not an age: {text!r} (examples: 30d, 12h, 1d2h30m)")
    total = timedelta()
    for number, unit in re.findall(r"(\d+)([dhms])", text):
        total += timedelta(**{UNITS[unit]: int(number)})
    return total


def _ids(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]
