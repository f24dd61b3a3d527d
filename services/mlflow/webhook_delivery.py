"""Webhook deliveries: queued in the database by the request that caused them, sent by a periodic job in
every server process (a delivery is claimed by compare-and-swap, so one process sends it), signed as
MLflow signs them, retried with backoff on 429 and 5xx, and never sent to an address of the private
network unless `webhooks.allow_private_addresses` says so.

Why a queue and not a thread pool: a delivery outlives the request and the process that queued it (a
worker restart loses nothing), and no API process holds work another one would need.

Signature: `X-MLflow-Signature: v1,<base64 HMAC-SHA256(secret, "<delivery id>.<timestamp>.<body>")>`, with
`X-MLflow-Delivery-Id` and `X-MLflow-Timestamp` (seconds), as MLflow's server sends them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import logging
import socket
import time
import urllib.parse
import uuid
from datetime import datetime, timezone
from typing import Any

import requests

from regista.server.config import Config
from regista.server.errors import ApiError
from regista.services.common.secret_box import SecretBox
from regista.services.mlflow.genai_documents import Webhook, WebhookDelivery

log = logging.getLogger(__name__)

RETRY_STATUSES = {429, 500, 502, 503, 504}
MAX_BACKOFF_S = 60
CLAIM_S = 120  # a claimed delivery another process may take over after this long (its sender died)
PASS_BUDGET_S = 5.0  # a pass stops sending after this long; the rest waits for the next pass
USER_AGENT = "Regista-Webhooks"
KEPT_S = 7 * 86_400  # finished deliveries are kept a week (to look into), then pruned
PRUNE_EVERY_S = 3_600
_last_prune = [0.0]  # when this process last pruned: an hourly chore, nothing another process needs


def interval_s(config: Config) -> float:
    return float(config.get("webhooks.delivery_interval_s"))


_SECRETS = SecretBox("webhooks.encryption_key", "webhook")


def encrypt(config: Config, secret: str) -> str:
    return _SECRETS.encrypt(config, secret)


def decrypt(config: Config, token: str) -> str | None:
    return _SECRETS.decrypt(config, token)


def check_url(config: Config, url: str) -> None:
    """MLflow's checks of a webhook's URL (a scheme config allows, a host), and, unless private addresses
    are allowed, that every address its host resolves to is public."""
    if not url.strip():
        raise ApiError("invalid_parameter_value", f"Webhook URL cannot be empty or just whitespace: {url!r}")
    try:
        parsed = urllib.parse.urlparse(url)
        host = parsed.hostname
    except ValueError as exc:
        raise ApiError("invalid_parameter_value", f"Invalid webhook URL {url!r}: {exc}") from None
    schemes = [str(s) for s in config.get("webhooks.allowed_schemes")]
    if parsed.scheme not in schemes:
        raise ApiError("invalid_parameter_value", f"Invalid webhook URL scheme: {parsed.scheme!r}. Allowed schemes are: {', '.join(schemes)}.")
    if not host:
        raise ApiError("invalid_parameter_value", f"Webhook URL must include a hostname: {url!r}")
    if not bool(config.get("webhooks.allow_private_addresses")):
        for address in _addresses(host, parsed.port):
            if not address.is_global or address.is_multicast:
                raise ApiError(
                    "invalid_parameter_value",
                    f"Webhook URL {url!r} resolves to {address}, a private, loopback, link-local or reserved address: refused "
                    "(webhooks.allow_private_addresses)",
                )


def _addresses(host: str, port: int | None) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        infos = socket.getaddrinfo(host, port or 443, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        raise ApiError("invalid_parameter_value", f"Webhook URL host {host!r} does not resolve") from None
    found = []
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%")[0])
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped
        found.append(address)
    return found


def queue(company: str, entity: str, action: str, data: dict[str, Any]) -> int:
    """A delivery of the event to each active webhook of the company that listens for it; how many."""
    hooks = Webhook._get_collection().find({"company": company, "status": "ACTIVE"}, {"events": 1, "url": 1})
    wanted = [hook for hook in hooks if {"entity": entity, "action": action} in (hook.get("events") or [])]
    if not wanted:
        return 0
    body = json.dumps({"entity": entity.lower(), "action": action.lower(), "timestamp": datetime.now(timezone.utc).isoformat(), "data": data})
    now = time.time()
    WebhookDelivery._get_collection().insert_many([
        {"_id": str(uuid.uuid4()), "company": company, "webhook": hook["_id"], "body": body, "attempts": 0,
         "next_attempt": now, "state": "pending", "claimed_until": 0.0}
        for hook in wanted
    ])  # fmt: skip
    return len(wanted)


def send(config: Config, url: str, body: str, secret: str | None, delivery_id: str | None = None) -> requests.Response:
    """One POST of a delivery (no redirects: a redirect must not lead into the private network)."""
    check_url(config, url)  # again at sending: the host may resolve elsewhere now
    delivery_id = delivery_id or str(uuid.uuid4())
    stamp = str(int(time.time()))
    headers = {"Content-Type": "application/json", "X-MLflow-Delivery-Id": delivery_id, "X-MLflow-Timestamp": stamp,
               "User-Agent": USER_AGENT}  # fmt: skip
    if secret:
        signed = hmac.new(secret.encode(), f"{delivery_id}.{stamp}.{body}".encode(), hashlib.sha256).digest()
        headers["X-MLflow-Signature"] = "v1," + base64.b64encode(signed).decode()
    return requests.post(url, data=body.encode(), headers=headers, timeout=float(config.get("webhooks.timeout_s")), allow_redirects=False)


def deliver_due(config: Config) -> int:
    """One pass: send the deliveries that are due, as many as fit in PASS_BUDGET_S; how many were sent."""
    collection = WebhookDelivery._get_collection()
    if time.time() - _last_prune[0] > PRUNE_EVERY_S:
        _last_prune[0] = time.time()
        for state in ("delivered", "failed", "dropped"):  # by equality: the embedded database's index serves it
            collection.delete_many({"state": state, "finished": {"$lt": time.time() - KEPT_S}})
    started, sent = time.monotonic(), 0
    while time.monotonic() - started < PASS_BUDGET_S:
        now = time.time()
        claimed = collection.find_one_and_update(
            {"state": "pending", "next_attempt": {"$lte": now}, "claimed_until": {"$lte": now}},
            {"$set": {"claimed_until": now + CLAIM_S}},
        )
        if claimed is None:
            return sent
        _attempt(config, claimed)
        sent += 1
    return sent


def _attempt(config: Config, delivery: dict[str, Any]) -> None:
    collection = WebhookDelivery._get_collection()
    hook = Webhook._get_collection().find_one({"_id": delivery["webhook"], "company": delivery["company"]})
    if hook is None or hook.get("status") != "ACTIVE":
        collection.update_one({"_id": delivery["_id"]}, {"$set": {"state": "dropped", "finished": time.time()}})
        return
    secret = decrypt(config, hook["secret"]) if hook.get("secret") else None
    attempts = int(delivery.get("attempts") or 0) + 1
    status, error, retry_after = None, None, None
    try:
        answer = send(config, hook["url"], delivery["body"], secret, delivery["_id"])
        status = answer.status_code
        retry_after = answer.headers.get("Retry-After")
    except (requests.RequestException, ApiError) as exc:
        error = str(exc)[:500]
    done = status is not None and status < 400
    retryable = (status in RETRY_STATUSES or status is None) and attempts <= int(config.get("webhooks.max_retries"))
    change: dict[str, Any] = {"attempts": attempts, "last_status": status, "last_error": error, "claimed_until": 0.0}
    if done:
        change.update(state="delivered", finished=time.time())
    elif retryable:
        change["next_attempt"] = time.time() + _backoff(attempts, retry_after)
    else:
        change.update(state="failed", finished=time.time())
        log.warning("webhook %s: delivery %s failed after %d attempts (%s)", hook["_id"], delivery["_id"], attempts, status or error)
    collection.update_one({"_id": delivery["_id"]}, {"$set": change})


def _backoff(attempts: int, retry_after: str | None) -> float:
    """1 s, 2 s, 4 s... up to a minute; a Retry-After the receiver sent (in seconds) is honoured."""
    if retry_after and retry_after.strip().isdigit():
        return min(float(retry_after), MAX_BACKOFF_S)
    return float(min(2 ** (attempts - 1), MAX_BACKOFF_S))
