"""A real model through the real MLflow client: pyfunc.log_model, register_model, and load_model in a fresh
process that predicts (MLflow 3 logged models, model versions and the artifact proxy together)."""

from __future__ import annotations

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
