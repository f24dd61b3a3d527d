"""Finding projects: the get_all filters plus the hierarchy's (parent, shallow_search) and hidden projects."""

from __future__ import annotations

from typing import Any

from regista.server.call import Call
from regista.services.common.listing import ListingSpec, plan_listing, run_listing
from regista.services.common.tenancy import readable, writable
from regista.services.projects import hierarchy
from regista.services.projects.documents import Project

LISTING = ListingSpec(
    list_fields=("id",),
    pattern_fields=("name", "basename", "description"),
    tag_fields=("tags", "system_tags"),
    hidden_fields=("properties", "company_origin"),
    text_search=True,
)
HIDDEN = "hidden"  # the system tag of projects that searches skip unless search_hidden


def list_projects(call: Call, request: dict[str, Any], allow_public: bool = True,
                  only_ids: list[str] | None = None) -> list[dict[str, Any]]:  # fmt: skip
    """Projects matching a get_all(_ex) request: hidden ones only on search_hidden (or by id), and with
    `parent` among the children of those projects (shallow_search) or anywhere below them."""
    scope = dict(readable(call) if allow_public else writable(call))
    if not request.get("search_hidden") and not request.get("id"):  # the ids asked for, not those selected
        scope["system_tags"] = {"$nin": [HIDDEN]}
    request = dict(request)
    if only_ids is not None:
        request["id"] = only_ids
    parents = request.get("parent")
    if request.get("shallow_search"):
        scope["parent"] = {"$in": list(parents)} if parents else None
    elif parents:
        scope["path"] = {"$in": list(parents)}
    listing = plan_listing(request, LISTING, scope, int(call.config.get("api.max_page_size")))
    return run_listing(Project, listing)


def shown(project: dict[str, Any], only_fields: list[str] | None = None) -> dict[str, Any]:
    """A project as the API shows it: MLflow's experiment tags left out, the basename there unless
    only_fields leaves it out (projects stored by MLflow have none: it is derived from the name)."""
    project.pop("properties", None)
    project.pop("company_origin", None)
    wanted = not only_fields or "basename" in only_fields
    if wanted and "name" in project and "basename" not in project:
        project["basename"] = hierarchy.basename(project)
    return project
