"""What a task carries besides its status: hyperparameters, configuration, requirements, models, artifacts."""

from __future__ import annotations

from typing import Any

from regista.server.call import Call
from regista.server.errors import ApiError
from regista.services.common.keys import escape_key, unescape_key
from regista.services.common.tenancy import readable
from regista.services.common.values import utcnow
from regista.services.models.handlers import readable_model
from regista.services.tasks.documents import ModelItem, Task, TaskStatus
from regista.services.tasks.handlers import write_task
from regista.services.tasks.shape import DEFAULT_ARTIFACT_MODE, merge_artifacts

PROPERTIES = "properties"  # the hyperparameter section that stays editable in any status
PARAM_FIELDS = ("section", "name", "value", "type", "description")
CONFIG_FIELDS = ("name", "value", "type", "description")
RUNTIME_EDITABLE = (TaskStatus.created, TaskStatus.queued, TaskStatus.in_progress)


def edit_hyper_params(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    items = [_item(i, PARAM_FIELDS, section=_section(i.get("section", "General"))) for i in request["hyperparams"]]
    mode = request.get("replace_hyperparams", "none")

    def change(task: Task) -> None:
        _editable(task, request, properties_only=all(i["section"] == PROPERTIES for i in items))
        params = {} if mode == "all" else {s: dict(v) for s, v in (task.hyperparams or {}).items()}
        if mode == "section":
            for section in {i["section"] for i in items}:
                params[escape_key(section)] = {}
        for item in items:
            params.setdefault(escape_key(item["section"]), {})[escape_key(item["name"])] = item
        task.hyperparams = params
        task.last_update = utcnow()

    return {"updated": 1 if write_task(call, request["task"], change) else 0}


def delete_hyper_params(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    keys = [{**k, "section": _section(k.get("section", "General"))} for k in request["hyperparams"]]
    whole = {k["section"] for k in keys if not k.get("name")}
    if any(k.get("name") and k["section"] in whole for k in keys):
        raise ApiError("validation_error", "a parameter cannot be deleted along with its whole section")

    def change(task: Task) -> None:
        _editable(task, request, properties_only=all(k["section"] == PROPERTIES for k in keys))
        params = {s: dict(v) for s, v in (task.hyperparams or {}).items() if unescape_key(s) not in whole}
        for key in keys:
            if key.get("name"):
                params.get(escape_key(key["section"]), {}).pop(escape_key(key["name"]), None)
        task.hyperparams = params
        task.last_update = utcnow()

    return {"deleted": 1 if write_task(call, request["task"], change) else 0}


def get_hyper_params(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    def listed(raw: dict[str, Any]) -> list[dict[str, Any]]:
        items = [i for s in (raw.get("hyperparams") or {}).values() for i in s.values()]
        return sorted(items, key=lambda i: (i.get("section", ""), i.get("name", "")))

    tasks = _tasks(call, request["tasks"], {"hyperparams": 1})
    return {"params": [{"task": raw["_id"], "hyperparams": listed(raw)} for raw in tasks]}


def edit_configuration(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    items = {escape_key(i["name"]): _item(i, CONFIG_FIELDS) for i in request["configuration"]}

    def change(task: Task) -> None:
        _editable(task, request)
        task.configuration = {**({} if request.get("replace_configuration") else (task.configuration or {})), **items}
        task.last_update = utcnow()

    return {"updated": 1 if write_task(call, request["task"], change) else 0}


def delete_configuration(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    doomed = {escape_key(name) for name in request["configuration"]}

    def change(task: Task) -> None:
        _editable(task, request)
        task.configuration = {k: v for k, v in (task.configuration or {}).items() if k not in doomed}
        task.last_update = utcnow()

    return {"deleted": 1 if write_task(call, request["task"], change) else 0}


def get_configurations(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    names = set(request.get("names") or [])

    def listed(raw: dict[str, Any]) -> list[dict[str, Any]]:
        items = [i for i in (raw.get("configuration") or {}).values() if not names or i["name"] in names]
        return sorted(items, key=lambda i: i["name"])

    tasks = _tasks(call, request["tasks"], {"configuration": 1})
    return {"configurations": [{"task": raw["_id"], "configuration": listed(raw)} for raw in tasks]}


def get_configuration_names(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    skip_empty = request.get("skip_empty", True)

    def names(raw: dict[str, Any]) -> list[str]:
        return sorted(i["name"] for i in (raw.get("configuration") or {}).values() if i.get("value") or not skip_empty)

    tasks = _tasks(call, request["tasks"], {"configuration": 1})
    return {"configurations": [{"task": raw["_id"], "names": names(raw)} for raw in tasks]}


def set_requirements(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    def change(task: Task) -> None:
        _writable(task)
        task.script = {**(task.script or {}), "requirements": request["requirements"]}
        task.last_update = utcnow()

    changed = write_task(call, request["task"], change)
    return {"updated": 1 if changed else 0, "fields": {"script.requirements": request["requirements"]} if changed else {}}


def edit_runtime(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    """Set and remove runtime properties, in a draft, queued or running task (as clearml-server, which
    always forces this edit: an agent reports runtime while the task runs)."""
    additions, removals = request.get("add_or_update") or {}, request.get("remove") or []
    if not additions and not removals:
        return {"updated": 0}

    def change(task: Task) -> None:
        if task.status not in RUNTIME_EDITABLE:
            raise ApiError("invalid_task_status", f"the task must be {', '.join(RUNTIME_EDITABLE)}",
                           id=task.id, status=task.status, expected=TaskStatus.created)  # fmt: skip
        runtime = {**(task.runtime or {}), **additions}
        for name in removals:
            runtime.pop(name, None)
        task.runtime = runtime
        task.last_update = utcnow()

    return {"updated": 1 if write_task(call, request["task"], change) else 0}


def add_or_update_model(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    # The model must be one the caller can read. clearml-server stores any id; here a company's task never
    # names another company's model, and an unknown id answers as a foreign one would (no existence oracle).
    readable_model(call, request["model"])
    now = utcnow()

    def change(task: Task) -> None:
        _writable(task)
        kind = request["type"]
        item = ModelItem(name=request["name"], model=request["model"], updated=now)
        items = list(getattr(task.models, kind))
        at = next((i for i, m in enumerate(items) if m.name == item.name), None)
        if at is None:
            items.append(item)
        else:
            items[at] = item  # replaced where it stands
        setattr(task.models, kind, items)
        if request.get("iteration") is not None:
            task.last_iteration = max(task.last_iteration or 0, request["iteration"])
        task.last_update = now

    return {"updated": 1 if write_task(call, request["task"], change) else 0}


def delete_models(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    doomed = {(m["type"], m["name"]) for m in request["models"]}

    def change(task: Task) -> None:
        _writable(task)
        for kind in ("input", "output"):
            setattr(task.models, kind, [m for m in getattr(task.models, kind) if (kind, m.name) not in doomed])
        task.last_update = utcnow()

    return {"updated": 1 if write_task(call, request["task"], change) else 0}


def add_or_update_artifacts(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    def change(task: Task) -> None:
        _writable(task, request.get("force", False))
        execution = dict(task.execution or {})
        execution["artifacts"] = merge_artifacts(execution.get("artifacts") or [], request["artifacts"])
        task.execution = execution
        task.last_update = utcnow()

    return {"updated": 1 if write_task(call, request["task"], change) else 0}


def delete_artifacts(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    doomed = {(a["key"], a.get("mode", DEFAULT_ARTIFACT_MODE)) for a in request["artifacts"]}

    def change(task: Task) -> None:
        _writable(task, request.get("force", False))
        execution = dict(task.execution or {})
        current = execution.get("artifacts") or []
        execution["artifacts"] = [a for a in current if (a.get("key"), a.get("mode", DEFAULT_ARTIFACT_MODE)) not in doomed]
        task.execution = execution
        task.last_update = utcnow()

    return {"deleted": 1 if write_task(call, request["task"], change) else 0}


def _editable(task: Task, request: dict[str, Any], properties_only: bool = False) -> None:
    """Parameters and configuration change while the task is a draft (also while it runs, with force); the
    "properties" section of hyperparameters in any status."""
    if properties_only:
        return
    allowed = (TaskStatus.created, TaskStatus.in_progress) if request.get("force") else (TaskStatus.created,)
    if task.status not in allowed:
        raise ApiError(
            "invalid_task_status", f"the task must be {' or '.join(allowed)}",
            id=task.id, status=task.status, expected=TaskStatus.created,
        )  # fmt: skip


def _section(section: str) -> str:
    return PROPERTIES if section.lower() == PROPERTIES else section


def _item(given: dict[str, Any], fields: tuple[str, ...], **extra: Any) -> dict[str, Any]:
    """An item as stored and read back: the fields given, nothing invented."""
    return {**{k: given[k] for k in fields if k in given}, **extra}


def _writable(task: Task, force: bool = False) -> None:
    if task.status == TaskStatus.published and not force:
        raise ApiError("invalid_task_status", "a published task cannot be changed", id=task.id, status=task.status)


def _tasks(call: Call, ids: list[str], projection: dict[str, int]) -> list[dict[str, Any]]:
    found = {raw["_id"]: raw for raw in Task._get_collection().find({"_id": {"$in": ids}, **readable(call)}, projection)}
    return [found[i] for i in ids if i in found]


HANDLERS = {
    "edit_runtime": edit_runtime,
    "edit_hyper_params": edit_hyper_params, "get_hyper_params": get_hyper_params,
    "edit_configuration": edit_configuration, "get_configurations": get_configurations,
    "set_requirements": set_requirements, "add_or_update_model": add_or_update_model,
    "add_or_update_artifacts": add_or_update_artifacts, "delete_hyper_params": delete_hyper_params,
    "delete_configuration": delete_configuration, "get_configuration_names": get_configuration_names,
    "delete_models": delete_models, "delete_artifacts": delete_artifacts,
}  # fmt: skip
