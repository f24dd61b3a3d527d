"""models.import: a model copied from another server (`regista import clearml`), with its id and times. Two
steps: the model first, without its task and parent (which may not be copied yet), then, once they are,
those and its readiness and times."""

from __future__ import annotations

from typing import Any

from regista.server.call import Call
from regista.services.common.atomic import modify
from regista.services.common.imports import copied_answer, kept_id, source_dates
from regista.services.common.values import utcnow
from regista.services.models.documents import Model
from regista.services.models.handlers import model_fields, check_references

CREATABLE = ("uri", "name", "comment", "tags", "system_tags", "framework", "design", "labels", "metadata")
TIMES = ("created", "last_update", "last_change")


def import_model(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    def finish(model_id: str) -> None:
        references = _references(call, request)
        modify(Model, {"_id": model_id}, lambda model: _complete(model, request, references))

    answer = copied_answer(Model._get_collection(), call.company, request, finish)
    if answer is not None:
        return answer
    complete = request.get("complete", True)
    fields = model_fields(request, CREATABLE)
    if request.get("project"):
        check_references(call, {"project": request["project"]})
    references = _references(call, request) if complete else {}
    now = utcnow()
    model = Model(id=kept_id(Model._get_collection(), request["id"]), company=call.company, user=call.user, created=now,
                  last_update=now, last_change=now, project=request.get("project"), ready=False,
                  imported_from=request["source"], import_complete=False, **fields)  # fmt: skip
    for name, value in source_dates(request, TIMES).items():
        model[name] = value
    if complete:
        _complete(model, request, references)
    model.save(force_insert=True)
    return {"id": model.id, "created": True, "complete": bool(complete)}


def _references(call: Call, request: dict[str, Any]) -> dict[str, str]:
    references = {key: request[key] for key in ("task", "parent") if request.get(key)}
    check_references(call, references)
    return references


def _complete(model: Model, request: dict[str, Any], references: dict[str, str]) -> None:
    for key, value in references.items():
        model[key] = value
    model.ready = bool(request.get("ready", True))
    for name, value in source_dates(request, TIMES).items():
        model[name] = value
    model.import_complete = True
