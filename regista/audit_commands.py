"""`regista audit`: the audit log read from the command line (the database of the configuration, shared
with a running server), filtered by user, action and time."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from regista.server.config import Config

DESCRIPTION = """\
Print the audit log, newest first: every change to users, credentials, roles and companies, and every
deletion of a project, experiment, run, model or dataset, with who made it, when (UTC) and from which
address. Works beside a running server (it shares its embedded database) or alone.
"""


def add_parsers(commands: Any) -> None:
    audit = commands.add_parser("audit", help="print the audit log", description=DESCRIPTION,
                                formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    audit.add_argument("--user", metavar="USER", help="only changes made by this user (id or name)")
    audit.add_argument("--action", metavar="ENDPOINT", help="only this endpoint (users.delete), or every one starting "
                       "with a prefix ending in '.' (users., mlflow.)")  # fmt: skip
    audit.add_argument("--company", metavar="NAME", help="only this company (default: every company)")
    audit.add_argument("--since", metavar="TIME", type=_time, help="only at or after this ISO 8601 time (UTC unless it says)")
    audit.add_argument("--until", metavar="TIME", type=_time, help="only before this ISO 8601 time")
    audit.add_argument("--limit", type=int, default=100, help="at most this many events (default: %(default)s)")
    audit.add_argument("--json", action="store_true", help="one JSON object a line instead of text")
    audit.add_argument("--config", metavar="PATH", help="HOCON file or folder merged over the defaults")


def run(args: argparse.Namespace, load: Callable[[str | None], Config | None]) -> int:
    from regista.server.runtime import database_session
    from regista.services import document_classes
    from regista.services.audit.log import events
    from regista.services.auth.documents import Company

    config = load(args.config)
    if config is None:
        return 2
    with database_session(config, document_classes()):
        companies = {raw["_id"]: raw["name"] for raw in Company._get_collection().find({}, {"name": 1})}
        company = None
        if args.company:
            company = next((key for key, name in companies.items() if name == args.company), None)
            if company is None:
                print(f"regista: no company named {args.company!r}", file=sys.stderr)
                return 2
        found = events(company, args.user, args.action, args.since, args.until, 0, max(args.limit, 0))
    for event in found:
        event["company_name"] = companies.get(event["company"], "")
        if args.json:
            print(json.dumps({**event, "time": event["time"].isoformat() + "Z"}, sort_keys=True))
        else:
            who = event.get("user_name") or event.get("user") or "?"
            place = f" from {event['address']}" if event.get("address") else ""
            print(f"{event['time'].isoformat(timespec='seconds')}Z {event['company_name'] or event['company']} {who}{place} "
                  f"{event['endpoint']} {json.dumps(event.get('request') or {}, sort_keys=True)}")  # fmt: skip
    return 0


def _time(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r}") from None
    return value.astimezone(timezone.utc).replace(tzinfo=None) if value.tzinfo else value
