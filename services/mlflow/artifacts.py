"""Artifacts by run, model version and logged model: listings, and where a file to download is.

Regista reads the artifacts it keeps: those below a proxied root (`mlflow-artifacts:/...`), in the company's
artifact folder. A root elsewhere (a local path or bucket the client writes itself) is answered as the
root with no files, since Regista never reads a client's storage on its behalf.
"""

from __future__ import annotations

import posixpath
from pathlib import Path
from typing import Any

from regista.server.call import Call
from regista.server.errors import ApiError
from regista.services.artifacts import store
from regista.services.mlflow import clearml_outputs, logged_models, registry, run_records, shapes, uris
from regista.services.mlflow.common import find_run, run_id_of


def list_artifacts(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    """The run's files below `path`, and beside them what a ClearML task stored elsewhere (its console,
    debug images, plots, uploaded artifacts and models: services.mlflow.clearml_outputs)."""
    relative = uris.safe_relative_path(request["path"]) if request.get("path") else None
    run = find_run(call, run_id_of(request))
    result = _listing(call, _root_of(run), relative)
    generated = clearml_outputs.listing(clearml_outputs.tree(call, run), relative)
    if generated:
        kept = {item["path"] for item in result.get("files", [])}
        result["files"] = sorted([*result.get("files", []), *(i for i in generated if i["path"] not in kept)], key=lambda i: i["path"])
    return result


def list_logged_model_artifacts(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    path = request.get("artifact_directory_path")
    relative = uris.safe_relative_path(path) if path else None
    return _listing(call, logged_models.find(call, request["model_id"])["artifact_location"], relative)


def locate_run_file(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    """Where the run's file is: in the artifact folder, on the file server (store: files), or, for a
    ClearML task's console and plots, its generated text (content)."""
    relative = uris.safe_relative_path(_required(request, "path"))
    run = find_run(call, run_id_of(request))
    root = _root_of(run)
    folder = uris.proxied_path(root, relative)
    if folder is not None and (_company_folder(call) / folder).is_file():
        return _located(root, relative)
    entry = clearml_outputs.tree(call, run).get(relative.strip("/"))
    if entry is None:
        return _located(root, relative)
    name = posixpath.basename(relative.rstrip("/"))
    if "file" in entry:
        return {"path": entry["file"], "name": name, "store": "files"}
    return {"path": relative, "name": name, "content": clearml_outputs.content(call, entry, name)}


def locate_run_upload(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    """Where a file the web UI uploads to a run goes (POST /ajax-api/2.0/mlflow/upload-artifact), in MLflow's words."""
    run_id = request.get("run_uuid") or request.get("run_id")
    if not run_id:
        raise ApiError("invalid_parameter_value", "Request must specify run_uuid.")
    if not request.get("path"):
        raise ApiError("invalid_parameter_value", "Request must specify path.")
    relative = uris.safe_relative_path(request["path"])
    return _located(_run_root(call, run_id), relative)


def locate_model_version_file(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    relative = uris.safe_relative_path(_required(request, "path"))
    version = registry.find_version(call, _required(request, "name"), _required(request, "version"))
    return _located(resolve_source(call, version.get("uri", "")), relative)


def locate_logged_model_file(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    if not request.get("artifact_file_path"):
        raise ApiError("bad_request", 'Request must include the "artifact_file_path" query parameter.')
    relative = uris.safe_relative_path(request["artifact_file_path"])
    return _located(logged_models.find(call, request["model_id"])["artifact_location"], relative)


def resolve_source(call: Call, source: str) -> str:
    """A model version's source as a storage location: `models:/<model_id>` and `runs:/<run_id>/<path>` are
    the logged model's or the run's artifact root (and the path below it)."""
    parsed = uris.parse(source)
    parts = [p for p in parsed.path.split("/") if p]
    if parsed.scheme == "models" and len(parts) == 1 and parts[0].startswith("m-"):
        return logged_models.find(call, parts[0])["artifact_location"]
    if parsed.scheme == "runs" and parts:
        root = _run_root(call, parts[0])
        return uris.append_path(root, *parts[1:]) if len(parts) > 1 else root
    return source


def _run_root(call: Call, run_id: str) -> str:
    return _root_of(find_run(call, run_id))


def _root_of(run: dict[str, Any]) -> str:
    return shapes.run_info(run, run_records.record_of(run))["artifact_uri"]


def _required(request: dict[str, Any], field: str) -> str:
    value = request.get(field)
    if value is None or value == "":
        raise ApiError("invalid_parameter_value", f"Missing value for required parameter '{field}'.")
    return str(value)


def _company_folder(call: Call) -> Path:
    return store.company_root(call.config.get("artifacts.root"), call.company)


def _listing(call: Call, root: str, relative: str | None) -> dict[str, Any]:
    result: dict[str, Any] = {"root_uri": root}
    folder = uris.proxied_path(root, relative)
    if folder is None:
        return result
    files = []
    for entry in store.listing(_company_folder(call), folder):
        item = {"path": posixpath.join(relative, entry["path"]) if relative else entry["path"], "is_dir": entry["is_dir"]}
        if "file_size" in entry:
            item["file_size"] = entry["file_size"]
        files.append(item)
    if files:
        result["files"] = files
    return result


def _located(root: str, relative: str) -> dict[str, Any]:
    folder = uris.proxied_path(root, relative)
    if folder is None:
        raise ApiError(
            "invalid_parameter_value", f"The artifacts at {root} are not kept by this server: read them from that location"
        )
    return {"path": folder, "name": posixpath.basename(relative.rstrip("/")) or relative}
