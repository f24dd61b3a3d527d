"""projects.validate_delete and projects.delete: a project goes with every project below it.

Without `force`, deleting refuses when the tree holds pipelines with non-archived controller tasks
(413), datasets with non-archived versions (406), or, in its other projects, non-archived tasks (402)
or models (405); archived ones never block. Contents are then left without a project, or deleted with
`delete_contents` (tasks with their events; references from elsewhere are cleared as tasks.delete and
models.delete clear them).
"""

from __future__ import annotations

from typing import Any

from regista.server.call import Call
from regista.server.errors import ApiError
from regista.services.common.atomic import modify
from regista.services.common.tenancy import writable
from regista.services.events import series_store
from regista.services.events.documents import TaskEvent
from regista.services.models.documents import Model
from regista.services.projects import hierarchy
from regista.services.projects.contents import ARCHIVED, DATASET_TAG, DATASETS_PROJECT, PIPELINE_TAG, REPORTS_TAG
from regista.services.projects.documents import Project
from regista.services.tasks.documents import Task

PIPELINES_PROJECT = ".pipelines"
DELETED_PREFIX = "__DELETED__"  # what a task's input model reference becomes when the model is deleted
NOT_ARCHIVED = {"$nin": [ARCHIVED]}
BREAKDOWN_VERSION = (2, 26)  # validate_delete counts pipelines, datasets and reports from this version on


def _tree(call: Call, project_id: str) -> tuple[list[str], list[str], list[str]]:
    """The ids of the project and those below it, and among them the pipelines and the datasets."""
    hierarchy.writable_project(call, project_id)
    ids = hierarchy.with_children([project_id])
    found = list(Project._get_collection().find({"_id": {"$in": ids}}, {"_id": 1, "system_tags": 1, "name": 1, "basename": 1}))

    def tagged(tag: str, container: str) -> list[str]:
        return [p["_id"] for p in found if tag in (p.get("system_tags") or []) and hierarchy.basename(p) != container]

    return ids, tagged(PIPELINE_TAG, PIPELINES_PROJECT), tagged(DATASET_TAG, DATASETS_PROJECT)


def _distinct_projects(query: dict[str, Any]) -> int:
    return len({raw.get("project") for raw in Task._get_collection().find(query, {"project": 1})})


