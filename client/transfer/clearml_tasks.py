"""One ClearML task copied from a source server to Regista (tasks.import): its fields, events and files.

In three steps, so that an interrupted copy is found and redone: the task is created as a draft with its
id and every field (addresses of source files already rewritten to the target's); its files and events
(scalars, console, plots, debug images) follow; completing it sets its status and times. A draft found
again (the copy stopped in between) has its events cleared and copied anew.
"""

from __future__ import annotations

from typing import Any

from regista.client.transfer.clearml_rest import ClearmlRest
from regista.client.transfer.files import FileMover
from regista.client.transfer.progress import Progress
from regista.client.transfer.rest import Refused

FIELDS = ("name", "type", "comment", "tags", "system_tags", "script", "execution", "runtime", "container", "hyperparams",
          "configuration", "output", "report", "report_assets", "status", "status_reason", "status_message", "last_iteration")  # fmt: skip
DATES = ("created", "started", "completed", "published", "status_changed", "last_update", "last_change")
EVENT_TYPES = ("training_stats_scalar", "training_stats_vector", "log", "plot", "training_debug_image")
EVENTS_PAGE = 1000
DROPPED_EVENT_KEYS = ("company_id", "model_event", "allow_locked", "task")  # the source's bookkeeping, and the task (replaced)


class Ids:
    """Source id -> target id of each kind; ids are kept where they can be, so mostly the same."""

    def __init__(self) -> None:
        self.projects: dict[str, str] = {}
        self.queues: dict[str, str] = {}
        self.tasks: dict[str, str] = {}
        self.models: dict[str, str] = {}


def source_ref(source: ClearmlRest, kind: str, entity_id: str) -> str:
    return f"{source.url}#{kind}/{entity_id}"


def deep_rewrite(value: Any, files: FileMover, met: set[str]) -> Any:
    """Every string inside `value` with the source's file addresses rewritten to the target's."""
    if isinstance(value, str):
        return files.rewrite(value, met)
    if isinstance(value, list):
        return [deep_rewrite(item, files, met) for item in value]
    if isinstance(value, dict):
        return {key: deep_rewrite(item, files, met) for key, item in value.items()}
    return value


class TaskCopier:
    def __init__(self, source: ClearmlRest, target: ClearmlRest, files: FileMover, ids: Ids, progress: Progress, dry_run: bool):
        self.source, self.target, self.files, self.ids, self.progress, self.dry_run = source, target, files, ids, progress, dry_run

    def copy(self, task: dict[str, Any]) -> None:
        """The task in the target, whole; failures go to the progress (and leave it to a later run)."""
        label = f"task {task['id']} ({task.get('name', '')})"
        met: set[str] = set()
        body = self._body(task, met)
        if self.dry_run:  # the same id in the target: copied before (ids are kept)
            self.ids.tasks[task["id"]] = task["id"]
            if self.target.call("tasks.get_all", {"id": [task["id"]], "only_fields": ["id"], "search_hidden": True}).get("tasks"):
                self.progress.skip("tasks")
            else:
                self.progress.add("tasks")
                self.files.copy(met, label)
            return
        try:
            draft = self.target.call("tasks.import", {**body, "complete": False}, f"{label}: tasks.import")
            self.ids.tasks[task["id"]] = draft["id"]
            if draft["complete"]:
                self.progress.skip("tasks")
                return
            if not draft["created"]:  # a copy stopped halfway: its events again, from the first
                self.target.call("events.delete_for_task", {"task": draft["id"], "allow_locked": True}, f"{label}: clearing a partial copy")
            whole = self.files.copy(met, label)
            whole = self._copy_events(task["id"], draft["id"], label) and whole
            if not whole:
                return  # left a draft: the next run copies it again
            self.target.call("tasks.import", {**body, "id": draft["id"], "complete": True}, f"{label}: tasks.import")
            self.progress.add("tasks")
        except Refused as error:
            self.progress.fail(f"{label}: {error}")

    def _body(self, task: dict[str, Any], met: set[str]) -> dict[str, Any]:
        body: dict[str, Any] = {key: task[key] for key in FIELDS if task.get(key) is not None}
        body.update({key: task[key] for key in DATES if task.get(key)})
        body = deep_rewrite(body, self.files, met)
        body.update(id=task["id"], source=source_ref(self.source, "tasks", task["id"]), name=task.get("name") or task["id"])
        body.setdefault("type", "custom")
        if task.get("project"):
            body["project"] = self.ids.projects.get(task["project"], task["project"])
        if task.get("parent"):
            parent = self.ids.tasks.get(task["parent"])
            if parent:
                body["parent"] = parent
            else:
                self.progress.fail(f"task {task['id']}: its parent {task['parent']} was not copied (outside the selection?)")
        models = task.get("models") or {}
        if models.get("input") or models.get("output"):
            body["models"] = {side: [{"name": item.get("name") or "", "model": self.ids.models.get(item["model"], item["model"])}
                                     for item in models.get(side) or [] if item.get("model")] for side in ("input", "output")}  # fmt: skip
        execution = body.get("execution")
        if isinstance(execution, dict) and execution.get("queue"):
            execution["queue"] = self.ids.queues.get(execution["queue"], execution["queue"])
        return body

    def _copy_events(self, source_id: str, target_id: str, label: str) -> bool:
        whole = True
        for event_type in EVENT_TYPES:
            request = {"task": source_id, "event_type": event_type, "batch_size": EVENTS_PAGE, "order": "asc"}
            for page in self.source.scroll("events.get_task_events", "events", request):
                met: set[str] = set()
                events = [self._moved(event, target_id, met) for event in page]
                whole = self.files.copy(met, label) and whole
                answer = self.target.add_events(events, f"{label}: events.add_batch")
                if answer.get("errors"):
                    self.progress.fail(f"{label}: {answer['errors']} {event_type} events refused: {answer.get('errors_info')}")
                    whole = False
                self.progress.add("events", int(answer.get("added", 0)))
        return whole

    def _moved(self, event: dict[str, Any], target_id: str, met: set[str]) -> dict[str, Any]:
        moved = {key: value for key, value in event.items() if not key.startswith(("@", "_")) and key not in DROPPED_EVENT_KEYS}
        for key in ("url", "plot_str"):
            if isinstance(moved.get(key), str):
                moved[key] = self.files.rewrite(moved[key], met)
        moved["task"] = target_id
        return moved
