"""Cloning a task: a new draft (status created) with the original's definition, and the fields asked changed."""

from __future__ import annotations

from typing import Any

from regista.server.call import Call
from regista.server.errors import ApiError
from regista.services.common.tenancy import writable
from regista.services.common.values import new_id, utcnow
from regista.services.projects import hierarchy
from regista.services.projects.documents import Project
from regista.services.tasks.documents import Task, TaskStatus
from regista.services.tasks.handlers import DELETED_PREFIX
from regista.services.tasks.shape import (
    DEFAULT_ARTIFACT_MODE, check_model, prepare, stored_configuration, stored_hyperparams, task_models,
)  # fmt: skip
from regista.services.tasks.status import task_exists

# System tags a clone does not inherit: it is neither a development run nor archived.
NOT_INHERITED = ("development", "archived")


def clone(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    original = task_exists(call, request["task"])
    answer: dict[str, Any] = {}
    project = request.get("new_task_project")
    if not project and request.get("new_project_name"):
        project = project_by_name(call, request["new_project_name"])
        answer["new_project"] = {"id": project, "name": hierarchy.clean_name(request["new_project_name"])[0]}
    fields: dict[str, Any] = {}
    overrides = dict(request.get("execution_overrides") or {})
    model_overridden = overrides.get("model") is not None
    execution = {k: v for k, v in (original.get("execution") or {}).items() if k != "queue"}
    prepare(call, {"execution": overrides}, fields, previous=original)  # legacy forms, artifacts, model
    execution.update(fields.pop("execution", {}))
    if isinstance(execution.get("artifacts"), list):
        execution["artifacts"] = [a for a in execution["artifacts"] if a.get("mode", DEFAULT_ARTIFACT_MODE) != "output"]
    hyperparams = fields.get("hyperparams", original.get("hyperparams") or {})
    if request.get("new_task_hyperparams") is not None:
        hyperparams = stored_hyperparams(request["new_task_hyperparams"])
    configuration = fields.get("configuration", original.get("configuration") or {})
    if request.get("new_task_configuration") is not None:
        configuration = stored_configuration(request["new_task_configuration"])
    models = fields.get("models") or task_models({"input": ((original.get("models") or {}).get("input") or [])})
    models.output = []
    if request.get("new_task_input_models") is not None:
        models = task_models({"input": request["new_task_input_models"]})
    system_tags = request.get("new_task_system_tags")
    if system_tags is None:
        system_tags = [t for t in original.get("system_tags") or [] if t not in NOT_INHERITED]
    now = utcnow()
    task = Task(
        id=new_id(), company=call.company, user=call.user, status=TaskStatus.created, created=now, last_update=now,
        name=request.get("new_task_name") or original["name"],
        comment=request.get("new_task_comment") or original.get("comment"),
        parent=request.get("new_task_parent") or original.get("parent"),
        project=project or original.get("project"),
        tags=request.get("new_task_tags") or original.get("tags") or [],
        system_tags=system_tags, type=original.get("type"), script=original.get("script"),
        output={"destination": original["output"]["destination"]} if (original.get("output") or {}).get("destination") else {},
        execution=execution, hyperparams=hyperparams, configuration=configuration, models=models,
        container=request.get("new_task_container", original.get("container")),
    )  # fmt: skip
    validate_all = bool(request.get("validate_references"))
    if validate_all or model_overridden:
        for item in task.models.input:
            check_model(call, item.model)
    if task.parent and (validate_all or request.get("new_task_parent")):
        if task.parent.startswith(DELETED_PREFIX):
            raise ApiError("invalid_task_id", "the parent task was deleted", parent=task.parent)
        task_exists(call, task.parent)
    if task.project and (validate_all or request.get("new_task_project")):
        if Project._get_collection().find_one({"_id": task.project, **writable(call)}, {"_id": 1}) is None:
            raise ApiError("invalid_project_id", "no such project", id=task.project)
    task.save(force_insert=True)
    return {"id": task.id, **answer}


def project_by_name(call: Call, name: str) -> str:
    """The id of the caller's project of this name, created (with the projects above it) when missing."""
    clean, _ = hierarchy.clean_name(name)
    return hierarchy.ensure(call, clean)["_id"]


HANDLERS = {"clone": clone}
