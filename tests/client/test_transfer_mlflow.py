"""`regista import mlflow` and `regista export mlflow` against a real `mlflow server` (the pinned release, in
bench/.mlflow-venv), filled and compared by the real MLflow client."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest
from mlflow import MlflowClient
from mlflow.entities import Dataset, DatasetInput, InputTag, Metric, Param, ViewType

from bench import processes

# One worker runs this module's tests, so that its three servers start once (make test: --dist loadgroup).
pytestmark = pytest.mark.xdist_group("mlflow-transfer")

ROOT = Path(__file__).resolve().parents[2]
MLFLOW = ROOT / "bench" / ".mlflow-venv" / "bin" / "mlflow"
MARKERS = ("regista.",)  # the tags a copy adds (where each entity came from)
GENAI = ROOT / "tests" / "fixtures" / "mlflow_transfer" / "genai.py"


def mlflow_server(folder: Path) -> processes.ServerProcess:
    """MLflow's own server, SQLite store, artifacts proxied (mlflow-artifacts:/), as teams run it."""
    folder.mkdir(parents=True)
    port = processes.free_port("127.0.0.1")
    command = [str(MLFLOW), "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
               "--backend-store-uri", f"sqlite:///{folder / 'mlflow.db'}", "--artifacts-destination", str(folder / "artifacts")]  # fmt: skip
    return processes.ServerProcess(command, dict(os.environ), folder / "server.log", "/health", port, ready_method="get")


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    """Two MLflow servers (the source, and the target of the way back) and Regista, started side by side."""
    work = tmp_path_factory.mktemp("transfer")
    with ThreadPoolExecutor(3) as pool:
        starting = [pool.submit(mlflow_server, work / "source"), pool.submit(mlflow_server, work / "back"),
                    pool.submit(processes.regista, work / "regista" / "data", work / "regista.log")]  # fmt: skip
    source, back, regista = (future.result() for future in starting)
    with source, back, regista:
        yield source, regista, back, work