def validate_delete(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    ids, pipelines, datasets = _tree(call, request["project"])
    tasks, models = Task._get_collection(), Model._get_collection()
    result = {
        "pipelines": _distinct_projects({"project": {"$in": pipelines}, "type": "controller", "system_tags": NOT_ARCHIVED}) if pipelines else 0,
        "datasets": _distinct_projects({"project": {"$in": datasets}, "system_tags": NOT_ARCHIVED}) if datasets else 0,
    }  # fmt: skip
    regular = [pid for pid in ids if pid not in set(pipelines) | set(datasets)]
    in_regular = {"project": {"$in": regular}}
    not_reports = {**in_regular, "system_tags": {"$nin": [REPORTS_TAG]}}
    result["tasks"] = tasks.count_documents(not_reports) if regular else 0
    result["non_archived_tasks"] = tasks.count_documents({**in_regular, "system_tags": {"$nin": [REPORTS_TAG, ARCHIVED]}}) if regular else 0
    result["models"] = models.count_documents(in_regular) if regular else 0
    result["non_archived_models"] = models.count_documents({**in_regular, "system_tags": NOT_ARCHIVED}) if regular else 0
    result["reports"] = tasks.count_documents({**in_regular, "system_tags": REPORTS_TAG}) if regular else 0
    result["non_archived_reports"] = (
        tasks.count_documents({**in_regular, "system_tags": {"$all": [REPORTS_TAG], "$nin": [ARCHIVED]}}) if regular else 0
    )
    if call.actual_version < BREAKDOWN_VERSION:
        for key in ("pipelines", "datasets", "reports", "non_archived_reports"):
            result.pop(key)
    return result


def delete(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    project_id = request["project"]
    ids, pipelines, datasets = _tree(call, project_id)
    if not request.get("force"):
        _refuse_active_contents(project_id, ids, pipelines, datasets)
    result = {"deleted": 0, "disassociated_tasks": 0, "deleted_tasks": 0, "deleted_models": 0}
    in_tree = {"project": {"$in": ids}}
    if request.get("delete_contents"):
        result["deleted_models"], model_urls = _delete_models(call, ids)
        result["deleted_tasks"], artifact_urls = _delete_tasks(call, ids)
        # The files left behind, for the caller to delete (event files are not listed, as in clearml-server).
        result["urls"] = {"model_urls": model_urls, "event_urls": [], "artifact_urls": artifact_urls}
    else:
        for document_class, key in ((Task, "disassociated_tasks"), (Model, None)):
            for raw in list(document_class._get_collection().find({**in_tree, **writable(call)}, {"_id": 1})):
                _, changed = modify(document_class, {"_id": raw["_id"], **writable(call)}, lambda doc: setattr(doc, "project", None))
                if key and changed:
                    result[key] += 1
    result["deleted"] = Project._get_collection().delete_many({"_id": {"$in": ids}, **writable(call)}).deleted_count
    return result


def _refuse_active_contents(project_id: str, ids: list[str], pipelines: list[str], datasets: list[str]) -> None:
    tasks = Task._get_collection()
    if pipelines and tasks.find_one({"project": {"$in": pipelines}, "type": "controller", "system_tags": NOT_ARCHIVED}, {"_id": 1}):
        raise ApiError("project_has_pipelines", "archive every pipeline controller first, or use force", id=project_id)
    if datasets and tasks.find_one({"project": {"$in": datasets}, "system_tags": NOT_ARCHIVED}, {"_id": 1}):
        raise ApiError("project_has_datasets", "delete every dataset version first, or use force", id=project_id)
    regular = [pid for pid in ids if pid not in set(pipelines) | set(datasets)]
    if not regular:
        return
    for document_class, error in ((Task, "project_has_tasks"), (Model, "project_has_models")):
        if document_class._get_collection().find_one({"project": {"$in": regular}, "system_tags": NOT_ARCHIVED}, {"_id": 1}):
            raise ApiError(error, "use force to delete the project", id=project_id)


def _delete_tasks(call: Call, ids: list[str]) -> tuple[int, list[str]]:
    """How many tasks were deleted, and the urls of their output artifacts."""
    tasks = Task._get_collection()
    found = list(tasks.find({"project": {"$in": ids}, **writable(call)}, {"_id": 1, "execution": 1}))  # whole: the embedded database drops nested projections
    task_ids = [raw["_id"] for raw in found]
    if not task_ids:
        return 0, []
    artifact_urls = sorted({
        artifact["uri"] for raw in found for artifact in ((raw.get("execution") or {}).get("artifacts") or [])
        if isinstance(artifact, dict) and artifact.get("uri") and artifact.get("mode", "output") == "output"
    })  # fmt: skip
    outside = {"project": {"$nin": ids}, **writable(call)}
    for raw in list(tasks.find({"parent": {"$in": task_ids}, **outside}, {"_id": 1})):
        modify(Task, {"_id": raw["_id"]}, lambda task: setattr(task, "parent", None))
    for raw in list(Model._get_collection().find({"task": {"$in": task_ids}, **outside}, {"_id": 1})):
        modify(Model, {"_id": raw["_id"]}, lambda model: setattr(model, "task", None))
    series_store.sweep({"task": {"$in": task_ids}})
    TaskEvent._get_collection().delete_many({"task": {"$in": task_ids}})
    return tasks.delete_many({"_id": {"$in": task_ids}}).deleted_count, artifact_urls


def _delete_models(call: Call, ids: list[str]) -> tuple[int, list[str]]:
    """How many models were deleted, and their uris."""
    models = Model._get_collection()
    found = list(models.find({"project": {"$in": ids}, **writable(call)}, {"_id": 1, "uri": 1}))
    model_ids = [raw["_id"] for raw in found]
    if not model_ids:
        return 0, []
    doomed = set(model_ids)

    def unlink(task: Task) -> None:
        for item in task.models.input:
            if item.model in doomed:
                item.model = f"{DELETED_PREFIX}{item.model}"
        if task.status == "published":
            for item in task.models.output:
                if item.model in doomed:
                    item.model = f"{DELETED_PREFIX}{item.model}"
        else:
            task.models.output = [item for item in task.models.output if item.model not in doomed]

    referring: set[str] = set()
    # One $elemMatch per model: the embedded database misses dotted array paths and $in inside $elemMatch.
    for field in ("models.input", "models.output"):
        for model_id in model_ids:
            query = {"project": {"$nin": ids}, field: {"$elemMatch": {"model": model_id}}, **writable(call)}
            referring.update(raw["_id"] for raw in Task._get_collection().find(query, {"_id": 1}))
    for task_id in sorted(referring):
        modify(Task, {"_id": task_id}, unlink)
    deleted = models.delete_many({"_id": {"$in": model_ids}}).deleted_count
    return deleted, sorted({raw["uri"] for raw in found if raw.get("uri")})
