"""Prompts through the real MLflow client: registered, loaded by version, alias and @latest, searched,
kept out of the registry's own searches, linked to the traces that load them."""

from __future__ import annotations

import json
import time


def test_register_load_search_and_link(mlflow_client, tracking_uri):
    import mlflow

    mlflow.set_experiment("prompted")
    first = mlflow.genai.register_prompt(name="greet", template="Hello {{name}}", commit_message="first", tags={"team": "a"})
    second = mlflow.genai.register_prompt(name="greet", template="Hi {{name}}!", commit_message="second")
    assert (first.version, second.version) == (1, 2)
    assert mlflow.genai.load_prompt("prompts:/greet/1").format(name="Ann") == "Hello Ann"
    mlflow.genai.set_prompt_alias("greet", alias="prod", version=1)
    assert mlflow.genai.load_prompt("prompts:/greet@prod").version == 1
    assert mlflow.genai.load_prompt("prompts:/greet@latest").template == "Hi {{name}}!"  # the newest version
    chat = mlflow.genai.register_prompt(name="chat", template=[{"role": "user", "content": "Hi {{x}}"}])
    assert mlflow.genai.load_prompt(f"prompts:/chat/{chat.version}").template == [{"role": "user", "content": "Hi {{x}}"}]
    assert sorted(p.name for p in mlflow.genai.search_prompts()) == ["chat", "greet"]

    mlflow_client.create_registered_model("plain")
    mlflow_client.create_model_version("plain", "s3://bucket/model")
    assert [m.name for m in mlflow_client.search_registered_models()] == ["plain"]  # prompts are left out...
    assert [(v.name, v.version) for v in mlflow_client.search_model_versions()] == [("plain", "1")]
    asked = mlflow_client.search_model_versions("tags.`mlflow.prompt.is_prompt` = 'true'")  # ...unless asked for
    assert sorted((v.name, v.version) for v in asked) == [("chat", "1"), ("greet", "1"), ("greet", "2")]

    @mlflow.trace
    def answer():
        return mlflow.genai.load_prompt("prompts:/greet/2").format(name="Bo")

    answer()
    mlflow.flush_trace_async_logging()
    trace_id = mlflow.get_last_active_trace_id()
    for _ in range(50):  # the client links prompts to the trace in the background
        linked = mlflow_client.get_trace(trace_id).info.tags.get("mlflow.linkedPrompts")
        if linked:
            break
        time.sleep(0.1)
    assert json.loads(linked) == [{"name": "greet", "version": "2"}]
    assert [t.info.trace_id for t in mlflow.search_traces(filter_string="prompt = 'greet/2'", return_type="list")] == [trace_id]
