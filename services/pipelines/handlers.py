"""The pipelines service: the actions of ClearML's pipelines page on runs of a pipeline.

A pipeline run is a controller task (type controller, system tag "pipeline"); its steps are the tasks whose
parent it is. Starting a run clones a controller task with new arguments and enqueues the clone for an agent;
deleting runs deletes controllers with their steps, always leaving the pipeline at least one run.
"""

from __future__ import annotations

import re
from typing import Any

from regista.server.call import Call
from regista.server.errors import ApiError
from regista.services.common.tenancy import writable
from regista.services.projects.documents import Project
from regista.services.tasks import clone, queueing
from regista.services.tasks.batch import for_each
from regista.services.tasks.cleanup import delete_task
from regista.services.tasks.documents import Task
from regista.services.tasks.handlers import CONTROLLER
from regista.services.tasks.status import task_exists

PIPELINE_TAG = "pipeline"
ARGS_SECTION = "Args"


def start_pipeline(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    original = task_exists(call, request["task"])
    queue_id = queueing.target_queue(call, request)  # a bad queue id is refused before anything is created
    hyperparams: dict[str, dict[str, Any]] = {}
    for section in (original.get("hyperparams") or {}).values():  # stored keys are escaped; items hold the names
        for item in section.values():
            hyperparams.setdefault(item["section"], {})[item["name"]] = item
    if request.get("args"):
        hyperparams[ARGS_SECTION] = {
            str(arg["name"]): {"section": ARGS_SECTION, "name": str(arg["name"]), "value": str(arg.get("value", ""))}
            for arg in request["args"]
        }
    run_id = clone.clone(call, {"task": original["_id"], "new_task_hyperparams": hyperparams})["id"]
    _name_run(call, run_id)
    queued = queueing.enqueue_task(call, run_id, {"status_message": "Starting pipeline"}, queue_id)
    answer: dict[str, Any] = {"pipeline": run_id, "enqueued": bool(queued.get("queued"))}
    if request.get("verify_watched_queue"):
        answer["queue_watched"] = queueing.queue_watched(call, queue_id)
    return answer


def delete_runs(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    project = request["project"]
    runs = {
        raw["_id"]
        for raw in Task._get_collection().find({"project": project, "type": CONTROLLER, **writable(call)}, {"_id": 1})
    }
    if runs and not runs - set(request["ids"]):
        raise ApiError("cannot_remove_all_runs", "at least one run of the pipeline must be left", project=project)
    doomed = [task_id for task_id in dict.fromkeys(request["ids"]) if task_id in runs]
    options = {"force": True, "delete_output_models": True, "include_pipeline_steps": True, "status_reason": "Pipeline run deleted"}

    def delete_run(task_id: str) -> dict[str, Any]:
        answer = delete_task(call, task_id, options)
        return {key: answer[key] for key in ("deleted", "updated_children", "updated_models", "deleted_models")}

    return for_each(call, doomed, delete_run)


def _name_run(call: Call, run_id: str) -> None:
    """Name a new run after its project's last name part, numbered after the runs named so already
    ('<pipeline>', '<pipeline> #1', ...), as clearml-server does."""
    raw = Task._get_collection().find_one({"_id": run_id}, {"project": 1})
    project = Project._get_collection().find_one({"_id": (raw or {}).get("project"), **writable(call)}, {"name": 1})
    if not project:
        return
    prefix = project["name"].rpartition("/")[2]
    pattern = rf"^{re.escape(prefix)}( #\d+)?$"
    count = Task._get_collection().count_documents(
        {"project": project["_id"], "system_tags": PIPELINE_TAG, "name": {"$regex": pattern}, **writable(call)}
    )
    name = f"{prefix} #{count}" if count else prefix
    Task._get_collection().update_one({"_id": run_id, **writable(call)}, {"$set": {"name": name}})


HANDLERS = {"start_pipeline": start_pipeline, "delete_runs": delete_runs}
