"""MLflow 3 webhooks: create, list, get, update, delete and test; and `fire`, which the registry's
handlers call to queue an event (webhook_delivery.py sends it, never inside the request).

A webhook listens for entity/action pairs MLflow defines (MODEL_VERSION created, PROMPT_ALIAS deleted...).
Its secret is stored encrypted and never answered. Its URL must use a scheme `webhooks.allowed_schemes`
lists and, unless `webhooks.allow_private_addresses`, resolve to public addresses only.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import requests

from regista.server.call import Call
from regista.server.errors import ApiError
from regista.services.common import scroll
from regista.services.common.atomic import modify
from regista.services.common.values import utcnow
from regista.services.mlflow import webhook_delivery as delivery
from regista.services.mlflow.genai_documents import Webhook
from regista.services.mlflow.trace_info import plain

VALID_ACTIONS = {
    "REGISTERED_MODEL": {"CREATED"}, "MODEL_VERSION": {"CREATED"}, "MODEL_VERSION_TAG": {"SET", "DELETED"},
    "MODEL_VERSION_ALIAS": {"CREATED", "DELETED"}, "PROMPT": {"CREATED"}, "PROMPT_VERSION": {"CREATED"},
    "PROMPT_TAG": {"SET", "DELETED"}, "PROMPT_VERSION_TAG": {"SET", "DELETED"}, "PROMPT_ALIAS": {"CREATED", "DELETED"},
}  # fmt: skip
NAME = re.compile(r"^(?=.{1,63}$)[a-z0-9]([a-z0-9._-]*[a-z0-9])?$", re.IGNORECASE)
# What `test` sends for each event when none is named: an example of its payload.
EXAMPLES: dict[tuple[str, str], dict[str, Any]] = {
    ("REGISTERED_MODEL", "CREATED"): {"name": "example_model", "tags": {}, "description": "An example registered model"},
    ("MODEL_VERSION", "CREATED"): {"name": "example_model", "version": "1", "source": "models:/123", "run_id": "abcd1234",
                                   "tags": {}, "description": "An example model version"},
}  # fmt: skip


def _now() -> int:
    return int(utcnow().timestamp() * 1000)


def _not_found(webhook_id: str) -> ApiError:
    return ApiError("resource_does_not_exist", f"Webhook with ID {webhook_id} not found.")


def _events(raw: list[dict[str, Any]]) -> list[dict[str, str]]:
    if not raw:
        raise ApiError("invalid_parameter_value", "Webhook events cannot be empty")
    events = []
    for event in raw:
        entity, action = str(event.get("entity", "")).upper(), str(event.get("action", "")).upper()
        if entity not in VALID_ACTIONS:
            raise ApiError("invalid_parameter_value", f"Invalid entity '{entity.lower()}'. Valid entities are: {sorted(e.lower() for e in VALID_ACTIONS)}")
        if action not in VALID_ACTIONS[entity]:
            raise ApiError(
                "invalid_parameter_value",
                f"Invalid action '{action.lower()}' for entity '{entity.lower()}'. Valid actions are: {sorted(a.lower() for a in VALID_ACTIONS[entity])}",
            )
        if {"entity": entity, "action": action} not in events:
            events.append({"entity": entity, "action": action})
    return events


def _check_name(name: str) -> None:
    if not NAME.match(name):
        raise ApiError(
            "invalid_parameter_value",
            f"Webhook name {name!r} is invalid. It must start and end with a letter or digit, be less than 63 characters long, "
            "and contain only letters, digits, dots (.), underscores (_), and hyphens (-).",
        )


def shape(raw: dict[str, Any]) -> dict[str, Any]:
    webhook = {"webhook_id": raw["_id"], "name": raw["name"], "url": raw["url"], "events": raw.get("events") or [],
               "status": raw.get("status") or "ACTIVE", "creation_timestamp": raw.get("creation_timestamp") or 0,
               "last_updated_timestamp": raw.get("last_updated_timestamp") or 0}  # fmt: skip
    if raw.get("description"):
        webhook["description"] = raw["description"]
    return webhook


def find(call: Call, webhook_id: str) -> dict[str, Any]:
    raw = Webhook._get_collection().find_one({"_id": webhook_id, "company": call.company})
    if raw is None:
        raise _not_found(webhook_id)
    return raw


def create(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    _check_name(request["name"])
    delivery.check_url(call.config, request["url"])
    now = _now()
    webhook = Webhook(
        id=str(uuid.uuid4()), company=call.company, name=request["name"], description=request.get("description") or None,
        url=request["url"], events=_events(request["events"]), status=request.get("status") or "ACTIVE",
        secret=delivery.encrypt(call.config, request["secret"]) if request.get("secret") else None,
        creation_timestamp=now, last_updated_timestamp=now,
    )  # fmt: skip
    webhook.save(force_insert=True)
    return {"webhook": shape(webhook.to_mongo().to_dict())}


def list_webhooks(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    limit = int(request.get("max_results") or 100)
    secret = str(call.config.get("auth.token_secret"))
    fingerprint = scroll.query_fingerprint({"webhooks": call.company})
    start = scroll.decode(secret, request["page_token"], fingerprint) if request.get("page_token") else 0
    found = list(Webhook._get_collection().find({"company": call.company}).sort([("creation_timestamp", -1), ("_id", 1)]).skip(start).limit(limit + 1))
    result: dict[str, Any] = {"webhooks": [shape(raw) for raw in found[:limit]]}
    if len(found) > limit:
        result["next_page_token"] = scroll.encode(secret, start + limit, fingerprint)
    return result


def get(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    return {"webhook": shape(find(call, request["webhook_id"]))}


def update(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    if request.get("name") is not None:
        _check_name(request["name"])
    if request.get("url") is not None:
        delivery.check_url(call.config, request["url"])
    events = _events(request["events"]) if request.get("events") else None
    secret = delivery.encrypt(call.config, request["secret"]) if request.get("secret") else None

    def apply(webhook: Webhook) -> None:
        for field in ("name", "description", "url", "status"):
            if request.get(field) is not None:
                setattr(webhook, field, request[field])
        if events is not None:
            webhook.events = events
        if secret is not None:
            webhook.secret = secret
        webhook.last_updated_timestamp = _now()

    webhook, _ = modify(Webhook, {"_id": request["webhook_id"], "company": call.company}, apply)
    if webhook is None:
        raise _not_found(request["webhook_id"])
    return {"webhook": shape(webhook.to_mongo().to_dict())}


def delete(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    if Webhook._get_collection().delete_one({"_id": request["webhook_id"], "company": call.company}).deleted_count == 0:
        raise _not_found(request["webhook_id"])
    return {}


def test(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    """Send an example of an event the webhook listens for (or of the one named) now, and say what came back."""
    raw = find(call, request["webhook_id"])
    event = _events([request["event"]])[0] if request.get("event") else (raw.get("events") or [{}])[0]
    entity, action = event.get("entity", "MODEL_VERSION"), event.get("action", "CREATED")
    data = EXAMPLES.get((entity, action), {"name": "example", "version": "1", "key": "example_key", "value": "example_value", "alias": "example"})
    body = json.dumps({"entity": entity.lower(), "action": action.lower(), "timestamp": utcnow().isoformat() + "Z", "data": data})
    secret = delivery.decrypt(call.config, raw["secret"]) if raw.get("secret") else None
    try:
        answer = delivery.send(call.config, raw["url"], body, secret)
    except (requests.RequestException, ApiError) as exc:
        return {"result": {"success": False, "error_message": getattr(exc, "message", None) or str(exc)[:500]}}
    return {"result": {"success": answer.status_code < 400, "response_status": answer.status_code, "response_body": answer.text[:10_000]}}


def fire(call: Call, entity: str, action: str, data: dict[str, Any]) -> None:
    """Queue the event for the company's webhooks that listen for it (a registry handler calls this)."""
    delivery.queue(call.company, entity, action, data)


