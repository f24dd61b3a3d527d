"""What a task carries besides its status: hyperparameters, configuration, requirements, models, artifacts."""

from __future__ import annotations

from typing import Any

from regista.server.call import Call
from regista.server.errors import ApiError
from regista.services.common.keys import escape_key
from regista.services.common.tenancy import readable
from regista.services.common.values import utcnow
from regista.services.models.handlers import readable_model
from regista.services.tasks.documents import ModelItem, Task, TaskStatus
from regista.services.tasks.handlers import write_task


def edit_hyper_params(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    items = [{"section": i.get("section", "General"), "name": i["name"], "value": i.get("value", ""),
              "type": i.get("type", ""), "description": i.get("description", "")} for i in request["hyperparams"]]  # fmt: skip
    mode = request.get("replace_hyperparams", "none")

    def change(task: Task) -> None:
        _writable(task)
        params = {} if mode == "all" else {s: dict(v) for s, v in (task.hyperparams or {}).items()}
        if mode == "section":
            for section in {i["section"] for i in items}:
                params[section] = {}
        for item in items:
            params.setdefault(item["section"], {})[escape_key(item["name"])] = item
        task.hyperparams = params
        task.last_update = utcnow()

    return {"updated": 1 if write_task(call, request["task"], change) else 0}


def get_hyper_params(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    return {
        "params": [
            {"task": raw["_id"], "hyperparams": [i for s in (raw.get("hyperparams") or {}).values() for i in s.values()]}
            for raw in _tasks(call, request["tasks"], {"hyperparams": 1})
        ]
    }


def edit_configuration(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    items = {escape_key(i["name"]): {"name": i["name"], "value": i.get("value", ""), "type": i.get("type", ""),
                                     "description": i.get("description", "")} for i in request["configuration"]}  # fmt: skip

    def change(task: Task) -> None:
        _writable(task)
        task.configuration = {**({} if request.get("replace_configuration") else (task.configuration or {})), **items}
        task.last_update = utcnow()

    return {"updated": 1 if write_task(call, request["task"], change) else 0}


def get_configurations(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    names = set(request.get("names") or [])
    return {
        "configurations": [
            {"task": raw["_id"], "configuration": [i for i in (raw.get("configuration") or {}).values() if not names or i["name"] in names]}
            for raw in _tasks(call, request["tasks"], {"configuration": 1})
        ]
    }


def set_requirements(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    def change(task: Task) -> None:
        _writable(task)
        task.script = {**(task.script or {}), "requirements": request["requirements"]}
        task.last_update = utcnow()

    changed = write_task(call, request["task"], change)
    return {"updated": 1 if changed else 0, "fields": {"script.requirements": request["requirements"]} if changed else {}}


def add_or_update_model(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    readable_model(call, request["model"])
    now = utcnow()

    def change(task: Task) -> None:
        _writable(task)
        kind = request["type"]
        items = [m for m in getattr(task.models, kind) if m.name != request["name"]]
        setattr(task.models, kind, items + [ModelItem(name=request["name"], model=request["model"], updated=now)])
        if request.get("iteration") is not None:
            task.last_iteration = max(task.last_iteration or 0, request["iteration"])
        task.last_update = now

    return {"updated": 1 if write_task(call, request["task"], change) else 0}


def add_or_update_artifacts(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    given = [{**a, "mode": a.get("mode", "output")} for a in request["artifacts"]]
    keys = {(a["key"], a["mode"]) for a in given}

    def change(task: Task) -> None:
        _writable(task, request.get("force", False))
        execution = dict(task.execution or {})
        kept = [a for a in execution.get("artifacts") or [] if (a.get("key"), a.get("mode")) not in keys]
        execution["artifacts"] = kept + given  # a list, as clients read it; (key, mode) identifies one
        task.execution = execution
        task.last_update = utcnow()

    return {"updated": 1 if write_task(call, request["task"], change) else 0}


def _writable(task: Task, force: bool = False) -> None:
    if task.status == TaskStatus.published and not force:
        raise ApiError("invalid_task_status", "a published task cannot be changed", id=task.id, status=task.status)


def _tasks(call: Call, ids: list[str], projection: dict[str, int]) -> list[dict[str, Any]]:
    found = {raw["_id"]: raw for raw in Task._get_collection().find({"_id": {"$in": ids}, **readable(call)}, projection)}
    return [found[i] for i in ids if i in found]


HANDLERS = {
    "edit_hyper_params": edit_hyper_params, "get_hyper_params": get_hyper_params,
    "edit_configuration": edit_configuration, "get_configurations": get_configurations,
    "set_requirements": set_requirements, "add_or_update_model": add_or_update_model,
    "add_or_update_artifacts": add_or_update_artifacts,
}  # fmt: skip
