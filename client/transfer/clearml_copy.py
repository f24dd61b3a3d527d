"""Everything of a ClearML server copied into Regista over their ClearML APIs (`regista import clearml`):
projects with their hierarchy, queues, models, tasks (reports and datasets are tasks too) with their
events, and the files all of them point at.

Ids are kept (the target gives a new one only when another company holds it), so what refers to a task
by id (a report's embedded charts, a dataset's parents, a script's Task.get_task) keeps working. Order:
projects (parents first), queues, models as drafts, tasks (parents first, a generation at a time, in
parallel), then the models' tasks and parents. Idempotent and resumable: tasks.import and models.import
find what came from the same source before (tasks.py says how a half-copied task is redone).
"""

from __future__ import annotations

from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from regista.client.transfer.clearml_rest import ClearmlRest
from regista.client.transfer.clearml_tasks import Ids, TaskCopier, deep_rewrite, source_ref
from regista.client.transfer.files import FileMover
from regista.client.transfer.progress import Progress
from regista.client.transfer.rest import Refused

FULL_BATCH = 100  # whole tasks read from the source at a time
MODEL_FIELDS = ("name", "uri", "comment", "tags", "system_tags", "framework", "design", "labels", "metadata", "ready")
MODEL_DATES = ("created", "last_update", "last_change")


@dataclass
class Options:
    projects: list[str] = field(default_factory=list)  # names: these and their subprojects; empty: all
    since: datetime | None = None  # only tasks and models created then or later
    dry_run: bool = False
    workers: int = 4


def copy_clearml(source: ClearmlRest, target: ClearmlRest, options: Options, progress: Progress) -> Progress:
    source.login()
    target.login()
    _Copier(source, target, options, progress).run()
    return progress


