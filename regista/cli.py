"""The `regista` command."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from regista import __version__, audit_commands, database_commands, gc_commands, transfer_commands, ui_commands
from regista.server.config import Config, ConfigError, default_schema_dir, load_config

DESCRIPTION = """\
Regista: a schema-first API server for ML experiment tracking, model management and task orchestration,
compatible with the ClearML SDK and the MLflow client.

Without a configured MongoDB (mongodb.uri), `serve` starts the embedded database (nx-27017) with its
files in embedded_db.data_dir (default ./data, from the working directory). Configuration: the defaults
that come with Regista, then --config PATH (a HOCON file or folder; or REGISTA_CONFIG=PATH), then
REGISTA__SECTION__KEY=value environment variables (e.g. REGISTA__SERVER__PORT=9000).
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="regista", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"regista {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the API server (gunicorn)", description="Run the API server.")
    serve.add_argument("--host", help="address to listen on (server.host, default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (server.port, default 8008)")
    serve.add_argument("--workers", type=int, help="worker processes (server.workers, default 2)")
    serve.add_argument("--config", metavar="PATH", help="HOCON file or folder merged over the defaults")

    database_commands.add_parsers(commands)
    ui_commands.add_parsers(commands)
    audit_commands.add_parsers(commands)
    gc_commands.add_parsers(commands)
    transfer_commands.add_parsers(commands)

    credentials = commands.add_parser("credentials", help="manage API key pairs", description="Manage API key pairs.")
    credentials_commands = credentials.add_subparsers(dest="credentials_command", required=True, metavar="SUBCOMMAND")
    create = credentials_commands.add_parser(
        "create",
        help="print a new key pair for a user",
        description="Create a key pair for user NAME of a company and print it (the secret is shown only "
        "now). The user is created, with --role, if the company has no user of that name. Works beside a "
        "running server (it shares its embedded database) or alone.",
    )
    create.add_argument("--user", required=True, metavar="NAME", help="user name")
    create.add_argument("--company", metavar="NAME", help="company name (default: auth.default_company)")
    create.add_argument("--role", default="user", choices=["admin", "user", "guest"], help="role of a new user")
    create.add_argument("--label", default="", help="label for the key pair")
    create.add_argument("--config", metavar="PATH", help="HOCON file or folder merged over the defaults")

    openapi = commands.add_parser(
        "openapi", help="print the OpenAPI 3.1 document of an API version",
        description="Print the OpenAPI 3.1 document generated from the schema for one API version.",
    )  # fmt: skip
    openapi.add_argument("--version", help="API version, e.g. 2.20 (default: the latest)")
    openapi.add_argument("--mlflow", action="store_true", help="the MLflow-compatible routes' document instead")
    openapi.add_argument("--dir", default=str(default_schema_dir()), help="schema folder (default: %(default)s)")

    schema = commands.add_parser("schema", help="schema tools", description="Schema tools.")
    schema_commands = schema.add_subparsers(dest="schema_command", required=True, metavar="SUBCOMMAND")
    check = schema_commands.add_parser(
        "check",
        help="validate a schema folder without starting a server",
        description="Load, check and compile every services/*.conf of a schema folder. "
        "Exit status 0 when it can be served, 1 with the list of problems otherwise.",
    )
    check.add_argument("dir", nargs="?", default=str(default_schema_dir()), help="schema folder (default: %(default)s)")
    diff = schema_commands.add_parser(
        "diff",
        help="list breaking and compatible changes between two schemas or two API versions",
        description="Compare schema folder OLD with NEW (what clients of every version of OLD would see "
        "change), or, with --from and --to, two API versions of OLD. Breaks a version acknowledges "
        "(`breaking:` or `removed:` in the schema) are listed as deliberate. Exit status 1 when anything "
        "else breaks.",
    )
    diff.add_argument("old", help="schema folder")
    diff.add_argument("new", nargs="?", help="schema folder to compare with (omit with --from/--to)")
    diff.add_argument("--from", dest="from_version", metavar="VERSION", help="older API version, e.g. 2.1")
    diff.add_argument("--to", dest="to_version", metavar="VERSION", help="newer API version, e.g. 2.13")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return _run(args)
    except BrokenPipeError:  # `regista schema diff ... | head`: the reader has all it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return 1
    except KeyboardInterrupt:  # Ctrl-C before the server runs (once it runs, it stops gracefully)
        print("regista: interrupted", file=sys.stderr)
        return 130


def _run(args: argparse.Namespace) -> int:
    if args.command in database_commands.COMMANDS:
        return database_commands.run(args, _config_or_none)
    if args.command == "ui":
        return ui_commands.run(args, _config_or_none)
    if args.command == "audit":
        return audit_commands.run(args, _config_or_none)
    if args.command == "gc":
        return gc_commands.run(args, _config_or_none)
    if args.command in ("import", "export"):
        return transfer_commands.run(args)
    if args.command == "schema" and args.schema_command == "diff":
        return schema_diff(args)
    if args.command == "schema":
        return schema_check(Path(args.dir))
    if args.command == "credentials":
        return create_credentials(args)
    if args.command == "openapi":
        return print_openapi(args)
    return run_serve(args)


