"""The organization service: company-wide tags, the company's users and entity counts."""

from __future__ import annotations

from typing import Any

from regista.server.call import Call
from regista.server.errors import ApiError
from regista.services.auth.documents import User
from regista.services.common.listing import checked_regex, merge_clause
from regista.services.common.tenancy import readable, writable
from regista.services.common.list_queries import field_query
from regista.services.models.documents import Model
from regista.services.organization import usages
from regista.services.projects import hierarchy
from regista.services.projects.contents import projects_with_selected_children
from regista.services.projects.documents import Project
from regista.services.projects.queries import tags, tags_response
from regista.services.tasks.documents import Task

HIDDEN = "hidden"
# What get_entities_count counts for each request key; reports, pipeline runs and dataset versions are tasks
# of their type, in the subprojects of the projects asked for too.
ENTITIES = {"projects": Project, "tasks": Task, "models": Model, "pipelines": Project, "pipeline_runs": Task,
            "datasets": Project, "dataset_versions": Task, "reports": Task}  # fmt: skip
TASK_KINDS = {"reports": "report", "pipeline_runs": "controller", "dataset_versions": "data_processing"}
PATTERN_FIELDS = ("name", "basename", "description", "comment")
IGNORED = ("only_fields", "order_by", "page", "page_size", "size", "scroll_id", "refresh_scroll", "search_text",
           "include_subprojects", "search_hidden", "allow_public", "include_stats")  # fmt: skip


def get_tags(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, set[str]] = {}
    for document_class in (Model, Task):
        for field, values in tags(call, document_class, request).items():
            found.setdefault(field, set()).update(values)
    return tags_response(found)


def get_user_companies(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    users = [{"id": u["_id"], "name": u.get("name"), "avatar": u.get("avatar")}
             for u in User._get_collection().find({"company": call.company}, {"name": 1, "avatar": 1})]  # fmt: skip
    users.sort(key=lambda u: u["name"] or "")
    company = {"id": call.company, "name": call.identity.company_name if call.identity else "", "allocated": len(users), "owners": users}
    return {"companies": [company]}


def get_entities_count(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    """Each kind asked for counted (up to `limit`); a kind whose criteria fail is named in `errors` with the
    reason, and the other kinds are still counted, as clearml-server answers."""
    result: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for key, document_class in ENTITIES.items():
        data = request.get(key)
        if data is None:
            continue
        try:
            result[key] = _count(call, request, key, document_class, dict(data))
        except ApiError as error:
            errors[key] = str(error)
    if errors:
        result["errors"] = errors
    return result


def _count(call: Call, request: dict[str, Any], key: str, document_class: type, data: dict[str, Any]) -> int:
    allow_public = request.get("allow_public", True)
    users = request.get("active_users") or None
    if key in TASK_KINDS:
        data["type"], data["include_subprojects"] = [TASK_KINDS[key]], True
    if users:
        if document_class is Project:
            requested = data.get("id")
            ids, _ = projects_with_selected_children(call, [requested] if isinstance(requested, str) else requested,
                                                     users, None, {}, allow_public)  # fmt: skip
            if not ids:
                return 0
            data["id"] = ids
        elif not data.get("user"):
            data["user"] = users
    query = entity_query(call, data, allow_public)
    if key in ("projects", "tasks") and not request.get("search_hidden"):
        merge_clause(query, {"system_tags": {"$nin": [HIDDEN]}})
    limit = request.get("limit")
    count = document_class._get_collection().count_documents(query)  # the embedded database refuses a count's limit
    return min(count, limit) if limit else count


def entity_query(call: Call, data: dict[str, Any], allow_public: bool) -> dict[str, Any]:
    """A get_all-style search (patterns, lists in the list language, plain values) as one query."""
    query: dict[str, Any] = dict(readable(call) if allow_public else writable(call))
    for field, value in data.items():
        if field in IGNORED or value is None or field.startswith("_"):
            continue
        if field in PATTERN_FIELDS and isinstance(value, str):
            clause = {field: {"$regex": checked_regex(value, field)}}
        elif field == "project" and data.get("include_subprojects"):
            projects = [value] if isinstance(value, str) else list(value)
            clause = {"project": {"$in": hierarchy.with_children(projects)}}
        elif isinstance(value, (list, dict)):
            clause = field_query("_id" if field == "id" else field, value)
        else:
            clause = {"_id" if field == "id" else field: value}
        if clause:
            merge_clause(query, clause)
    return query


HANDLERS = {"get_tags": get_tags, "get_user_companies": get_user_companies, "get_entities_count": get_entities_count,
            "get_project_usages": usages.get_project_usages}
