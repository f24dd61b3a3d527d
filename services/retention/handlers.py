"""retention.*: a company's admins set, read and apply the retention policies of its projects."""

from __future__ import annotations

from typing import Any

from pymongo.errors import DuplicateKeyError

from regista.server.call import Call
from regista.server.errors import ApiError
from regista.services.common.tenancy import writable
from regista.services.common.values import utcnow
from regista.services.projects.documents import Project
from regista.services.retention import passes, policies
from regista.services.retention.documents import RetentionPolicy


def get_all(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    own = policies.stored(call.company)
    configured = policies.configured(call.config)
    projects = {p.project for p in own} | {p.project for p in configured}
    names = {
        raw["_id"]: raw.get("name")
        for raw in Project._get_collection().find({"_id": {"$in": sorted(projects)}, **writable(call)}, {"name": 1})
    }  # fmt: skip
    shown = [p for p in own] + [p for p in configured if p.project in names]  # another company's: not shown
    return {"policies": [_shown(p, names.get(p.project)) for p in sorted(shown, key=lambda p: (p.project, p.source))]}


def set_policy(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    named = policies.check_days(request)
    project = _project(call, request["project"])
    document = {"_id": project["_id"], "company": call.company, **{k: v for k, v in named.items() if v is not None},
                "updated": utcnow(), "updated_by": call.user, "_rev": 0}  # fmt: skip
    _save(document)
    saved = next(p for p in policies.stored(call.company) if p.project == project["_id"])
    return {"policy": _shown(saved, project.get("name"))}


def delete_policy(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    return {"deleted": RetentionPolicy._get_collection().delete_one({"_id": request["project"], "company": call.company}).deleted_count}


def apply(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    return passes.apply(call.config, call.company, dry_run=bool(request.get("dry_run"))).as_dict()


def _save(document: dict[str, Any]) -> None:
    """Replace or insert, not upsert: the embedded database stores the datetimes an upsert writes as text."""
    collection = RetentionPolicy._get_collection()
    for _ in range(3):
        if collection.replace_one({"_id": document["_id"], "company": document["company"]}, document).matched_count:
            return
        try:
            collection.insert_one(document)
            return
        except DuplicateKeyError:
            continue  # set at the same moment by another call: replace that one
    raise ApiError("update_conflict", "the policy was changed concurrently, try again")


def _project(call: Call, project_id: str) -> dict[str, Any]:
    """A project of the caller's company (a public one belongs to every company: no policy for it)."""
    raw = Project._get_collection().find_one({"_id": project_id, **writable(call)}, {"name": 1})
    if raw is None:
        raise ApiError("invalid_project_id", "no such project", id=project_id)
    return raw


def _shown(policy: policies.Policy, name: str | None) -> dict[str, Any]:
    shown: dict[str, Any] = {"project": policy.project, "source": policy.source, **{kind: policy.days.get(kind) for kind in policies.KINDS}}
    if name is not None:
        shown["project_name"] = name
    if policy.updated is not None:
        shown["updated"] = policy.updated.isoformat(timespec="seconds") + "Z"
    return shown


HANDLERS = {"get_all": get_all, "set": set_policy, "delete": delete_policy, "apply": apply}