class _Copier:
    def __init__(self, source: ClearmlRest, target: ClearmlRest, options: Options, progress: Progress):
        self.source, self.target, self.options, self.progress = source, target, options, progress
        self.ids = Ids()
        self.files = FileMover(source, target, progress, options.dry_run)
        self.tasks = TaskCopier(source, target, self.files, self.ids, progress, options.dry_run)

    def run(self) -> None:
        self._projects()
        self._queues()
        # Public models (company "": the examples a server ships) belong to no team: they stay where they are.
        models = [m for m in self._selected(self.source.listing("models.get_all", "models", {})) if m.get("company") != ""]
        drafts = [model for model in models if self._model(model, complete=False)]
        self._tasks()
        for model in drafts:
            self._model(model, complete=True)

    # Projects and queues: found in the target by name, else created.
    def _projects(self) -> None:
        found = list(self.source.listing("projects.get_all", "projects", {"search_hidden": True}))
        here = {p["name"]: p["id"] for p in self.target.listing("projects.get_all", "projects", {"search_hidden": True})}
        for project in sorted(found, key=lambda p: (p["name"].count("/"), p["name"])):  # parents first
            if not self._wanted_project(project["name"]):
                continue
            if project["name"] in here:
                self.ids.projects[project["id"]] = here[project["name"]]
                self.progress.skip("projects")
                continue
            self.progress.add("projects")
            if self.options.dry_run:  # as if copied: --project selects its tasks and models in the count too
                self.ids.projects[project["id"]] = project["id"]
                continue
            body = {key: project[key] for key in ("name", "description", "tags", "system_tags", "default_output_destination") if project.get(key) is not None}
            try:
                created = self.target.call("projects.create", body, f"project {project['name']!r}")["id"]
            except Refused as error:
                self.progress.fail(str(error))
                continue
            here[project["name"]] = self.ids.projects[project["id"]] = created

    def _wanted_project(self, name: str) -> bool:
        wanted = self.options.projects
        return not wanted or any(name == w or name.startswith(w + "/") for w in wanted)

    def _queues(self) -> None:
        here = {q["name"]: q["id"] for q in self.target.listing("queues.get_all", "queues", {})}
        for queue in self.source.listing("queues.get_all", "queues", {}):
            if queue["name"] in here:
                self.ids.queues[queue["id"]] = here[queue["name"]]
                self.progress.skip("queues")
                continue
            self.progress.add("queues")
            if self.options.dry_run:
                continue
            body = {key: queue[key] for key in ("name", "display_name", "tags", "system_tags", "metadata") if queue.get(key)}
            try:
                self.ids.queues[queue["id"]] = self.target.call("queues.create", body, f"queue {queue['name']!r}")["id"]
            except Refused as error:
                self.progress.fail(str(error))

    # Models: drafts before the tasks (which name them as inputs and outputs), completed after.
    def _model(self, model: dict[str, Any], complete: bool) -> bool:
        label = f"model {model['id']} ({model.get('name', '')})"
        met: set[str] = set()
        body = deep_rewrite({key: model[key] for key in MODEL_FIELDS if model.get(key) is not None}, self.files, met)
        body.update({key: model[key] for key in MODEL_DATES if model.get(key)})
        body.update(id=self.ids.models.get(model["id"], model["id"]), source=source_ref(self.source, "models", model["id"]),
                    uri=body.get("uri") or "", complete=complete)  # fmt: skip
        if model.get("project"):
            body["project"] = self.ids.projects.get(model["project"], model["project"])
        if complete:
            for key, known in (("task", self.ids.tasks), ("parent", self.ids.models)):
                if model.get(key) and model[key] in known:
                    body[key] = known[model[key]]
        if self.options.dry_run:
            if not complete:
                self.progress.add("models")
                self.files.copy(met, label)
            return False
        try:
            answer = self.target.call("models.import", body, f"{label}: models.import")
        except Refused as error:
            self.progress.fail(str(error))
            return False
        self.ids.models[model["id"]] = answer["id"]
        if answer["complete"] and not complete:
            self.progress.skip("models")
            return False
        if not complete:
            return self.files.copy(met, label)
        self.progress.add("models")
        return True

    # Tasks: parents before children, each generation in parallel.
    def _tasks(self) -> None:
        listed: dict[str, dict[str, Any]] = {}
        fields = ["id", "parent", "project", "created"]
        for request in ({"search_hidden": True, "only_fields": fields}, {"search_hidden": True, "only_fields": fields, "type": ["report"]}):
            for task in self._selected(self.source.listing("tasks.get_all", "tasks", request)):
                listed[task["id"]] = task
        for generation in _generations(listed):
            for start in range(0, len(generation), FULL_BATCH):
                ids = generation[start : start + FULL_BATCH]
                whole = self.source.call("tasks.get_all", {"id": ids, "search_hidden": True}).get("tasks") or []
                with ThreadPoolExecutor(max(1, self.options.workers)) as pool:
                    list(pool.map(self.tasks.copy, whole))

    def _selected(self, entities: Any) -> list[dict[str, Any]]:
        """The entities of the selected projects, created since the date asked for."""
        projects = set(self.ids.projects) if self.options.projects else None
        since = self.options.since
        kept = []
        for entity in entities:
            if projects is not None and entity.get("project") not in projects:
                continue
            if since and entity.get("created") and _moment(entity["created"]) < since:
                continue
            kept.append(entity)
        return kept


def _moment(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _generations(tasks: dict[str, dict[str, Any]]) -> list[list[str]]:
    """Task ids by depth of their parent chain within `tasks`: each generation's parents are in earlier ones."""
    depth: dict[str, int] = {}
    for task_id in tasks:
        chain, current = [], task_id
        while current in tasks and current not in depth and current not in chain:
            chain.append(current)
            current = tasks[current].get("parent")
        base = depth.get(current, -1) if current in tasks else -1
        for offset, member in enumerate(reversed(chain), start=1):
            depth[member] = base + offset
    levels: dict[int, list[str]] = defaultdict(list)
    for task_id, level in depth.items():
        levels[level].append(task_id)
    return [sorted(levels[level], key=lambda i: (tasks[i].get("created") or "", i)) for level in sorted(levels)]
