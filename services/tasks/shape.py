"""A task's fields between the API and the database: what a request is stored as, what a stored task reads as.

Hyperparameters and configuration items are keyed by their section and name, escaped (MongoDB keys hold no
'.' nor a leading '$'); the API always shows them unescaped. Artifacts are a list identified by (key, mode),
shown ordered by key and mode. Older clients speak two legacy forms, mirrored both ways:
- `execution.parameters` ({name: value}) is hyperparams section "Args" (or "TF_DEFINE" for "TF_DEFINE/x"),
  `execution.model_desc` ({name: value}) is configuration; their items have type "legacy". Written at any
  version; read back into `execution` by clients below 2.9.
- `execution.model` is the task's one input model and `output.model` its last output model (below 2.13).
"""

from __future__ import annotations

from typing import Any

from regista.server.call import Call
from regista.server.errors import ApiError
from regista.services.common.keys import escape_key, unescape_key
from regista.services.common.tenancy import readable
from regista.services.common.values import utcnow
from regista.services.models.documents import Model
from regista.services.tasks.documents import ModelItem, TaskModels

LEGACY_TYPE = "legacy"
DEFAULT_SECTION = "Args"
TF_DEFINE = "TF_DEFINE"
DEFAULT_ARTIFACT_MODE = "output"
LEGACY_INPUT_NAME = "Input Model"
PARAMS_VERSION = (2, 9)  # below: hyperparams and configuration also read as execution.parameters / model_desc
MODELS_VERSION = (2, 13)  # below: models also read as execution.model / output.model
LEGACY_PATHS = (
    ("execution.parameters", "hyperparams.Args"), ("execution.model_desc", "configuration"), ("execution.docker_cmd", "container"),
)  # fmt: skip


def stored_hyperparams(hyperparams: dict[str, dict[str, dict[str, Any]]]) -> dict[str, dict[str, dict[str, Any]]]:
    """{section: {name: item}} as stored: keys escaped, each item carrying its section and name."""
    return {
        escape_key(section): {
            escape_key(name): {**item, "section": section, "name": name} for name, item in (params or {}).items()
        }
        for section, params in hyperparams.items()
    }


