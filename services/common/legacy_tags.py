"""Tags as clients of API 2.1 and 2.2 know them: one `tags` list, before `system_tags` existed (2.3).

As clearml-server: a call below 2.3 that sends `tags` without `system_tags` has the tags the server
owns (a task's "archived" or "development", a model's "archived", a project's "public"...) moved into
`system_tags` (its filters too: `-archived` excludes archived entities), and its answers show both lists
merged in `tags`. Newer calls see the two lists apart. Wrapped around the handlers of the services whose
entities have system tags (services/__init__.py), so no handler knows of it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from regista.server.call import Call

FIRST_WITH_SYSTEM_TAGS = (2, 3)
SYSTEM_TAG_NAMES = {
    "task": ("active", "archived", "development"),
    "model": ("active", "archived"),
    "project": ("archived", "public", "default"),
    "queue": ("default",),
}
SYSTEM_TAG_PREFIXES = {"task": ("annotat",)}  # annotation tools' own tags

Handler = Callable[[Call, dict[str, Any]], dict[str, Any]]


def partition(entity: str, tags: list[str], system_tags: list[str] | tuple = ()) -> tuple[list[str], list[str]]:
    """(user tags, system tags) of an old client's tags: a system tag name, or its exclusion ("-archived"),
    is the server's."""
    names = SYSTEM_TAG_NAMES[entity]
    owned = set(names) | {f"-{name}" for name in names}
    prefixes = SYSTEM_TAG_PREFIXES.get(entity, ())
    system = list(dict.fromkeys([*system_tags, *(t for t in tags if t in owned or t.lower().startswith(prefixes))]))
    return [t for t in tags if t not in system], system


def for_old_clients(entity: str, handler: Handler) -> Handler:
    """`handler`, with the tags of calls below 2.3 partitioned on the way in and merged on the way out."""

    def handle(call: Call, request: dict[str, Any]) -> dict[str, Any]:
        requested = call.requested_version
        if requested is None or requested >= FIRST_WITH_SYSTEM_TAGS:
            return handler(call, request)
        tags = request.get("tags")
        if isinstance(tags, list) and not request.get("system_tags") and all(isinstance(t, str) for t in tags):
            user, system = partition(entity, tags)
            request = {**request, "tags": user, "system_tags": system}
        return _merged(handler(call, request))

    handle.__name__ = getattr(handler, "__name__", "handler")
    handle.__doc__ = handler.__doc__
    return handle


def _merged(answer: Any, depth: int = 0) -> Any:
    """Entities in the answer (its values, and the items of its lists) with their system tags in `tags`."""
    if isinstance(answer, dict):
        if isinstance(answer.get("system_tags"), list) and answer["system_tags"]:
            answer["tags"] = sorted(set(answer.get("tags") or []) | set(answer["system_tags"]))
        if depth < 2:
            for value in answer.values():
                _merged(value, depth + 1)
    elif isinstance(answer, list) and depth < 2:
        for item in answer:
            _merged(item, depth)
    return answer
