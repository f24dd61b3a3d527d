"""The tasks service: creating, reading and editing tasks, and their status changes."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NoReturn

from regista.server.call import Call
from regista.server.errors import ApiError
from regista.services.common.atomic import modify
from regista.services.common.documents import plain_fields
from regista.services.common.listing import ListingSpec, plan_listing, run_listing, run_scrolled_listing
from regista.services.common.tenancy import readable, writable
from regista.services.common.values import new_id, to_api, utcnow
from regista.services.models.documents import Model
from regista.services.projects.documents import Project
from regista.services.tasks.documents import Task, TaskStatus
from regista.services.tasks.shape import listing_paths, prepare, render
from regista.services.tasks.status import task_exists

S = TaskStatus
LISTING = ListingSpec(
    list_fields=("id", "project", "status", "type", "user", "parent"),
    pattern_fields=("name", "comment"),
    tag_fields=("tags", "system_tags"),
    range_fields=("created", "started", "active_duration", "last_iteration"),
    datetime_fields=("status_changed", "last_update"),
    text_search=False,
    natural_order_prefixes=("hyperparams.", "execution.parameters."),  # strings holding numbers
)
SCROLL_VERSION = (2, 15)  # get_all answers scroll ids from this version on
SCRIPT_DEFAULTS = {"binary": "python", "repository": "", "entry_point": ""}
DELETED_PREFIX = "__DELETED__"  # a reference to a deleted task or model keeps its id behind this
TASK_TYPES = ("training", "testing", "inference", "data_processing", "application", "monitor", "controller", "optimizer",
              "service", "qc", "custom")  # fmt: skip
EDITABLE = ("name", "type", "comment", "project", "parent", "tags", "system_tags", "script", "runtime", "container")
# Status changes: the statuses each may start from besides its own target (force allows any but published).
TRANSITIONS = {
    "started": (S.created, S.queued, S.in_progress),
    "stopped": (S.in_progress, S.queued),
    "failed": (S.created, S.queued, S.in_progress, S.stopped),
    "completed": (S.in_progress, S.stopped),
    "publish": (S.stopped, S.completed, S.failed, S.closed),
    "close": (S.stopped,),
    "stop": (S.in_progress, S.queued),
}
STOPPING = "stopping"  # the status message that asks the agent running a task to stop it
DEVELOPMENT = "development"  # system tag of a task run by its developer, which no agent stops
CONTROLLER = "controller"  # type of a pipeline controller task, whose steps are its child tasks
STATUS_FIELDS = ("status", "status_reason", "status_message", "status_changed", "last_update")
DEFAULT_TASK_UPDATE_TIMEOUT_SEC = 600  # clearml-server's apiserver.workers.task_update_timeout
TARGET = {"started": S.in_progress, "stopped": S.stopped, "failed": S.failed, "completed": S.completed,
          "publish": S.published, "close": S.closed, "stop": S.stopped}  # fmt: skip


def create(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    fields = checked_fields(call, request)
    now = utcnow()
    task = Task(id=new_id(), company=call.company, user=call.user, status=S.created, created=now, last_update=now, **fields)
    task.output = {"destination": request["output_dest"]} if request.get("output_dest") else {}
    task.save(force_insert=True)
    return {"id": task.id}


def validate(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    """What create would refuse, without creating (a parent that was deleted is no longer checked)."""
    if str(request.get("parent", "")).startswith(DELETED_PREFIX):
        request = {k: v for k, v in request.items() if k != "parent"}
    checked_fields(call, request)
    return {}


def get_by_id(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    return {"task": shown(call, task_exists(call, request["task"]))}


def get_all(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    scope = dict(readable(call))
    if request.get("include_subprojects") and request.get("project"):
        from regista.services.projects import hierarchy  # the projects service owns project paths

        request = {**request, "project": hierarchy.project_and_descendant_ids(call, request["project"])}
    only_fields = request.get("only_fields") or []
    borrowed = "last_change" in only_fields and "last_update" not in only_fields  # read for with_last_change
    if borrowed:
        request = {**request, "only_fields": [*only_fields, "last_update"]}

    def whole(task: dict[str, Any]) -> dict[str, Any]:
        if not only_fields:
            return with_defaults(task)
        if "last_change" in only_fields:
            with_last_change(task)
        if borrowed:
            task.pop("last_update", None)
        return task

    max_page_size = int(call.config.get("api.max_page_size"))
    listing = plan_listing(listing_paths(request), LISTING, scope, max_page_size)
    if call.actual_version < SCROLL_VERSION:
        return {"tasks": [whole(render(call, task)) for task in run_listing(Task, listing)]}
    secret = str(call.config.get("auth.token_secret"))
    tasks, scroll_id = run_scrolled_listing(Task, listing, request, secret, max_page_size)
    return {"tasks": [whole(render(call, task)) for task in tasks], "scroll_id": scroll_id}


def get_types(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    query = dict(readable(call))
    if request.get("projects"):
        query["project"] = {"$in": request["projects"]}
    types = {raw.get("type") for raw in Task._get_collection().find(query, {"type": 1})}
    return {"types": sorted(t for t in types if t in TASK_TYPES)}


def shown(call: Call, raw: dict[str, Any]) -> dict[str, Any]:
    """A stored task as the caller's API version shows it, whole: as in clearml-server, execution always
    holds an artifacts list (the SDK iterates it without checking)."""
    return with_defaults(render(call, to_api(raw, plain_fields(Task))))


def with_defaults(task: dict[str, Any]) -> dict[str, Any]:
    execution = task.setdefault("execution", {})
    if isinstance(execution, dict):
        execution.setdefault("artifacts", [])
    # clearml-server's script defaults, in every task (a reset with clear_all leaves only them)
    task["script"] = {**SCRIPT_DEFAULTS, **(task.get("script") or {})}
    return with_last_change(task)


def with_last_change(task: dict[str, Any]) -> dict[str, Any]:
    """`last_change` (clearml-server's time of the last change a user made) as the last update when not
    stored: the SDK's schedulers compare the two, and fail on a missing one."""
    if task.get("last_change") is None and task.get("last_update") is not None:
        task["last_change"] = task["last_update"]
    return task


def edit(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    previous = task_exists(call, request["task"])
    fields = checked_fields(call, request, previous)

    def change(task: Task) -> None:
        if task.status != S.created and not request.get("force"):
            raise ApiError("invalid_task_status", "only tasks in status created can be edited (or use force)", id=task.id, status=task.status)
        if task.status == S.published:
            raise ApiError("invalid_task_status", "a published task cannot be edited", id=task.id, status=task.status)
        for key, value in fields.items():
            if key == "execution":
                value = {**(task.execution or {}), **value}
            setattr(task, key, value)
        if "output_dest" in request:
            task.output = {**(task.output or {}), "destination": request["output_dest"]}
        task.last_update = utcnow()
        if request.get("status") and request["status"] != task.status:
            task.status, task.status_changed = request["status"], task.last_update

    return _answer(call, write_task(call, request["task"], change))


def update(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    fields = checked_fields(call, {k: request[k] for k in ("name", "comment", "tags", "system_tags", "project") if k in request})

    def change(task: Task) -> None:
        if task.status == S.published:
            raise ApiError("invalid_task_status", "a published task cannot be changed", id=task.id, status=task.status)
        for key, value in fields.items():
            setattr(task, key, value)
        task.last_update = utcnow()

    return _answer(call, write_task(call, request["task"], change) if fields else {})


def change_status(action: str):
    """The handler of one status change (started, stopped, failed, completed, publish, close, stop)."""

    def handler(call: Call, request: dict[str, Any]) -> dict[str, Any]:
        return set_status(call, request["task"], action, request)

    handler.__name__ = action
    return handler


def set_status(call: Call, task_id: str, action: str, request: dict[str, Any]) -> dict[str, Any]:
    """One task's status change by `action`, with the request's force, status_reason and status_message.

    tasks.stop, as clearml-server: a task that a worker reports running (see run_by_worker) keeps its
    status and gets status_message "stopping", which its agent reads to abort it and then reports it
    stopped; a queued or development task, or one no worker runs, is stopped at once. `force` lifts the
    status check only. With include_pipeline_steps, a pipeline controller's steps are stopped first.
    """
    now = utcnow()
    message = request.get("status_message", "")
    if action == "stop":
        message = f"Stopped by {call.identity.user_name if call.identity else ''}".strip()
        if request.get("include_pipeline_steps"):
            _stop_pipeline_steps(call, task_id, request)
        _dequeue_if_queued(call, task_id)
    worker_timeout = float(call.config.get("workers.task_update_timeout_sec", DEFAULT_TASK_UPDATE_TIMEOUT_SEC))

    def change(task: Task) -> None:
        target, task_message = TARGET[action], message
        if action == "stop" and run_by_worker(task, now, worker_timeout):
            target, task_message = task.status, STOPPING
        allowed = (*TRANSITIONS[action], target)  # staying in a status is always allowed
        if task.status == S.published or (task.status not in allowed and not request.get("force")):
            raise ApiError(
                "invalid_task_status",
                f"tasks.{action} does not apply to a task in status {task.status} (it takes: {', '.join(allowed)})",
                id=task.id, status=task.status, expected=list(allowed),
            )  # fmt: skip
        task.status = S.published if action == "completed" and request.get("publish") else target
        task.status_reason = request.get("status_reason", "")
        task.status_message = task_message
        task.status_changed = task.last_update = now
        if action == "started" and not task.started:
            task.started = now
        if action in ("completed", "stopped", "failed") or (action == "stop" and target == S.stopped):
            task.completed = now
        if task.status == S.published:
            task.published = now

    task, changed = modify(Task, {"_id": task_id, **writable(call)}, change)
    if task is None:
        missing_task(call, task_id)
    if changed.get("status") == S.published and request.get("publish_model", True):
        publish_output_model(call, task_id)
    # As clearml-server, the status fields are answered whether they changed or not.
    answer = _answer(call, {**{name: getattr(task, name) for name in STATUS_FIELDS}, **changed})
    if action == "started":
        answer["started"] = answer["updated"]
    if action == "completed" and call.actual_version >= (2, 20):
        answer["published"] = 1 if changed.get("status") == S.published else 0
    return answer


def run_by_worker(task: Task, now: datetime, timeout_sec: float) -> bool:
    """Whether an agent runs the task, so that stopping it is left to that agent: not queued, not a
    development task, and a worker reported it with the task updated within the timeout."""
    if task.status == S.queued or DEVELOPMENT in (task.system_tags or []):
        return False
    return bool(task.last_worker and task.last_update and (now - task.last_update).total_seconds() < timeout_sec)


def _dequeue_if_queued(call: Call, task_id: str) -> None:
    """A queued task being stopped leaves its queue first, so that no agent takes it meanwhile."""
    raw = Task._get_collection().find_one({"_id": task_id, **writable(call)}, {"status": 1})
    if raw and raw.get("status") == S.queued:
        from regista.services.queues import entries  # the queues service owns the queues

        entries.remove_task_everywhere(call, task_id)


def _stop_pipeline_steps(call: Call, controller_id: str, request: dict[str, Any]) -> None:
    """Stop the steps of a pipeline controller task (forced, as clearml-server does); a step that cannot
    be stopped (published) is left as it is."""
    step_request = {**request, "force": True, "include_pipeline_steps": False}
    for step in pipeline_steps(call, controller_id):
        try:
            set_status(call, step, "stop", step_request)
        except ApiError:
            continue


def pipeline_steps(call: Call, task_id: str) -> list[str]:
    """The ids of the steps of a pipeline controller task: the caller's tasks whose parent it is. A task
    of another type has none (include_pipeline_steps applies to controllers only)."""
    raw = Task._get_collection().find_one({"_id": task_id, **writable(call)}, {"type": 1})
    if not raw or raw.get("type") != CONTROLLER:
        return []
    return [step["_id"] for step in Task._get_collection().find({"parent": task_id, **writable(call)}, {"_id": 1})]


def publish_output_model(call: Call, task_id: str) -> None:
    """Make the published task's last output model ready (published), as publishing a task does."""
    raw = Task._get_collection().find_one({"_id": task_id, **writable(call)}, {"models": 1})
    outputs = ((raw or {}).get("models") or {}).get("output") or []
    if not outputs:
        return
    now = utcnow()

    def change(model: Model) -> None:
        if not model.ready:
            model.ready = True
            model.last_update = model.last_change = now

    modify(Model, {"_id": outputs[-1]["model"], **writable(call)}, change)


def ping(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    write_task(call, request["task"], lambda task: setattr(task, "last_update", utcnow()))
    return {}


def checked_fields(call: Call, request: dict[str, Any], previous: dict[str, Any] | None = None) -> dict[str, Any]:
    fields = {key: request[key] for key in EDITABLE if key in request}
    prepare(call, request, fields, previous)
    if isinstance(fields.get("name"), str):
        fields["name"] = fields["name"].strip()
    if fields.get("project") and Project._get_collection().find_one({"_id": fields["project"], **readable(call)}, {"_id": 1}) is None:
        raise ApiError("invalid_project_id", "no such project", id=fields["project"])
    if fields.get("parent"):
        task_exists(call, fields["parent"])
    return fields


def write_task(call: Call, task_id: str, change) -> dict[str, Any]:
    """Apply `change` to the caller's task atomically; the changed fields (invalid_task_id if none)."""
    task, changed = modify(Task, {"_id": task_id, **writable(call)}, change)
    if task is None:
        missing_task(call, task_id)
    return changed


def missing_task(call: Call, task_id: str) -> NoReturn:
    """The error for a task the caller cannot write: public tasks are read-only, others do not exist."""
    if Task._get_collection().find_one({"_id": task_id, **readable(call)}, {"_id": 1}) is not None:
        raise ApiError("no_write_permission", "public tasks cannot be changed", id=task_id)
    raise ApiError("invalid_task_id", "no such task", id=task_id)


def _answer(call: Call, changed: dict[str, Any]) -> dict[str, Any]:
    return {"updated": 1 if changed else 0, "fields": render(call, to_api(changed, plain_fields(Task)))}


HANDLERS = {
    "create": create, "update": update, "get_by_id": get_by_id, "get_all": get_all, "get_all_ex": get_all, "get_by_id_ex": get_all,
    "edit": edit,
    "ping": ping, "validate": validate, "get_types": get_types, **{action: change_status(action) for action in TRANSITIONS},
}  # fmt: skip
