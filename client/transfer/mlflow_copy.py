"""Everything of one MLflow API copied into another: experiments, their runs (with metrics, params, tags,
inputs and artifacts), logged models and traces (with spans and assessments), then evaluation datasets and
the model registry (prompts included). `regista import mlflow` runs it from an MLflow server to
Regista, `regista export mlflow` from Regista to an MLflow server: both speak the same API.

Idempotent and resumable: every copied experiment, run and model version carries the tag SOURCE_TAG
(`<source url>#<kind>/<id>`), so a second copy finds what is there and adds only what is new, and an
interrupted one continues (runs.py). Target ids are the target's own: runs' parents and model versions'
runs are mapped to the copies.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from regista.client.transfer.genai import GenaiCopier
from regista.client.transfer.logged_models import LoggedModelCopier
from regista.client.transfer.progress import Progress
from regista.client.transfer.registry import RegistryCopier
from regista.client.transfer.rest import MlflowRest, Refused
from regista.client.transfer.runs import PARENT_TAG, SOURCE_TAG, RunCopier, RunMark, copied_runs, source_ref

RUNS_PAGE = 1000


@dataclass
class Options:
    experiments: list[str] = field(default_factory=list)  # names or ids; empty: all
    since: datetime | None = None  # only runs started then or later
    dry_run: bool = False
    workers: int = 4
    registry: bool = True


def copy_mlflow(source: MlflowRest, target: MlflowRest, options: Options, progress: Progress) -> Progress:
    source.check()
    target.check()
    copier = _Copier(source, target, options, progress)
    for experiment in copier.source_experiments():
        try:
            copier.copy_experiment(experiment)
        except Refused as error:
            progress.fail(f"experiment {experiment['name']!r}: {error}")
    copier.genai.copy_datasets(copier.experiments)
    if options.registry:
        RegistryCopier(source, target, progress, options.dry_run, copier.runs, copier.logged.models.get).copy_all()
    return progress


class _Copier:
    def __init__(self, source: MlflowRest, target: MlflowRest, options: Options, progress: Progress):
        self.source, self.target, self.options, self.progress = source, target, options, progress
        self.run_copier = RunCopier(source, target, progress, options.dry_run)
        self.runs: dict[str, tuple[str, RunMark]] = {}  # source run id -> (its artifact uri, its copy)
        self.experiments: dict[str, str | None] = {}  # source experiment id -> its copy's (None: not yet, in a dry run)
        self.logged = LoggedModelCopier(source, target, progress, options.dry_run, self.run_of)
        self.genai = GenaiCopier(source, target, progress, options.dry_run, self.run_of, self.logged.models.get)
        self._targets = list(target.pages("/experiments/search", "experiments", method="POST", view_type="ALL", max_results=1000))

    def source_experiments(self) -> list[dict[str, Any]]:
        found = list(self.source.pages("/experiments/search", "experiments", method="POST", view_type="ALL", max_results=1000))
        wanted = set(self.options.experiments)
        return [e for e in found if not wanted or e["experiment_id"] in wanted or e["name"] in wanted]

    def copy_experiment(self, experiment: dict[str, Any]) -> None:
        target_id = self._target_experiment(experiment)
        marks = copied_runs(self.target, target_id) if target_id else {}
        pending: list[tuple[dict[str, Any], RunMark]] = []
        for page in self._run_pages(experiment["experiment_id"]):
            with ThreadPoolExecutor(max(1, self.options.workers)) as pool:
                done = pool.map(lambda run: (run, self._copy_run(run, target_id, marks)), page)
                pending += [(run, mark) for run, mark in done if mark is not None]
        for run, mark in pending:
            if mark.partial:  # new or continued: its parent, lifecycle and completion
                try:
                    self.run_copier.finish(run, mark, self._parent(run))
                except Refused as error:
                    self.progress.fail(f"run {run['info']['run_id']}: {error}")
        self.experiments[experiment["experiment_id"]] = target_id
        self.logged.copy_experiment(experiment["experiment_id"], target_id)
        self.genai.copy_traces(experiment["experiment_id"], target_id)
        if experiment.get("lifecycle_stage") == "deleted" and target_id and not self.options.dry_run:
            current = self.target.get("/experiments/get", experiment_id=target_id)["experiment"]
            if current.get("lifecycle_stage") != "deleted":
                self.target.post("/experiments/delete", {"experiment_id": target_id})

    def _copy_run(self, run: dict[str, Any], target_id: str | None, marks: dict[str, RunMark]) -> RunMark | None:
        info = run["info"]
        mark = marks.get(source_ref(self.source, "runs", info["run_id"]))
        try:
            mark = self.run_copier.copy(run, target_id or "", mark)
        except Refused as error:
            self.progress.fail(f"run {info['run_id']} ({info.get('run_name', '')}): {error}")
            return None
        if mark is not None:  # partial: created or continued now, to be finished; else complete before
            self.runs[info["run_id"]] = (info.get("artifact_uri", ""), mark)
        return mark

    def run_of(self, source_run_id: str) -> str | None:
        copied = self.runs.get(source_run_id)
        return copied[1].run_id if copied else None

    def _parent(self, run: dict[str, Any]) -> str | None:
        tags = {t["key"]: t.get("value") for t in (run.get("data") or {}).get("tags") or []}
        parent = tags.get(PARENT_TAG)
        if not parent:
            return None
        if parent in self.runs:
            return self.runs[parent][1].run_id
        self.progress.fail(f"run {run['info']['run_id']}: its parent run {parent} was not copied (outside the selection?)")
        return None

    def _run_pages(self, experiment_id: str):
        request: dict[str, Any] = {"experiment_ids": [experiment_id], "run_view_type": "ALL", "max_results": RUNS_PAGE}
        if self.options.since:
            request["filter"] = f"attributes.start_time >= {int(self.options.since.astimezone(timezone.utc).timestamp() * 1000)}"
        page: list[dict[str, Any]] = []
        for run in self.source.pages("/runs/search", "runs", method="POST", **request):
            page.append(run)
            if len(page) == RUNS_PAGE:
                yield page
                page = []
        if page:
            yield page

    def _target_experiment(self, experiment: dict[str, Any]) -> str | None:
        """The target experiment of a source one: the copy made earlier, else the one of the same name
        (which is marked as its copy), else a new one. None in a dry run when it does not exist yet."""
        ref = source_ref(self.source, "experiments", experiment["experiment_id"])
        for candidate in self._targets:
            tags = {t["key"]: t.get("value") for t in candidate.get("tags") or []}
            if tags.get(SOURCE_TAG) == ref:
                self.progress.skip("experiments")
                return candidate["experiment_id"]
        same_name = next((c for c in self._targets if c["name"] == experiment["name"]), None)
        if self.options.dry_run:
            if same_name is None:
                self.progress.add("experiments")
                return None
            self.progress.skip("experiments")
            return same_name["experiment_id"]
        if same_name is not None:
            self.target.post("/experiments/set-experiment-tag", {"experiment_id": same_name["experiment_id"], "key": SOURCE_TAG, "value": ref})
            self.progress.skip("experiments")
            return same_name["experiment_id"]
        tags = [t for t in experiment.get("tags") or [] if t["key"] != SOURCE_TAG] + [{"key": SOURCE_TAG, "value": ref}]
        created = self.target.post("/experiments/create", {"name": experiment["name"], "tags": tags})["experiment_id"]
        self._targets.append({"experiment_id": created, "name": experiment["name"], "tags": tags})
        self.progress.add("experiments")
        return created
