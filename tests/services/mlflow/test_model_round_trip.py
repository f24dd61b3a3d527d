"""A real model through the real MLflow client: pyfunc.log_model, register_model, and load_model in a fresh
process that predicts (MLflow 3 logged models, model versions and the artifact proxy together)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import mlflow

# "Models from code": the model is a file the client stores with it, so a fresh process loads it from the
# registry alone (a pickled class would need this test module importable there).
MODEL_CODE = """
import mlflow


class Doubler(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input: list[int], params=None) -> list[int]:
        return [2 * value for value in model_input]


mlflow.models.set_model(Doubler())
"""

def test_pyfunc_model_is_logged_registered_and_loaded_in_a_fresh_process(mlflow_client, tracking_uri, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the client writes its temporary model folders beside the working directory
    mlflow.set_experiment("round trip")
    (tmp_path / "doubler.py").write_text(MODEL_CODE)
    with mlflow.start_run() as run:
        info = mlflow.pyfunc.log_model(name="doubler", python_model=str(tmp_path / "doubler.py"), pip_requirements=[])
    assert info.model_id.startswith("m-")
    logged = mlflow_client.get_logged_model(info.model_id)
    assert logged.status == "READY" and logged.source_run_id == run.info.run_id
    version = mlflow.register_model(info.model_uri, "doubler")
    assert version.version == "1" and version.source == info.model_uri
    assert [f.path for f in mlflow_client.list_logged_model_artifacts(info.model_id)].count("MLmodel") == 1
    script = textwrap.dedent(
        """
        import mlflow
        model = mlflow.pyfunc.load_model("models:/doubler/1")
        print(model.predict([1, 2, 3]))
        """
    )
    environment = {**os.environ, "MLFLOW_TRACKING_URI": tracking_uri}
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    result = subprocess.run([sys.executable, "-c", script], env=environment, capture_output=True, text=True, timeout=120, cwd=fresh)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "[2, 4, 6]"


def test_a_model_logged_at_a_step_leaves_the_run_s_history_and_its_registrations_whole(mlflow_client, api, tmp_path, monkeypatch):
    """log_model(step=0) logs the run's points of step 0 again for the model, and registering it appends the
    version to the model's mlflow.modelVersions twice over (the server, then the client): each stays once."""
    monkeypatch.chdir(tmp_path)
    mlflow.set_experiment("logged at a step")
    (tmp_path / "doubler.py").write_text(MODEL_CODE)
    with mlflow.start_run() as run:
        for step in range(10):
            mlflow.log_metric("acc", step / 10, step=step)
        info = mlflow.pyfunc.log_model(name="doubler", python_model=str(tmp_path / "doubler.py"), pip_requirements=[],
                                       registered_model_name="stepped", step=0)  # fmt: skip
    history = mlflow_client.get_metric_history(run.info.run_id, "acc")
    assert [(m.step, m.value) for m in history] == [(step, step / 10) for step in range(10)]
    logged = mlflow_client.get_logged_model(info.model_id)
    assert [(m.key, m.step, m.value) for m in logged.metrics] == [("acc", 0, 0.0)]
    assert json.loads(logged.tags["mlflow.modelVersions"]) == [{"name": "stepped", "version": 1}]
    assert logged.tags["mlflow.user"] == "tester"  # not the access key the client sends as its user name
    version = api.client.simulate_get("/api/2.0/mlflow/model-versions/get", params={"name": "stepped", "version": "1"},
                                      headers=api.headers).json["model_version"]  # fmt: skip
    assert version["model_id"] == info.model_id and version["run_id"] == run.info.run_id
    assert version["user_id"] == "tester"  # "Created by" on the version page: the user's name
