"""`regista import mlflow`, `regista import clearml` and `regista export mlflow`: a whole MLflow tracking server
or ClearML server copied into Regista, or Regista's MLflow view copied into an MLflow server, over their
APIs (client/transfer)."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import datetime, timezone
from typing import Any

IMPORT_DESCRIPTION = """\
Copy a running MLflow tracking server into a running Regista, over their APIs: experiments (names, tags,
lifecycle), runs (name, status, times, params, tags, every point of every metric, parents, dataset
inputs, deleted runs as deleted), their artifact files byte for byte, logged models with their files,
traces with their spans and assessments, evaluation datasets with their records, and the model
registry (models and prompts with their tags and aliases, every version with its tags, stage, source,
run and logged model).

Run it again at any time: what was copied before is found by the tag regista.imported_from and left
alone, what is new is added, and an interrupted copy continues where it stopped.

Credentials: the MLflow server's from MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD or
MLFLOW_TRACKING_TOKEN; Regista's key pair from --access-key / --secret-key or REGISTA_ACCESS_KEY /
REGISTA_SECRET_KEY (everything lands in that key's company).

Exit status: 0 when everything was copied, 1 when something was not (listed at the end), 2 when a
server cannot be used (unreachable, credentials refused).
"""

CLEARML_DESCRIPTION = """\
Copy a running ClearML server (or another Regista) into a running Regista, over ClearML's API: projects
with their hierarchy, queues, tasks with every field (hyperparameters, configuration, script, execution,
container, runtime, models, status and times, parents), their scalars, console lines, plots and debug
images, reports, datasets (tasks too), models, and every file these point at on the source's files
server, copied to Regista's and the addresses rewritten. Ids are kept: a script that asks for a task
or model by id finds it in Regista.

Run it again at any time: what was copied before is found and left alone, what is new is added, and a
task whose copy was interrupted is copied again. Tasks queued or running on the source arrive as drafts
and stopped tasks: nothing runs them here. Everything is owned by the user of Regista's key pair.

Credentials: the ClearML server's key pair from CLEARML_API_ACCESS_KEY / CLEARML_API_SECRET_KEY;
Regista's from --access-key / --secret-key or REGISTA_ACCESS_KEY / REGISTA_SECRET_KEY (everything lands
in that key's company).

Exit status: 0 when everything was copied, 1 when something was not (listed at the end), 2 when a
server cannot be used (unreachable, credentials refused).
"""

EXPORT_DESCRIPTION = """\
Copy Regista's MLflow view (experiments, runs with their metrics, params, tags and artifacts, logged
models, traces, evaluation datasets, the model registry and prompts) into a running MLflow tracking server: the way back, so that nobody is locked in. The same
rules as `regista import mlflow`, the other way round: Regista's key pair from --access-key /
--secret-key or REGISTA_ACCESS_KEY / REGISTA_SECRET_KEY, the MLflow server's credentials from
MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD or MLFLOW_TRACKING_TOKEN.
"""


TARGET_API_VERSION = "2.34"  # Regista's tasks.import and models.import


def add_parsers(commands: Any) -> None:
    for verb, description, source, target in (
        ("import", IMPORT_DESCRIPTION, "the MLflow server", "Regista"),
        ("export", EXPORT_DESCRIPTION, "Regista", "the MLflow server"),
    ):
        summary = "copy an MLflow or ClearML server into Regista" if verb == "import" else f"copy {source} into {target}"
        command = commands.add_parser(verb, help=summary, description=f"{verb.capitalize()} tracking data: {summary}.")
        kinds = command.add_subparsers(dest="transfer_kind", required=True, metavar="KIND")
        mlflow = kinds.add_parser("mlflow", help=f"copy {source} into {target} (MLflow's API on both sides)", description=description,
                                  formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
        mlflow.add_argument("--from", dest="source", required=True, metavar="URL", help=f"address of {source}")
        mlflow.add_argument("--to", dest="target", required=True, metavar="URL", help=f"address of {target}")
        mlflow.add_argument("--access-key", help="Regista access key (default: $REGISTA_ACCESS_KEY)")
        mlflow.add_argument("--secret-key", help="Regista secret key (default: $REGISTA_SECRET_KEY)")
        mlflow.add_argument("--experiment", action="append", default=[], metavar="NAME_OR_ID",
                            help="copy only this experiment (repeatable; default: all)")  # fmt: skip
        mlflow.add_argument("--since", type=_date, metavar="DATE", help="copy only runs started at or after DATE (ISO 8601, e.g. 2026-01-31)")
        mlflow.add_argument("--no-registry", action="store_true", help="leave the model registry out")
        mlflow.add_argument("--workers", type=int, default=4, metavar="N", help="runs copied at once (default: %(default)s)")
        mlflow.add_argument("--dry-run", action="store_true", help="write nothing; report what would be copied")
        if verb == "import":
            _add_clearml_parser(kinds)


def _add_clearml_parser(kinds: Any) -> None:
    clearml = kinds.add_parser("clearml", help="copy a ClearML server into Regista (ClearML's API on both sides)",
                               description=CLEARML_DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    clearml.add_argument("--from", dest="source", required=True, metavar="URL", help="address of the ClearML server's API (e.g. http://clearml:8008)")
    clearml.add_argument("--to", dest="target", required=True, metavar="URL", help="address of Regista")
    clearml.add_argument("--files", metavar="URL", help="address of the source's files server (default: port 8081 for an API on 8008, "
                         "files.<domain> for api.<domain>, else <--from>/files)")  # fmt: skip
    clearml.add_argument("--access-key", help="Regista access key (default: $REGISTA_ACCESS_KEY)")
    clearml.add_argument("--secret-key", help="Regista secret key (default: $REGISTA_SECRET_KEY)")
    clearml.add_argument("--project", action="append", default=[], metavar="NAME",
                         help="copy only this project and its subprojects (repeatable; default: all)")  # fmt: skip
    clearml.add_argument("--since", type=_date, metavar="DATE", help="copy only tasks and models created at or after DATE (ISO 8601)")
    clearml.add_argument("--workers", type=int, default=4, metavar="N", help="tasks copied at once (default: %(default)s)")
    clearml.add_argument("--dry-run", action="store_true", help="write nothing; report the projects, queues, tasks, models and files that would be copied")


def run(args: argparse.Namespace) -> int:
    from regista.client.transfer.progress import Progress
    from regista.client.transfer.rest import Unreachable

    regista_auth = (args.access_key or os.environ.get("REGISTA_ACCESS_KEY", ""), args.secret_key or os.environ.get("REGISTA_SECRET_KEY", ""))
    if not all(regista_auth):
        print("regista: Regista's key pair is needed: --access-key and --secret-key, or REGISTA_ACCESS_KEY and "
              "REGISTA_SECRET_KEY", file=sys.stderr)  # fmt: skip
        return 2
    progress = Progress(dry_run=args.dry_run)
    try:
        if args.transfer_kind == "clearml":
            _copy_clearml(args, regista_auth, progress)
        else:
            _copy_mlflow(args, regista_auth, progress)
    except Unreachable as error:
        print(progress.summary(), file=sys.stderr)
        print(f"regista: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(progress.summary(), file=sys.stderr)
        print("regista: interrupted; run the same command again to continue", file=sys.stderr)
        return 1
    print(progress.summary())
    return 1 if progress.failures else 0


def _copy_clearml(args: argparse.Namespace, regista_auth: tuple[str, str], progress: Any) -> None:
    from regista.client.transfer.clearml_copy import Options, copy_clearml
    from regista.client.transfer.clearml_rest import ClearmlRest, default_files_url
    from regista.client.transfer.rest import Unreachable

    keys = (os.environ.get("CLEARML_API_ACCESS_KEY", ""), os.environ.get("CLEARML_API_SECRET_KEY", ""))
    if not all(keys):
        raise Unreachable("the ClearML server's key pair is needed: CLEARML_API_ACCESS_KEY and CLEARML_API_SECRET_KEY")
    source = ClearmlRest(args.source, keys, "the ClearML server", args.files or default_files_url(args.source))
    target = ClearmlRest(args.target, regista_auth, "Regista", default_files_url(args.target), version=TARGET_API_VERSION)
    options = Options(projects=args.project, since=args.since, dry_run=args.dry_run, workers=args.workers)
    copy_clearml(source, target, options, progress)


def _copy_mlflow(args: argparse.Namespace, regista_auth: tuple[str, str], progress: Any) -> None:
    from regista.client.transfer.mlflow_copy import Options, copy_mlflow
    from regista.client.transfer.rest import MlflowRest

    mlflow_auth = _mlflow_auth()
    if args.command == "import":
        source, target = MlflowRest(args.source, mlflow_auth, "the MLflow server"), MlflowRest(args.target, regista_auth, "Regista")
    else:
        source, target = MlflowRest(args.source, regista_auth, "Regista"), MlflowRest(args.target, mlflow_auth, "the MLflow server")
    options = Options(experiments=args.experiment, since=args.since, dry_run=args.dry_run, workers=args.workers, registry=not args.no_registry)
    copy_mlflow(source, target, options, progress)


def _mlflow_auth() -> tuple[str, str] | str | None:
    user, password = os.environ.get("MLFLOW_TRACKING_USERNAME"), os.environ.get("MLFLOW_TRACKING_PASSWORD")
    if user and password:
        return user, password
    return os.environ.get("MLFLOW_TRACKING_TOKEN") or None


def _date(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 date: {text!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
