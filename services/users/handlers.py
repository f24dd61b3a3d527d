"""The users of the caller's company: reading, listing, renaming and deleting them."""

from __future__ import annotations

from typing import Any

from regista.server.auth import ADMIN_ROLES
from regista.server.call import Call
from regista.server.errors import ApiError
from regista.services.auth.documents import Credentials, User
from regista.services.common.atomic import modify
from regista.services.common.listing import ListingSpec, plan_listing, run_listing
from regista.services.common.values import to_api
from regista.services.models.documents import Model
from regista.services.projects.documents import Project
from regista.services.tasks.documents import Task

LISTING = ListingSpec(list_fields=("id",), pattern_fields=("name",), hidden_fields=("preferences",))
PROFILE_FIELDS = ("name", "given_name", "family_name", "avatar")  # what users.update changes
CREATED_VERSION = (2, 20)  # get_current_user shows the user's creation time from this version on


def get_current_user(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    identity = call.identity
    stored = User._get_collection().find_one({"_id": identity.user}, {"preferences": 0, "_rev": 0}) or {}
    shown_fields = (*PROFILE_FIELDS, "email", *(("created",) if call.actual_version >= CREATED_VERSION else ()))
    user = {key: value for key, value in to_api(stored).items() if key in shown_fields}
    return {
        "user": {
            **user,
            "id": identity.user,
            "name": identity.user_name,
            "role": identity.role,
            "company": {"id": identity.company, "name": identity.company_name},
        }
    }


def get_by_id(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    return {"user": shown(company_user(call, request["user"]))}


def get_all(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    listing = plan_listing(request, LISTING, {"company": call.company}, int(call.config.get("api.max_page_size")))
    return {"users": [shown(user) for user in run_listing(User, listing)]}


def get_all_ex(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    """get_all; from 2.8 `active_in_projects` keeps the users who created projects, tasks or models in
    these projects and below them (an empty list: anywhere in the company)."""
    if request.get("active_in_projects") is None:
        return get_all(call, request)
    active = active_users(call, request["active_in_projects"], request.get("id") or [])
    if not active:
        return {"users": []}
    return get_all(call, {**request, "id": sorted(active)})


def update(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    user_id = request["user"]
    if user_id != call.user and call.identity.role not in ADMIN_ROLES:
        raise ApiError("invalid_user_id", "only admins may change other users", id=user_id)
    fields = {key: request[key] for key in PROFILE_FIELDS if key in request}
    if "name" in fields:
        fields["name"] = fields["name"].strip()

    def change(user: User) -> None:
        for key, value in fields.items():
            setattr(user, key, value)

    stored, changed = modify(User, {"_id": user_id, "company": call.company}, change)
    if stored is None:
        raise ApiError("invalid_user_id", "no such user in your company", id=user_id)
    return {"updated": 1 if changed else 0, "fields": to_api(changed)}


def delete(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    """Delete a user of the caller's company and its key pairs; what it created stays, still naming it."""
    user_id = request["user"]
    if user_id == call.user:
        raise ApiError("fields_value_error", "cannot delete yourself", user=user_id)
    scope = {"_id": user_id, **({} if call.identity.role == "system" else {"company": call.company})}
    if not User._get_collection().delete_one(scope).deleted_count:
        raise ApiError("invalid_user_id", "no such user in your company", id=user_id)
    Credentials._get_collection().delete_many({"user": user_id})
    return {}


def company_user(call: Call, user_id: str) -> dict[str, Any]:
    """The stored user, of the caller's company (any company for the system role), or invalid_user_id."""
    scope = {"_id": user_id, **({} if call.identity.role == "system" else {"company": call.company})}
    raw = User._get_collection().find_one(scope, {"preferences": 0})
    if raw is None:
        raise ApiError("invalid_user_id", "no such user in your company", id=user_id)
    return to_api(raw)


def shown(user: dict[str, Any]) -> dict[str, Any]:
    """A user as the API shows it: no preferences (users.get_preferences has them)."""
    user.pop("preferences", None)
    return user


def active_users(call: Call, project_ids: list[str], user_ids: list[str]) -> set[str]:
    """Who created projects, tasks or models of the company (within these projects, when given)."""
    query: dict[str, Any] = {"company": call.company}
    if user_ids:
        query["user"] = {"$in": list(user_ids)}
    project_query = dict(query)
    if project_ids:
        from regista.services.projects import hierarchy  # the projects service owns project paths

        ids = hierarchy.with_children(project_ids)
        query["project"], project_query["_id"] = {"$in": ids}, {"$in": ids}
    users: set[str] = set()
    for document_class, scope in ((Project, project_query), (Task, query), (Model, query)):
        # find, not distinct: the embedded database's distinct ignores operator conditions such as $in.
        users.update(raw.get("user") for raw in document_class._get_collection().find(scope, {"user": 1}))
    users.discard(None)
    return users
