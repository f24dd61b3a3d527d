"""The retention pass deletes only what a policy names: the kinds it names, older than it says, in its
project; scalars, plots, other projects and other companies keep everything."""

from __future__ import annotations

import pytest

from regista.server.config import ConfigError
from regista.services.retention import passes, policies
from tests.services.retention.conftest import counts, report


def test_the_background_pass_applies_every_company_s_policies(api, anonymous, admin, aged, test_config):
    kept_project, kept_task = aged("unnamed")  # no policy: nothing removed, however old
    project, task = aged("vision")
    outsider = anonymous.as_user(company="other", name="boss", role="admin")
    foreign_project = outsider.call("projects.create", {"name": "theirs", "description": ""})["id"]
    foreign_task = outsider.call("tasks.create", {"name": "t", "type": "training", "project": foreign_project})["id"]
    report(outsider, foreign_task, 100)
    admin.call("retention.set", {"project": project, "console_days": 5, "debug_images_days": 50}, version="2.31")
    outsider.call("retention.set", {"project": foreign_project, "debug_images_days": 5}, version="2.31")
    before = {t: counts(t) for t in (kept_task, task, foreign_task)}
    assert passes.background_pass(test_config) == 2 + 1 + 1
    assert counts(kept_task) == before[kept_task]
    assert counts(task) == {**before[task], "log": 1, "training_debug_image": 2}
    assert counts(foreign_task) == {k: v for k, v in before[foreign_task].items() if k != "training_debug_image"}
    assert counts(task)["plot"] == 3 and len(api.call("events.scalar_metrics_iter_histogram", {"task": task})["loss"]["v"]["x"]) == 3
    assert passes.background_pass(test_config) == 0  # nothing left that old


def test_model_events_fall_under_their_project_s_policy(api, admin, aged, create_model):
    project, _ = aged("vision")
    model = create_model(project=project)
    api.call("events.add", {"model_event": True, "task": model, "type": "training_debug_image", "metric": "m", "variant": "v",
                            "iter": 0, "url": "http://files.example/a.png", "timestamp": 1000})  # fmt: skip
    admin.call("retention.set", {"project": project, "debug_images_days": 1}, version="2.31")
    assert admin.call("retention.apply", {}, version="2.31")["debug_image_events"] == 3 + 1
    assert counts(model) == {}


def test_a_public_project_is_never_touched(api, admin, test_config):
    from regista.services.projects.documents import Project

    project = api.call("projects.create", {"name": "shared", "description": ""})["id"]
    task = api.call("tasks.create", {"name": "t", "type": "training", "project": project})["id"]
    report(api, task, 100)
    Project._get_collection().update_one({"_id": project}, {"$set": {"company": ""}})
    configured = test_config.with_overrides({"retention.policies": [{"project": project, "console_days": 1}]})
    assert passes.apply(configured).as_dict()["console_events"] == 0 and counts(task)["log"] == 1


@pytest.mark.parametrize(
    "entry, message",
    [
        ("vision", "a policy is an object naming its project"),
        ({"console_days": 3}, "a policy is an object naming its project"),
        ({"project": "p", "console_days": 0}, "retention.policies[0].console_days: a number of days from 1 to 36500"),
        ({"project": "p", "console_days": "3"}, "a number of days"),
        ({"project": "p", "artifact_days": 3}, "unknown fields ['artifact_days']"),
    ],
)
def test_configured_policies_are_checked(test_config, entry, message):
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        policies.configured(test_config.with_overrides({"retention.policies": [entry]}))


def test_traces_older_than_the_policy_are_deleted_with_their_spans(api, admin):
    import time

    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    project = api.call("projects.create", {"name": "bot", "description": ""})["id"]
    now_ns = time.time_ns()
    for trace_hex, days in (("aa" * 16, 100), ("bb" * 16, 1)):
        export = ExportTraceServiceRequest()
        span = export.resource_spans.add().scope_spans.add().spans.add()
        span.trace_id, span.span_id, span.name = bytes.fromhex(trace_hex), bytes.fromhex("11" * 8), f"{days} days old"
        span.start_time_unix_nano = now_ns - days * 86_400 * 10**9
        span.end_time_unix_nano = span.start_time_unix_nano + 10**9
        sent = api.client.simulate_post("/v1/traces", body=export.SerializeToString(),
                                        headers={**api.headers, "Content-Type": "application/x-protobuf", "x-mlflow-experiment-id": project})  # fmt: skip
        assert sent.status_code == 200
    admin.call("retention.set", {"project": project, "traces_days": 30}, version="2.31")
    assert admin.call("retention.apply", {"dry_run": True}, version="2.31")["traces"] == 1
    assert api.client.simulate_get(f"/api/3.0/mlflow/traces/tr-{'aa' * 16}", headers=api.headers).status_code == 200
    assert admin.call("retention.apply", {}, version="2.31")["traces"] == 1
    assert api.client.simulate_get(f"/api/3.0/mlflow/traces/tr-{'aa' * 16}", headers=api.headers).status_code == 404
    kept = api.client.simulate_get("/api/3.0/mlflow/traces/get", params={"trace_id": f"tr-{'bb' * 16}"}, headers=api.headers).json["trace"]
    assert [span["name"] for span in kept["spans"]] == ["1 days old"]
    from regista.services.mlflow.trace_documents import TraceSpan

    assert TraceSpan._get_collection().count_documents({"trace": f"tr-{'aa' * 16}"}) == 0  # no span left behind