def stored_configuration(configuration: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {escape_key(name): {**item, "name": name} for name, item in configuration.items()}


def prepare(call: Call, request: dict[str, Any], fields: dict[str, Any], previous: dict[str, Any] | None = None) -> None:
    """Fill `fields` (the task fields to store) from the request's hyperparams, configuration and execution.

    `previous` is the stored task an edit changes: legacy parameters replace its legacy items only.
    """
    if "models" in request:
        fields["models"] = task_models(request["models"] or {})
    if "hyperparams" in request:
        fields["hyperparams"] = stored_hyperparams(request["hyperparams"])
    if "configuration" in request:
        fields["configuration"] = stored_configuration(request["configuration"])
    if "execution" not in request:
        return
    execution = dict(request["execution"] or {})
    for legacy, target, sectioned in (("parameters", "hyperparams", True), ("model_desc", "configuration", False)):
        values = execution.pop(legacy, None)
        if values is None:
            continue
        if not isinstance(values, dict):
            raise ApiError("validation_error", f"error for field 'execution.{legacy}': must be an object of name: value")
        if target not in fields:
            fields[target] = _without_legacy((previous or {}).get(target) or {}, sectioned)
        for full_name, value in values.items():
            item = {"name": full_name, "type": LEGACY_TYPE, "value": str(value)}
            if sectioned:
                section, name = _split_legacy_name(full_name)
                item.update(section=section, name=name)
                fields[target].setdefault(escape_key(section), {})[escape_key(name)] = item
            else:
                fields[target][escape_key(full_name)] = item
    if "model" in execution:  # the legacy single input model
        model_id = execution.pop("model")
        if model_id:
            check_model(call, model_id)
        models = fields.get("models") or task_models(_models_of(previous))
        models.input = [ModelItem(name=LEGACY_INPUT_NAME, model=model_id, updated=utcnow())] if model_id else []
        fields["models"] = models
    if "artifacts" in execution:
        execution["artifacts"] = merge_artifacts([], execution["artifacts"] or [])
    fields["execution"] = execution


def task_models(models: dict[str, Any]) -> TaskModels:
    """{input: [{name, model}], output: [...]} as the task's embedded models."""
    now = utcnow()
    return TaskModels(**{
        kind: [ModelItem(name=m["name"], model=m["model"], updated=m.get("updated") or now) for m in models.get(kind) or []]
        for kind in ("input", "output")
    })  # fmt: skip


def check_model(call: Call, model_id: str) -> None:
    if Model._get_collection().find_one({"_id": model_id, **readable(call)}, {"_id": 1}) is None:
        raise ApiError("invalid_model_id", "no such model", model=model_id)


def merge_artifacts(current: list[dict[str, Any]], given: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`current` with `given` added or replacing the ones of the same (key, mode), ordered by key and mode."""
    by_id = {(a.get("key"), a.get("mode", DEFAULT_ARTIFACT_MODE)): a for a in current}
    for artifact in given:
        artifact = {**artifact, "mode": artifact.get("mode", DEFAULT_ARTIFACT_MODE)}
        by_id[(artifact["key"], artifact["mode"])] = artifact
    return [by_id[k] for k in sorted(by_id, key=lambda k: (str(k[0]), str(k[1])))]


def render(call: Call, task: dict[str, Any]) -> dict[str, Any]:
    """A task (already in API form: id, plain fields restored) as the caller's version reads it."""
    for name in ("hyperparams", "configuration"):
        if isinstance(task.get(name), dict):
            task[name] = _unescaped(task[name], sectioned=name == "hyperparams")
    execution = task.get("execution")
    if isinstance(execution, dict) and isinstance(execution.get("artifacts"), list):
        task["execution"] = execution = {**execution, "artifacts": merge_artifacts([], execution["artifacts"])}
    version = call.requested_version
    if version is not None and version < PARAMS_VERSION:
        legacy_params = {
            (f"{TF_DEFINE}/{i['name']}" if i.get("section") == TF_DEFINE else i["name"]): i.get("value", "")
            for section in (task.get("hyperparams") or {}).values() for i in section.values() if i.get("type") == LEGACY_TYPE
        }  # fmt: skip
        configuration = (task.get("configuration") or {}).values()
        legacy_config = {i["name"]: i.get("value", "") for i in configuration if i.get("type") == LEGACY_TYPE}
        if legacy_params or legacy_config:
            task["execution"] = execution = dict(execution or {})
            if legacy_params:
                execution["parameters"] = legacy_params
            if legacy_config:
                execution["model_desc"] = legacy_config
    if version is not None and version < MODELS_VERSION and isinstance(task.get("models"), dict):
        inputs, outputs = task["models"].get("input") or [], task["models"].get("output") or []
        if inputs:
            task["execution"] = {**(task.get("execution") or {}), "model": inputs[0]["model"]}
        if outputs:
            task["output"] = {**(task.get("output") or {}), "model": outputs[-1]["model"]}
    return task


def listing_paths(request: dict[str, Any]) -> dict[str, Any]:
    """only_fields and order_by as stored paths: legacy names mapped to where they live, and the parts of
    hyperparams/configuration paths escaped (a client may send them raw or %-escaped)."""
    request = dict(request)
    for option in ("only_fields", "order_by"):
        if request.get(option):
            request[option] = [_stored_path(path) for path in request[option]]
    return request


def _stored_path(path: str) -> str:
    for legacy, current in LEGACY_PATHS:
        for sign in ("", "-"):
            if path.startswith(sign + legacy):
                path = sign + current + path[len(sign + legacy):]
    if path.lstrip("-").startswith(("hyperparams.", "configuration.")):
        head, *parts = path.split(".")
        path = ".".join([head, *(escape_key(unescape_key(part)) for part in parts)])
    return path


def _unescaped(value: dict[str, Any], sectioned: bool) -> dict[str, Any]:
    if sectioned:
        return {unescape_key(s): {unescape_key(n): i for n, i in (items or {}).items()} for s, items in value.items()}
    return {unescape_key(n): i for n, i in value.items()}


def _without_legacy(stored: dict[str, Any], sectioned: bool) -> dict[str, Any]:
    if not sectioned:
        return {k: v for k, v in stored.items() if v.get("type") != LEGACY_TYPE}
    kept = {s: {k: v for k, v in items.items() if v.get("type") != LEGACY_TYPE} for s, items in stored.items()}
    return {s: items for s, items in kept.items() if items or not stored[s]}


def _split_legacy_name(full_name: str) -> tuple[str, str]:
    section, _, name = full_name.partition("/")
    if section != TF_DEFINE:
        return DEFAULT_SECTION, full_name
    if not name:
        raise ApiError("validation_error", "a TF_DEFINE parameter needs a name")
    return section, name


def _models_of(previous: dict[str, Any] | None) -> dict[str, Any]:
    return dict((previous or {}).get("models") or {})
