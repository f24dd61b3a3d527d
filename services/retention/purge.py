"""Purging what was deleted, as `mlflow gc` does: deleted runs (archived tasks: one data model), deleted
experiments (archived projects) with every run in them, deleted logged models, each with its events and
its artifact files kept by Regista.

Files are removed only from Regista's own artifact store, and only a folder named after what is purged
(a run's artifact root holds its run id, an experiment's its id, a logged model's its id), so a root a
client pointed elsewhere (`mlflow-artifacts:/`, s3://...) is never emptied by mistake: its files stay
and are not counted. Each purge is recorded in the company's audit log.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import Any

from regista.server.auth import SYSTEM_ROLE, Identity
from regista.server.call import Call, ServerContext
from regista.server.config import Config
from regista.server.errors import ApiError
from regista.services.artifacts import store
from regista.services.audit.log import record_command
from regista.services.common.values import utcnow
from regista.services.mlflow import run_records, shapes, uris
from regista.services.mlflow.documents import LoggedModel
from regista.services.mlflow import traces
from regista.services.projects.documents import Project
from regista.services.tasks.cleanup import delete_task
from regista.services.tasks.documents import Task

ARCHIVED = shapes.ARCHIVED


@dataclass
class Purged:
    dry_run: bool = False
    runs: list[str] = field(default_factory=list)
    experiments: list[str] = field(default_factory=list)
    logged_models: list[str] = field(default_factory=list)
    events: int = 0  # events deleted with the runs (not counted in a dry run)
    traces: int = 0  # MLflow traces deleted with the experiments (counted in a dry run too)
    artifact_bytes: int = 0  # bytes of the artifact files removed (or that would be)
    artifact_folders: int = 0
    _counted: list[Path] = field(default_factory=list, repr=False)  # folders removed (or that would be)

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if not k.startswith("_")}


def purge(
    config: Config, older_than: timedelta | None = None, run_ids: Iterable[str] = (), experiment_ids: Iterable[str] = (),
    dry_run: bool = False,
) -> Purged:  # fmt: skip
    """Purge what was deleted at least `older_than` ago (None: whatever its age); only the runs and
    experiments named, when some are (each must be deleted, or nothing is purged)."""
    cutoff = utcnow() - older_than if older_than else None
    run_ids, experiment_ids = list(dict.fromkeys(run_ids)), list(dict.fromkeys(experiment_ids))
    experiments = _deleted(Project, experiment_ids, "experiment", cutoff)
    named_only = bool(run_ids or experiment_ids)
    runs = _deleted(Task, run_ids, "run", cutoff) if run_ids or not named_only else []
    in_experiments = list(Task._get_collection().find({"project": {"$in": [e["_id"] for e in experiments]}})) if experiments else []
    runs = list({raw["_id"]: raw for raw in [*runs, *in_experiments]}.values())
    models = [] if named_only else _deleted_logged_models(cutoff)
    result = Purged(dry_run=dry_run)
    artifacts = Path(str(config.get("artifacts.root")))
    for company, held in _by_company(runs, experiments, models).items():
        call = _system_call(config, company)
        root = store.company_root(artifacts, company)
        for raw in held["experiments"]:  # first: a run's folder is often inside its experiment's
            _remove(_own_folder(root, shapes.artifact_location(raw), raw["_id"]), result, dry_run)
        for raw in held["runs"]:
            folder = _own_folder(root, _run_artifact_uri(raw), raw["_id"])
            if not dry_run:
                result.events += int(delete_task(call, raw["_id"], {"force": True}).get("events") or 0)
            result.runs.append(raw["_id"])
            _remove(folder, result, dry_run)
        for raw in held["experiments"]:
            result.traces += traces.expire(company, raw["_id"], None, dry_run)
            if not dry_run:
                Project._get_collection().delete_one({"_id": raw["_id"], "company": company})
            result.experiments.append(raw["_id"])
        for raw in held["logged_models"]:
            _remove(_own_folder(root, raw.get("artifact_location") or "", raw["_id"]), result, dry_run)
            if not dry_run:
                LoggedModel._get_collection().delete_one({"_id": raw["_id"], "company": company})
            result.logged_models.append(raw["_id"])
        if not dry_run:
            counts = {kind: len(found) for kind, found in held.items()}
            record_command("regista gc", company, {"purged": counts})
    return result


def _deleted(document: Any, ids: list[str], what: str, cutoff: datetime | None) -> list[dict[str, Any]]:
    """The archived (deleted) runs or experiments, of `ids` if any are given (then each must be one)."""
    query: dict[str, Any] = {"system_tags": ARCHIVED}
    if ids:
        query["_id"] = {"$in": ids}
    found = [raw for raw in document._get_collection().find(query) if _old_enough(raw.get("last_update"), cutoff)]
    missing = sorted(set(ids) - {raw["_id"] for raw in found})
    if missing:
        raise ApiError("invalid_parameter_value", f"not deleted{' long enough' if cutoff else ''}, or no such {what}: {', '.join(missing)}")
    return found


def _deleted_logged_models(cutoff: datetime | None) -> list[dict[str, Any]]:
    # Filtered here, not in the query: the embedded database compares datetimes wrongly in a range.
    return [raw for raw in LoggedModel._get_collection().find({"deleted": {"$ne": None}}) if raw.get("deleted") and _old_enough(raw["deleted"], cutoff)]


def _old_enough(when: Any, cutoff: datetime | None) -> bool:
    return cutoff is None or (isinstance(when, datetime) and when <= cutoff)


def _by_company(runs: list[dict], experiments: list[dict], models: list[dict]) -> dict[str, dict[str, list[dict]]]:
    grouped: dict[str, dict[str, list[dict]]] = defaultdict(lambda: {"runs": [], "experiments": [], "logged_models": []})
    for kind, found in (("runs", runs), ("experiments", experiments), ("logged_models", models)):
        for raw in found:
            if raw.get("company"):  # public records belong to every company: never purged
                grouped[raw["company"]][kind].append(raw)
    return grouped


def _system_call(config: Config, company: str) -> Call:
    """The call a purge makes the services' deletes through: the server acting in one company."""
    identity = Identity(user="", user_name="regista gc", role=SYSTEM_ROLE, company=company, company_name="")
    server = ServerContext(api=None, config=config, database_kind="", authenticator=None)  # type: ignore[arg-type]
    return Call(uuid.uuid4().hex, "regista gc", None, None, identity, server)  # type: ignore[arg-type]


def _run_artifact_uri(raw: dict[str, Any]) -> str:
    return shapes.run_info(raw, run_records.record_of(raw))["artifact_uri"]


def _own_folder(root: Path, uri: str, owner: str) -> Path | None:
    """The folder of Regista's artifact store named after `owner` on the way to what `uri` names
    (`<experiment>/<run>/artifacts` gives `<experiment>/<run>`), or None if there is none."""
    relative = uris.proxied_path(uri) if uri else None
    parts = PurePosixPath(relative).parts if relative else ()
    if owner not in parts:
        return None
    try:
        folder = store.safe_path(root, "/".join(parts[: parts.index(owner) + 1]))
    except ApiError:
        return None
    return folder if folder.is_dir() else None


def _remove(folder: Path | None, result: Purged, dry_run: bool) -> None:
    if folder is None or any(folder.is_relative_to(counted) for counted in result._counted):
        return
    result._counted.append(folder)
    result.artifact_bytes += sum(os.path.getsize(os.path.join(path, name)) for path, _, names in os.walk(folder) for name in names)
    result.artifact_folders += 1
    if not dry_run:
        shutil.rmtree(folder, ignore_errors=True)
