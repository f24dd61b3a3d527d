"""Lookups and MLflow's validation rules shared by the MLflow handlers."""

from __future__ import annotations

import re
from typing import Any

from regista.server.call import Call
from regista.server.errors import ApiError
from regista.services.common.tenancy import writable
from regista.services.common.values import new_id, utcnow
from regista.services.projects.documents import Project
from regista.services.tasks.documents import Task

DEFAULT_EXPERIMENT = "0"
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


def run_id_of(request: dict[str, Any]) -> str:
    run_id = request.get("run_id") or request.get("run_uuid")
    if not run_id:
        raise ApiError("invalid_parameter_value", "Missing value for required parameter 'run_id'")
    return run_id


def find_run(call: Call, run_id: str) -> dict[str, Any]:
    raw = Task._get_collection().find_one({"_id": run_id, **writable(call)})
    if raw is None:
        raise ApiError("resource_does_not_exist", f"Run with id={run_id} not found")
    return raw


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