PROMPT_TAG = "mlflow.prompt.is_prompt"
PROMPT_TEXT_TAG = "mlflow.prompt.text"
# A prompt is a registered model marked as one: its events are the prompt's.
PROMPT_ENTITIES = {"REGISTERED_MODEL": "PROMPT", "MODEL_VERSION": "PROMPT_VERSION", "MODEL_VERSION_TAG": "PROMPT_VERSION_TAG",
                   "MODEL_VERSION_ALIAS": "PROMPT_ALIAS"}  # fmt: skip


def visible(tags: dict[str, str]) -> dict[str, str]:
    """Tags as an event shows them: without the prompt marks MLflow keeps to itself."""
    return {k: v for k, v in tags.items() if k not in (PROMPT_TAG, PROMPT_TEXT_TAG) and not k.startswith("_mlflow")}


def is_prompt(properties: dict[str, Any] | None) -> bool:
    return plain(properties).get(PROMPT_TAG) == "true"


def registry_event(call: Call, properties: dict[str, Any] | None, entity: str, action: str, data: dict[str, Any]) -> None:
    """A registered model's or model version's event, as its prompt's event when it is a prompt."""
    fire(call, PROMPT_ENTITIES[entity] if is_prompt(properties) else entity, action, data)


def prompt_tag_event(call: Call, properties: dict[str, Any] | None, action: str, data: dict[str, Any]) -> None:
    """A registered model's tag set or deleted: an event only for a prompt (MLflow has none for models)."""
    if is_prompt(properties):
        fire(call, "PROMPT_TAG", action, data)


def version_created(call: Call, properties: dict[str, Any] | None, version: dict[str, Any]) -> None:
    tags = plain(properties)
    common = {"name": version["name"], "version": str(version["version"]), "tags": visible(tags), "description": version.get("description") or ""}
    if tags.get(PROMPT_TAG) == "true":
        fire(call, "PROMPT_VERSION", "CREATED", {**common, "template": tags.get(PROMPT_TEXT_TAG, "")})
    else:
        fire(call, "MODEL_VERSION", "CREATED", {**common, "source": version.get("source") or "", "run_id": version.get("run_id") or None})
