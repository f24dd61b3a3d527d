"""Webhooks through the real MLflow client: created, listed, tested, told of registry and prompt events
from the background with MLflow's signature, retried, kept from private addresses, kept per company."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from mlflow.exceptions import MlflowException

from regista.services.mlflow import webhook_delivery
from regista.services.mlflow.genai_documents import Webhook
from tests.conftest import serve_in_thread

OPEN = {"webhooks.allow_private_addresses": True, "webhooks.allowed_schemes": ["http", "https"]}


class Receiver:
    """An HTTP endpoint on loopback recording what it is sent; `statuses` are answered first, then 200."""

    def __init__(self):
        self.calls: list[dict] = []
        self.statuses: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.calls.append({"headers": dict(self.headers), "body": body.decode()})
                self.send_response(receiver.statuses.pop(0) if receiver.statuses else 200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"

    def events(self) -> list[tuple[str, str, dict]]:
        return [(json.loads(c["body"])["entity"], json.loads(c["body"])["action"], json.loads(c["body"])["data"]) for c in self.calls]


@pytest.fixture
def receiver():
    found = Receiver()
    yield found
    found.server.shutdown()


@pytest.fixture
def opened(api, monkeypatch):
    """The test's caller on a server whose webhooks may post to loopback, and an MLflow client of it."""
    from mlflow.tracking import MlflowClient

    configured = api.with_config(OPEN)
    with serve_in_thread(configured.client.app) as url:
        monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", api.keys.access_key)
        monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", api.keys.secret_key)
        monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
        yield configured, MlflowClient(url)


def _signed(call: dict, secret: str) -> bool:
    headers = {k.lower(): v for k, v in call["headers"].items()}
    payload = f"{headers['x-mlflow-delivery-id']}.{headers['x-mlflow-timestamp']}.{call['body']}".encode()
    expected = "v1," + base64.b64encode(hmac.new(secret.encode(), payload, hashlib.sha256).digest()).decode()
    return hmac.compare_digest(headers["x-mlflow-signature"], expected)


def test_events_are_delivered_signed_from_the_background(opened, receiver):
    configured, client = opened
    hook = client.create_webhook(name="registry-hook", url=receiver.url, events=["registered_model.created", "model_version.created"],
                                 secret="s3cret", description="tell ci")  # fmt: skip
    assert hook.webhook_id and hook.status.value == "ACTIVE" and hook.secret is None
    stored = Webhook._get_collection().find_one({"_id": hook.webhook_id})["secret"]
    assert "s3cret" not in stored and webhook_delivery.decrypt(configured.config, stored) == "s3cret"  # encrypted at rest
    assert "secret" not in client.get_webhook(hook.webhook_id).to_proto().ListFields().__repr__()
    assert [w.webhook_id for w in client.list_webhooks()] == [hook.webhook_id]
    tested = client.test_webhook(hook.webhook_id)
    assert tested.success and tested.response_status == 200 and _signed(receiver.calls[-1], "s3cret")
    receiver.calls.clear()

    client.create_registered_model("churn")
    client.create_model_version("churn", "s3://bucket/model", run_id=None)
    assert receiver.calls == []  # nothing is sent inside the requests
    receiver.statuses = [503]  # the first delivery is refused once: retried
    assert webhook_delivery.deliver_due(configured.config) == 2
    time.sleep(1.1)
    webhook_delivery.deliver_due(configured.config)
    events = receiver.events()
    assert ("registered_model", "created", {"name": "churn", "tags": {}, "description": ""}) in events
    created = [data for entity, action, data in events if (entity, action) == ("model_version", "created")][0]
    assert created["name"] == "churn" and created["version"] == "1" and created["source"] == "s3://bucket/model"
    assert len(receiver.calls) == 3 and all(_signed(call, "s3cret") for call in receiver.calls)
    ids = [c["headers"]["X-MLflow-Delivery-Id"] for c in receiver.calls]
    assert len(set(ids)) == 2  # the retry is the same delivery

    client.update_webhook(hook.webhook_id, status="DISABLED")
    client.create_registered_model("ignored")
    assert webhook_delivery.deliver_due(configured.config) == 0 and len(receiver.calls) == 3  # a disabled webhook is told nothing
    client.delete_webhook(hook.webhook_id)
    with pytest.raises(MlflowException, match="not found"):
        client.get_webhook(hook.webhook_id)


def test_prompt_events(opened, receiver):
    import mlflow

    configured, client = opened
    mlflow.set_tracking_uri(client.tracking_uri)
    client.create_webhook(name="prompts", url=receiver.url, events=["prompt.created", "prompt_version.created", "prompt_alias.created"])
    mlflow.genai.register_prompt(name="greeting", template="Hello {{name}}", commit_message="first")
    mlflow.genai.set_prompt_alias("greeting", alias="prod", version=1)
    webhook_delivery.deliver_due(configured.config)
    kinds = {(entity, action) for entity, action, _ in receiver.events()}
    assert kinds == {("prompt", "created"), ("prompt_version", "created"), ("prompt_alias", "created")}
    version = [data for entity, _, data in receiver.events() if entity == "prompt_version"][0]
    assert version["template"] == "Hello {{name}}" and version["version"] == "1"
    mlflow.set_tracking_uri(None)


def test_urls_into_the_private_network_are_refused(api, mlflow_client):
    for url, words in [("http://127.0.0.1:9/x", "scheme"), ("https://127.0.0.1/x", "allow_private_addresses"),
                       ("https://169.254.169.254/latest/meta-data", "allow_private_addresses"), ("https://[::1]/x", "allow_private_addresses"),
                       ("https://10.0.0.1/x", "allow_private_addresses"), ("https:///nohost", "hostname")]:  # fmt: skip
        with pytest.raises(MlflowException, match=words):
            mlflow_client.create_webhook(name="bad", url=url, events=["model_version.created"])
    with pytest.raises(MlflowException, match="Invalid action 'deleted' for entity 'model_version'"):
        mlflow_client.create_webhook(name="bad", url="https://example.com/x", events=["model_version.deleted"])
    with pytest.raises(MlflowException, match="is invalid"):
        mlflow_client.create_webhook(name="-bad-", url="https://example.com/x", events=["model_version.created"])


def test_webhooks_are_per_company(opened, receiver):
    configured, client = opened
    hook = client.create_webhook(name="mine", url=receiver.url, events=["registered_model.created"])
    other = configured.as_user(company="other", name="eve")
    path = f"/api/2.0/mlflow/webhooks/{hook.webhook_id}"
    assert other.client.simulate_get(path, headers=other.headers).status_code == 404
    assert other.client.simulate_delete(path, headers=other.headers).status_code == 404
    assert other.client.simulate_get("/api/2.0/mlflow/webhooks", headers=other.headers).json == {"webhooks": []}
    other.client.simulate_post("/api/2.0/mlflow/registered-models/create", json={"name": "theirs"}, headers=other.headers)
    webhook_delivery.deliver_due(configured.config)
    assert receiver.calls == []  # another company's events never reach this company's webhooks
