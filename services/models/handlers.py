"""The models service: reading, listing, creating, editing and deleting models."""

from __future__ import annotations

from typing import Any

from regista.server.call import Call
from regista.server.errors import ApiError
from regista.services.common import references
from regista.services.common.atomic import modify
from regista.services.common.documents import plain_fields
from regista.services.common.listing import ListingSpec, plan_listing, run_listing, run_scrolled_listing
from regista.services.common.tenancy import PUBLIC, readable, writable
from regista.services.common.values import new_id, parse_datetime, to_api, utcnow
from regista.services.models.documents import Model
from regista.services.projects.documents import Project
from regista.services.tasks.documents import Task, TaskStatus
from regista.services.tasks.status import task_exists

LISTING = ListingSpec(
    list_fields=("id", "project", "task", "framework", "uri", "user"),
    pattern_fields=("name",),
    tag_fields=("tags", "system_tags"),
    bool_fields=("ready",),
    hidden_fields=("ui_cache",),
    text_search=True,
)

SCROLL_VERSION = (2, 15)  # get_all answers scroll ids from this version on

# Marks an input-model reference whose model was deleted with force, so the task shows what it used.
DELETED_PREFIX = "__DELETED__"


def get_by_id(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    return {"model": to_api(readable_model(call, request["model"]), plain_fields(Model))}


def get_all(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    answer = _list_models(call, request)
    if request.get("include_stats"):  # get_all_ex only: its schema declares the flag
        add_stats(call, answer["models"])
    return answer


def get_all_ex(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    """models.get_all_ex and get_by_id_ex: as get_all, with the project, task and parent references read as
    {id} plus the fields only_fields asks of them (services.common.references)."""
    only_fields, joins = references.split_only_fields(request.get("only_fields") or [], model_references())
    answer = get_all(call, {**request, "only_fields": only_fields} if request.get("only_fields") else request)
    references.expand(call, answer["models"], model_references(), joins)
    return answer


def model_references() -> tuple[references.Reference, ...]:
    return (references.Reference("project", Project._get_collection), references.Reference("task", Task._get_collection),
            references.Reference("parent", Model._get_collection))  # fmt: skip


def _list_models(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    max_page_size = int(call.config.get("api.max_page_size"))
    if request.get("include_subprojects") and request.get("project"):
        from regista.services.projects import hierarchy  # the projects service owns project paths

        request = {**request, "project": hierarchy.project_and_descendant_ids(call, request["project"])}
    scope = readable(call) if request.get("allow_public", True) else writable(call)
    listing = plan_listing(request, LISTING, scope, max_page_size)
    if call.actual_version < SCROLL_VERSION:
        return {"models": run_listing(Model, listing)}
    secret = str(call.config.get("auth.token_secret"))
    models, scroll_id = run_scrolled_listing(Model, listing, request, secret, max_page_size)
    return {"models": models, "scroll_id": scroll_id}


def create(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    creatable = ("uri", "name", "comment", "tags", "system_tags", "framework", "design", "labels", "ready", "metadata")
    fields = model_fields(request, creatable)
    references = {key: request[key] for key in ("project", "parent", "task") if request.get(key)}
    check_references(call, references)
    now = utcnow()
    model = Model(
        id=new_id(),
        company=PUBLIC if request.get("public") else call.company,
        user=call.user,
        created=now,
        last_update=now,
        last_change=now,
        **fields,
        **references,
    )
    model.save(force_insert=True)
    return {"id": model.id, "created": True}


def edit(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    editable = (
        "uri", "name", "comment", "tags", "system_tags", "framework", "design", "labels", "ready", "project",
        "parent", "task", "metadata",
    )  # fmt: skip
    return _update_model(call, request, editable)


def update(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    updatable = (
        "name", "comment", "tags", "system_tags", "ready", "created", "ui_cache", "project", "task", "metadata",
    )  # fmt: skip
    return _update_model(call, request, updatable)


def delete(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    model = writable_model(call, request["model"])
    model_id, force = model["_id"], bool(request.get("force"))
    tasks = Task._get_collection()
    # $elemMatch rather than a dotted path: the embedded database ignores array elements behind an index.
    using_model = {"models.input": {"$elemMatch": {"model": model_id}}, **writable(call)}
    users = [raw["_id"] for raw in tasks.find(using_model, {"_id": 1})]
    if users and not force:
        raise ApiError(
            "model_in_use", "the model is an input of tasks; use force to delete", model=model_id, tasks=users
        )
    creator = tasks.find_one({"_id": model["task"], **writable(call)}) if model.get("task") else None
    if creator and creator.get("status") == TaskStatus.published and not force:
        raise ApiError(
            "model_creating_task_exists", "and is published; use force to delete", model=model_id, task=creator["_id"]
        )
    for task_id in users:
        modify(Task, {"_id": task_id, **writable(call)}, lambda task: _mark_input_deleted(task, model_id))
    if creator and creator.get("status") == TaskStatus.published:
        # A published task keeps what it produced on record: the reference is marked, not dropped.
        note = f"model deleted on {utcnow().isoformat()}"
        modify(Task, {"_id": creator["_id"], **writable(call)}, lambda task: _mark_output_deleted(task, model_id, note))
    elif creator:
        modify(Task, {"_id": creator["_id"], **writable(call)}, lambda task: _drop_output(task, model_id))
    if not Model._get_collection().delete_one({"_id": model_id, **writable(call)}).deleted_count:
        # A concurrent delete won since our read: to this caller the model does not exist (one winner).
        raise ApiError("invalid_model_id", "no such company model", id=model_id)
    return {"deleted": True, "url": model.get("uri")}


def add_or_update_metadata(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    items = metadata_by_key(request["metadata"])
    model = writable_model(call, request["model"])
    current = {} if request.get("replace_metadata") else (model.get("metadata") or {})
    _, changed = store_model_changes(call, model["_id"], {"metadata": {**current, **items}})
    return {"updated": 1 if changed else 0}


def delete_metadata(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    model = writable_model(call, request["model"])
    current = model.get("metadata") or {}
    remaining = {key: item for key, item in current.items() if key not in set(request["keys"])}
    if remaining == current:
        return {"updated": 0}
    store_model_changes(call, model["_id"], {"metadata": remaining})
    return {"updated": 1}


def metadata_items(value: dict[str, Any] | list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Metadata as sent: ClearML clients key the items by their key, Regista's 2.20 clients list them."""
    if isinstance(value, dict):
        return [{**item, "key": item.get("key") or key} for key, item in value.items()]
    return value


def add_stats(call: Call, models: list[dict[str, Any]]) -> None:
    """Each listed model's `stats` (its number of labels), whatever fields the listing projected."""
    ids = [model["id"] for model in models if "id" in model]
    cursor = Model._get_collection().find({"_id": {"$in": ids}, **readable(call)}, {"labels": 1})
    counts = {raw["_id"]: len(raw.get("labels") or {}) for raw in cursor}
    for model in models:
        if model.get("id") in counts:
            model["stats"] = {"labels_count": counts[model["id"]]}


def metadata_by_key(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Metadata items keyed by their key, as stored and returned; the last of duplicate keys wins."""
    result = {}
    for index, item in enumerate(items):
        key = item["key"]
        if key.startswith("$") or "." in key:  # stored as a document key: MongoDB's rules apply
            raise ApiError("validation_error", f"error for field 'metadata.{index}.key': no '.' and no leading '$'")
        result[key] = {"key": key, "type": item.get("type", ""), "value": item.get("value", "")}
    return result


def readable_model(call: Call, model_id: str) -> dict[str, Any]:
    raw = Model._get_collection().find_one({"_id": model_id, **readable(call)})
    if raw is None:
        raise ApiError("invalid_model_id", "no such public or company model", id=model_id)
    return raw


def writable_model(call: Call, model_id: str) -> dict[str, Any]:
    """The caller's company model. A public model is nobody's to change (make it private first): as in
    ClearML, writing one answers like writing a model that does not exist."""
    raw = Model._get_collection().find_one({"_id": model_id, **writable(call)})
    if raw is None:
        raise ApiError("invalid_model_id", "no such company model", id=model_id)
    return raw


def check_references(call: Call, references: dict[str, str]) -> None:
    """Referenced project, task and parent model must exist (and be readable by the caller)."""
    if "project" in references:
        if Project._get_collection().find_one({"_id": references["project"], **readable(call)}, {"_id": 1}) is None:
            raise ApiError("invalid_project_id", "no such project", id=references["project"])
    if "task" in references:
        task_exists(call, references["task"])
    if "parent" in references:
        if Model._get_collection().find_one({"_id": references["parent"], **readable(call)}, {"_id": 1}) is None:
            raise ApiError("invalid_model_id", "no such parent model", id=references["parent"])


def store_model_changes(call: Call, model_id: str, fields: dict[str, Any]) -> tuple[Model, dict[str, Any]]:
    """Write `fields` to the caller's model, stamping last_update/last_change; returns the API-named changes."""
    now = utcnow()

    def change(model: Model) -> None:
        for key, value in fields.items():
            setattr(model, key, value)
        model.last_update = now
        model.last_change = now

    model, changed = modify(Model, {"_id": model_id, **writable(call)}, change)
    if model is None:
        raise ApiError("invalid_model_id", "no such company model", id=model_id)
    return model, to_api(changed, plain_fields(Model))


def raise_task_iteration(call: Call, task_id: str | None, iteration: int | None) -> None:
    """Keep the task's last_iteration at the highest iteration reported for it."""
    if not task_id or iteration is None:
        return

    def change(task: Task) -> None:
        task.last_iteration = max(task.last_iteration or 0, iteration)

    modify(Task, {"_id": task_id, **writable(call)}, change)


def _update_model(call: Call, request: dict[str, Any], allowed: tuple[str, ...]) -> dict[str, Any]:
    model = writable_model(call, request["model"])
    fields = model_fields(request, allowed)
    references = {key: fields[key] for key in ("project", "parent", "task") if fields.get(key)}
    if references.get("parent") == model["_id"]:
        raise ApiError("invalid_model_id", "a model cannot be its own parent", id=model["_id"])
    check_references(call, references)
    if "created" in fields:
        fields["created"] = parse_datetime(fields["created"], "created")
    if "uri" in fields:  # new weights: what the UI cached about the old ones goes (as ClearML does)
        fields.setdefault("ui_cache", {})
    changed: dict[str, Any] = {}
    if fields:
        _, changed = store_model_changes(call, model["_id"], fields)
    # The iteration belongs to the statistics of the model's task, not to the model.
    raise_task_iteration(call, fields.get("task") or model.get("task"), request.get("iteration"))
    return {"updated": 1 if changed else 0, "fields": changed}


def model_fields(request: dict[str, Any], allowed: tuple[str, ...]) -> dict[str, Any]:
    fields = {key: request[key] for key in allowed if key in request}
    if isinstance(fields.get("name"), str):
        fields["name"] = fields["name"].strip()
    if str(fields.get("task", "")).startswith(DELETED_PREFIX):  # a reference to a deleted task sent back
        del fields["task"]
    if "metadata" in fields:  # edit and update replace the metadata whole, as ClearML does
        fields["metadata"] = metadata_by_key(metadata_items(fields["metadata"]))
    return fields


def _mark_input_deleted(task: Task, model_id: str) -> None:
    for item in task.models.input:
        if item.model == model_id:
            item.model = f"{DELETED_PREFIX}{model_id}"


def _mark_output_deleted(task: Task, model_id: str, note: str) -> None:
    for item in task.models.output:
        if item.model == model_id:
            item.model = f"{DELETED_PREFIX}{model_id}"
    task.output = {**(task.output or {}), "error": note}


def _drop_output(task: Task, model_id: str) -> None:
    task.models.output = [item for item in task.models.output if item.model != model_id]