@contextmanager
def as_regista():
    """The MLflow client's credentials for Regista (its key pair, over HTTP Basic), for the duration."""
    saved = {k: os.environ.get(k) for k in ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD")}
    os.environ.update(MLFLOW_TRACKING_USERNAME=processes.BENCH_KEY, MLFLOW_TRACKING_PASSWORD=processes.BENCH_SECRET)
    try:
        yield
    finally:
        for key, value in saved.items():
            os.environ.pop(key, None) if value is None else os.environ.__setitem__(key, value)


def transfer(verb: str, source: str, target: str, *extra: str, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "REGISTA_ACCESS_KEY": processes.BENCH_KEY, "REGISTA_SECRET_KEY": processes.BENCH_SECRET}
    for key in ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_TOKEN"):
        env.pop(key, None)
    return subprocess.run([sys.executable, "-m", "regista.cli", verb, "mlflow", "--from", source, "--to", target, *extra],
                          env=env, capture_output=True, text=True, timeout=timeout)  # fmt: skip


def genai(url: str, *args: str) -> str:
    """tests/fixtures/mlflow_transfer/genai.py run with the real client against `url` (its last line)."""
    env = {**os.environ, "MLFLOW_TRACKING_URI": url}
    done = subprocess.run([sys.executable, str(GENAI), *args], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    return done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""


def fill(url: str, files: Path) -> None:
    """What a team has in MLflow: nested runs, a long metric, params, tags, files, a dataset input, a
    deleted run, a deleted experiment, a registered model with stages, tags and an alias, and MLflow 3's
    traces with assessments, an evaluation dataset, a prompt and a logged model (GENAI)."""
    client = MlflowClient(url)
    experiment = client.create_experiment("vision", tags={"team": "cv"})
    parent = client.create_run(experiment, run_name="sweep", tags={"kind": "parent"}, start_time=1_700_000_000_000)
    child = client.create_run(experiment, run_name="trial-1", start_time=1_700_000_001_000,
                              tags={"mlflow.parentRunId": parent.info.run_id, "note": "é ünïcode"})  # fmt: skip
    run_id = child.info.run_id
    points = [Metric("loss", 1.0 / (i + 1), 1_700_000_002_000 + i, i) for i in range(3000)]
    points.append(Metric("loss", 5.0, 1_700_000_009_999, 7))  # a step logged twice
    for start in range(0, len(points), 1000):
        client.log_batch(run_id, metrics=points[start:start + 1000], params=[Param("lr", "0.1"), Param("layers", "12")] if not start else [])
    client.log_metric(run_id, "accuracy", 0.93, timestamp=1_700_000_010_000, step=1)
    (files / "model").mkdir(parents=True)
    (files / "model" / "weights.bin").write_bytes(os.urandom(300_000))
    (files / "notes.txt").write_text("trained on the full set\n")
    client.log_artifact(run_id, str(files / "model" / "weights.bin"), "model")
    client.log_artifact(run_id, str(files / "notes.txt"))
    dataset = Dataset(name="images", digest="d1g3st", source_type="local", source='{"uri": "/data/images"}')
    client.log_inputs(run_id, datasets=[DatasetInput(dataset, tags=[InputTag("mlflow.data.context", "training")])])
    genai(url, "fill", run_id)
    client.set_terminated(run_id, "FINISHED", end_time=1_700_000_020_000)
    client.set_terminated(parent.info.run_id, "FAILED", end_time=1_700_000_030_000)
    discarded = client.create_run(experiment, run_name="discarded", start_time=1_700_000_040_000)
    client.log_param(discarded.info.run_id, "lr", "1.0")
    client.delete_run(discarded.info.run_id)
    old = client.create_experiment("old")
    client.create_run(old, run_name="gone", start_time=1_700_000_050_000)
    client.delete_experiment(old)
    client.create_registered_model("detector", tags={"owner": "cv"}, description="finds things")
    first = client.create_model_version("detector", f"runs:/{run_id}/model", run_id=run_id, tags={"v": "1"})
    second = client.create_model_version("detector", f"{child.info.artifact_uri}/model", run_id=run_id)
    client.transition_model_version_stage("detector", first.version, "Production")
    client.set_registered_model_alias("detector", "champion", second.version)


def snapshot(url: str, download: Path) -> dict:
    """Everything the copy must keep, keyed by names (ids differ between servers)."""
    client = MlflowClient(url)
    experiments = {e.experiment_id: e for e in client.search_experiments(view_type=ViewType.ALL)}
    runs = {}
    for experiment in experiments.values():
        for run in client.search_runs([experiment.experiment_id], run_view_type=ViewType.ALL):
            runs[run.info.run_id] = run
    names = {run_id: run.info.run_name for run_id, run in runs.items()}
    shown = {}
    for run_id, run in runs.items():
        tags = {k: v for k, v in run.data.tags.items() if not k.startswith(MARKERS) and k != "mlflow.runName"}
        if "mlflow.parentRunId" in tags:
            tags["mlflow.parentRunId"] = names[tags["mlflow.parentRunId"]]
        folder = download / url.rsplit(":", 1)[1] / run_id
        folder.mkdir(parents=True)
        files = {}
        for root, _, found in os.walk(client.download_artifacts(run_id, "", str(folder))):
            for name in found:
                path = Path(root) / name
                files[str(path.relative_to(folder))] = hashlib.sha256(path.read_bytes()).hexdigest()
        shown[(experiments[run.info.experiment_id].name, run.info.run_name)] = {
            "status": run.info.status, "start": run.info.start_time, "end": run.info.end_time, "stage": run.info.lifecycle_stage,
            "params": run.data.params, "tags": tags, "files": files,
            "metrics": {key: sorted((m.step, m.timestamp, m.value) for m in client.get_metric_history(run_id, key)) for key in run.data.metrics},
            "inputs": [(d.dataset.name, d.dataset.digest, {t.key: t.value for t in d.tags}) for d in (run.inputs.dataset_inputs if run.inputs else [])],
        }  # fmt: skip
    registry = {}
    for model in client.search_registered_models():
        versions = sorted(client.search_model_versions(f"name='{model.name}'"), key=lambda v: int(v.version))
        registry[model.name] = {
            "description": model.description, "tags": model.tags, "aliases": model.aliases,
            "versions": [(v.version, v.current_stage, {k: x for k, x in v.tags.items() if not k.startswith(MARKERS)},
                          names.get(v.run_id), v.source.startswith("runs:/")) for v in versions],
        }  # fmt: skip
    kept = {e.name: ({k: v for k, v in e.tags.items() if not k.startswith(MARKERS)}, e.lifecycle_stage) for e in experiments.values()}
    return {"experiments": kept, "runs": shown, "registry": registry, "genai": json.loads(genai(url, "snapshot"))}


def test_import_copies_everything_once_and_export_brings_it_back(servers, tmp_path):
    source, regista, back, _ = servers
    fill(source.url, tmp_path / "files")
    expected = snapshot(source.url, tmp_path / "read")
    dry = transfer("import", source.url, regista.url, "--dry-run")
    assert dry.returncode == 0, dry.stderr[-3000:]
    assert "Would copy" in dry.stdout and "metric points: 3,002" in dry.stdout and "runs: 4" in dry.stdout
    recent = transfer("import", source.url, regista.url, "--dry-run", "--since", "2023-11-14T22:13:50Z", "--no-registry")
    assert recent.returncode == 0 and "runs: 2" in recent.stdout and "model versions" not in recent.stdout, recent.stdout
    with as_regista():
        assert [e.name for e in MlflowClient(regista.url).search_experiments()] == ["Default"]  # a dry run writes nothing
    done = transfer("import", source.url, regista.url)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "runs: 4" in done.stdout and "model versions: 2" in done.stdout and "artifact files: 4" in done.stdout and "traces: 2" in done.stdout and "prompt versions: 2" in done.stdout
    with as_regista():
        copied = snapshot(regista.url, tmp_path / "read")
    assert copied["runs"] == expected["runs"]
    assert copied["registry"] == expected["registry"]
    assert copied["experiments"] == expected["experiments"]
    for part in ("traces", "datasets", "prompts", "logged_models"):
        assert copied["genai"][part] == expected["genai"][part], part
    assert len(expected["genai"]["traces"]) == 2 and expected["genai"]["logged_models"]["classifier"]["files"]
    again = transfer("import", source.url, regista.url)  # idempotent: nothing new, nothing copied twice
    assert again.returncode == 0 and "nothing" in again.stdout and "runs: 4" not in again.stdout, again.stdout
    with as_regista():
        assert snapshot(regista.url, tmp_path / "again") == copied
    exported = transfer("export", regista.url, back.url)
    assert exported.returncode == 0, exported.stdout[-3000:] + exported.stderr[-3000:]
    assert snapshot(back.url, tmp_path / "back") == expected


def test_an_import_killed_halfway_continues_and_ends_identical(servers, tmp_path):
    source, regista, _, _ = servers
    client = MlflowClient(source.url)
    experiment = client.create_experiment("long")
    run_id = client.create_run(experiment, run_name="million", start_time=1_700_000_000_000).info.run_id
    for start in range(0, 120_000, 1000):
        client.log_batch(run_id, metrics=[Metric("loss", float(i % 97), 1_700_000_000_000 + i, i) for i in range(start, start + 1000)])
    env = {**os.environ, "REGISTA_ACCESS_KEY": processes.BENCH_KEY, "REGISTA_SECRET_KEY": processes.BENCH_SECRET}
    command = [sys.executable, "-m", "regista.cli", "import", "mlflow", "--from", source.url, "--to", regista.url, "--experiment", "long"]
    first = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    with as_regista():
        target = MlflowClient(regista.url)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and first.poll() is None:
            copies = target.search_runs([e.experiment_id for e in target.search_experiments(filter_string="name = 'long'")]) if target.search_experiments(filter_string="name = 'long'") else []
            if copies and len(target.get_metric_history(copies[0].info.run_id, "loss")) >= 20_000:
                break
            time.sleep(0.2)
        first.kill()
        first.wait()
        (copy,) = copies
        assert copy.data.tags.get("regista.import_partial") == "true"  # stopped halfway
        assert len(target.get_metric_history(copy.info.run_id, "loss")) < 120_000
    finished = transfer("import", source.url, regista.url, "--experiment", "long")
    assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-3000:]
    with as_regista():
        (copy,) = target.search_runs([copy.info.experiment_id])
        assert "regista.import_partial" not in copy.data.tags
        history = sorted((m.step, m.timestamp, m.value) for m in target.get_metric_history(copy.info.run_id, "loss"))
    assert history == sorted((m.step, m.timestamp, m.value) for m in client.get_metric_history(run_id, "loss"))


def test_unreachable_servers_and_bad_credentials_fail_clearly(servers):
    source, regista, _, _ = servers
    gone = transfer("import", "http://127.0.0.1:9", regista.url)
    assert gone.returncode == 2 and "cannot be reached" in gone.stderr
    env = {**os.environ, "REGISTA_ACCESS_KEY": processes.BENCH_KEY, "REGISTA_SECRET_KEY": "wrong"}
    refused = subprocess.run([sys.executable, "-m", "regista.cli", "import", "mlflow", "--from", source.url, "--to", regista.url],
                             env=env, capture_output=True, text=True, timeout=60)  # fmt: skip
    assert refused.returncode == 2 and "refused the credentials" in refused.stderr