def _config_or_none(path: str | None) -> Config | None:
    try:
        return load_config(path)
    except ConfigError as exc:
        print(f"regista: configuration error: {exc}", file=sys.stderr)
        return None


def create_credentials(args: argparse.Namespace) -> int:
    from regista.server.runtime import database_session
    from regista.services import document_classes
    from regista.services.auth.store import create_credentials as store_credentials
    from regista.services.auth.store import ensure_company, ensure_user
    from regista.services.audit.log import record_command

    config = _config_or_none(args.config)
    if config is None:
        return 2
    with database_session(config, document_classes()):
        company_id = ensure_company(args.company or str(config.get("auth.default_company")))
        user_id = ensure_user(company_id, args.user, args.role)
        pair = store_credentials(user_id, company_id, args.label)
        record_command("regista credentials create", company_id, {"user": args.user, "role": args.role, "label": args.label,
                                                                  "access_key": pair.access_key})  # fmt: skip
    print(f"access_key: {pair.access_key}")
    print(f"secret_key: {pair.secret_key}")
    print("The secret key is shown only now; store it safely.", file=sys.stderr)
    return 0


def print_openapi(args: argparse.Namespace) -> int:
    from regista.server.errors import ApiError
    from regista.server.docs import OpenApiResource
    from regista.server.envelope import dumps
    from regista.server.openapi_mlflow import build_mlflow_openapi
    from regista.server.schema import compiled
    from regista.server.schema.loader import SchemaError

    try:
        if args.mlflow:
            mlflow = compiled.build(Path(args.dir) / "mlflow", Path(args.dir) / "errors.conf")
            sys.stdout.write(dumps(build_mlflow_openapi(mlflow.api)).decode() + "\n")
            return 0
        schema = compiled.build(Path(args.dir))
        sys.stdout.write(OpenApiResource(schema.api, schema.catalogue).document(args.version).decode() + "\n")
    except SchemaError as exc:
        print(f"{args.dir}: {exc}", file=sys.stderr)
        return 1
    except ApiError as exc:
        print(f"regista: {exc.message}", file=sys.stderr)
        return 2
    return 0


def schema_diff(args: argparse.Namespace) -> int:
    from regista.server.schema import diff
    from regista.server.schema.loader import SchemaError, load_schema
    from regista.server.schema.model import parse_version

    try:
        old = load_schema(Path(args.old))
        if args.new:
            changes = diff.diff_schemas(old, load_schema(Path(args.new)))
        elif args.from_version and args.to_version:
            changes = diff.diff_between(old, parse_version(args.from_version), parse_version(args.to_version))
        else:
            print("regista: give NEW, or --from and --to", file=sys.stderr)
            return 2
    except SchemaError as exc:
        print(f"regista: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"regista: {exc}", file=sys.stderr)
        return 2
    groups = (
        ("breaking", [c for c in changes if c.breaking and not c.deliberate]),
        ("breaking, marked deliberate", [c for c in changes if c.deliberate]),
        ("compatible", [c for c in changes if not c.breaking]),
    )
    for title, group in groups:
        print(f"{title} ({len(group)}):")
        for change in group:
            print(f"  {change}")
    return 1 if groups[0][1] else 0


def schema_check(folder: Path) -> int:
    from regista.server.schema.loader import SchemaError, load_schema
    from regista.server.schema.validators import Validators

    try:
        api = load_schema(folder)
        Validators(api)
    except SchemaError as exc:
        print(f"{folder}: {exc}", file=sys.stderr)
        return 1
    versions = sum(len(e.versions) for e in api.endpoints.values())
    print(f"{folder}: OK, {len(api.services)} services, {len(api.endpoints)} endpoints, {versions} endpoint versions")
    return 0


def run_serve(args: argparse.Namespace) -> int:
    from regista.composition import service_parts
    from regista.server.embedded_db import EmbeddedDbError
    from regista.server.logs import configure_logging
    from regista.server.runtime import serve
    from regista.server.schema.loader import SchemaError

    config = _config_or_none(args.config)
    if config is None:
        return 2
    flags = {"server.host": args.host, "server.port": args.port, "server.workers": args.workers}
    config = config.with_overrides({key: value for key, value in flags.items() if value is not None})
    configure_logging(config)
    try:
        serve(config, service_parts())
    except ConfigError as exc:
        print(f"regista: configuration error: {exc}", file=sys.stderr)
        return 2
    except SchemaError as exc:
        print(f"regista: the schema cannot be served: {exc}", file=sys.stderr)
        return 1
    except EmbeddedDbError as exc:
        print(f"regista: the embedded database did not start: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
