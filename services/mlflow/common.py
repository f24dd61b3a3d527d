"""Lookups and MLflow's validation rules shared by the MLflow handlers."""

from __future__ import annotations

import re
from typing import Any

from regista.server.call import Call
from regista.server.errors import ApiError
from regista.services.common import scroll
from regista.services.common.tenancy import writable
from regista.services.common.values import new_id, utcnow
from regista.services.auth.documents import User
from regista.services.events import scalar_tail
from regista.services.mlflow import run_records, shapes
from regista.services.projects.documents import Project
from regista.services.tasks.documents import Task

DEFAULT_EXPERIMENT = "0"
MAX_SEARCH_RESULTS = 1000
MAX_KEY_LENGTH = 250
KEY_PATTERN = re.compile(r"^[\w\-. :/]+$")


def default_experiment(call: Call) -> dict[str, Any]:
    """The company's "Default" experiment, MLflow's experiment "0", created on first use."""
    collection = Project._get_collection()
    raw = collection.find_one({"company": call.company, "name": "Default"})
    if raw is None:
        project = Project(id=new_id(), company=call.company, user=call.user, name="Default", created=utcnow())
        project.save(force_insert=True)
        raw = collection.find_one({"_id": project.id})
    return raw


def find_experiment(call: Call, experiment_id: str) -> dict[str, Any]:
    if experiment_id == DEFAULT_EXPERIMENT:
        return default_experiment(call)
    raw = Project._get_collection().find_one({"_id": experiment_id, **writable(call)})
    if raw is None:
        raise ApiError("resource_does_not_exist", f"No Experiment with id={experiment_id} exists")
    return raw


def check_experiment_active(raw: dict[str, Any]) -> None:
    if "archived" in (raw.get("system_tags") or []):
        raise ApiError(
            "invalid_parameter_value", f"The experiment {raw['_id']} must be in the 'active' state. Current state is deleted."
        )


def run_id_of(request: dict[str, Any]) -> str:
    run_id = request.get("run_id") or request.get("run_uuid")
    if not run_id:
        raise ApiError("invalid_parameter_value", "Missing value for required parameter 'run_id'")
    return run_id


def find_run(call: Call, run_id: str) -> dict[str, Any]:
    """The run's task as stored, but for the scalar writes it holds (up to a few kilobytes no MLflow
    answer shows: scalar_tail; left out, the embedded database and the driver convert less on every read)."""
    raw = Task._get_collection().find_one({"_id": run_id, **writable(call)}, {scalar_tail.FIELD: 0})
    if raw is None:
        raise ApiError("resource_does_not_exist", f"Run with id={run_id} not found")
    return raw


def as_runs(call: Call, tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Tasks as MLflow runs, those made by ClearML showing their user's name as mlflow.user (one read of
    the users, and only when there is such a task)."""
    owners = {t.get("user") for t in tasks if not shapes.made_by_mlflow(run_records.record_of(t))}
    names = user_names(call, owners)
    return [shapes.run(raw, run_records.record_of(raw), names.get(raw.get("user"), "")) for raw in tasks]


def user_names(call: Call, user_ids: set[str]) -> dict[str, str]:
    """The names of the caller's company's users, by id (a user no longer there is left out)."""
    user_ids = {user for user in user_ids if user}
    if not user_ids:
        return {}
    found = User._get_collection().find({"_id": {"$in": sorted(user_ids)}, "company": call.company}, {"name": 1})
    return {user["_id"]: user.get("name") or user["_id"] for user in found}


def stored_tag_value(call: Call, key: str, value: str) -> str:
    """A tag's value as stored. The MLflow client fills mlflow.user with MLFLOW_TRACKING_USERNAME, which
    against Regista is the caller's access key; MLflow's server, whose basic auth takes user names, shows
    the user's name there, and so does Regista."""
    identity = call.identity
    if key == shapes.USER_TAG and identity is not None and identity.access_key and value == identity.access_key:
        return identity.user_name
    return value


def check_key(key: str, kind: str) -> str:
    """MLflow's key rules: at most 250 characters of a safe alphabet, no path traversal."""
    if not key or len(key) > MAX_KEY_LENGTH:
        raise ApiError("invalid_parameter_value", f"{kind} name must be 1 to {MAX_KEY_LENGTH} characters: {key[:50]!r}")
    if not KEY_PATTERN.match(key) or key.startswith("/") or ".." in key.split("/"):
        raise ApiError(
            "invalid_parameter_value",
            f"Invalid {kind} name: {key!r}. Names may only contain alphanumerics, underscores (_), dashes (-), "
            "periods (.), spaces ( ), colons (:) and slashes (/), and may not be absolute or climb with '..'",
        )
    return key


def page_of(items: list[dict[str, Any]], request: dict[str, Any], key: str, secret: str, default_limit: int = MAX_SEARCH_RESULTS) -> dict[str, Any]:
    """One page of a search, with the signed token of the next (as stateless as scroll ids)."""
    limit = int(request.get("max_results") or default_limit)
    fingerprint = scroll.query_fingerprint({k: v for k, v in request.items() if k not in ("page_token", "max_results")})
    start = scroll.decode(secret, request["page_token"], fingerprint) if request.get("page_token") else 0
    page = items[start : start + limit]
    result: dict[str, Any] = {key: page} if page else {}
    if start + limit < len(items):
        result["next_page_token"] = scroll.encode(secret, start + limit, fingerprint)
    return result
