"""`regista import clearml` from a second Regista filled by the real ClearML SDK (Regista answers clearml-server's
own tests, so it stands for a ClearML server here), compared through the SDK."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from bench import processes
from tests.clearml_support import run_sdk

pytestmark = pytest.mark.xdist_group("clearml-transfer")  # one worker: the two servers start once


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    work = tmp_path_factory.mktemp("clearml-transfer")
    with ThreadPoolExecutor(2) as pool:
        starting = [pool.submit(processes.regista, work / name / "data", work / f"{name}.log") for name in ("source", "target")]
    source, target = (future.result() for future in starting)
    with source, target:
        yield source, target


def call(server, endpoint: str, **data) -> dict:
    answer = requests.post(f"{server.url}/api/v2.34/{endpoint}", json=data, headers=server.auth, timeout=30)
    assert answer.status_code == 200, (endpoint, answer.text[:500])
    return answer.json()["data"]


def transfer(source, target, *extra: str, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "REGISTA_ACCESS_KEY": processes.BENCH_KEY, "REGISTA_SECRET_KEY": processes.BENCH_SECRET,
           "CLEARML_API_ACCESS_KEY": processes.BENCH_KEY, "CLEARML_API_SECRET_KEY": processes.BENCH_SECRET}  # fmt: skip
    command = [sys.executable, "-m", "regista.cli", "import", "clearml", "--from", source.url, "--to", target.url, *extra]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)


def test_import_copies_a_clearml_server_through_the_sdk_and_once(servers, tmp_path):
    source, target = servers
    made = run_sdk(source, "transfer_source.py", str(tmp_path / "made"), home=tmp_path / "sdk-source", timeout=300)
    call(source, "queues.create", name="gpu", tags=["fast"])
    image = call(source, "events.debug_images", metrics=[{"task": made["task"], "metric": "samples"}], iters=1)
    image_url = image["metrics"][0]["iterations"][0]["events"][0]["url"]
    text = f"# Detector\n![sample]({image_url})\n<iframe src='/widgets/?tasks={made['task']}'></iframe>"
    report = call(source, "reports.create", name="findings", comment="what we learnt", report=text)["id"]
    call(source, "reports.publish", task=report)

    dry = transfer(source, target, "--dry-run")
    assert dry.returncode == 0, dry.stdout[-3000:] + dry.stderr[-3000:]
    assert "Would copy" in dry.stdout and "queues: 1" in dry.stdout and "tasks:" in dry.stdout, dry.stdout
    assert not call(target, "tasks.get_all", id=[made["task"]])["tasks"]  # a dry run writes nothing
    selected = transfer(source, target, "--dry-run", "--project", "vision/detection")
    assert selected.returncode == 0 and "tasks: 2" in selected.stdout and "projects: 1" in selected.stdout and "models: 1" in selected.stdout, selected.stdout

    done = transfer(source, target)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    ids = [made[k] for k in ("task", "child", "model", "dataset")]
    expected = run_sdk(source, "transfer_snapshot.py", str(tmp_path / "read-source"), *ids, home=tmp_path / "sdk-read-source")
    copied = run_sdk(target, "transfer_snapshot.py", str(tmp_path / "read-target"), *ids, home=tmp_path / "sdk-read-target")
    for part in expected:
        assert copied[part] == expected[part], part
    copied_report = call(target, "reports.get_all_ex", id=[report], only_fields=["report", "status", "name", "comment"])["tasks"][0]
    assert copied_report["status"] == "published" and copied_report["name"] == "findings"
    assert copied_report["report"] == text.replace(f"{source.url}/files", f"{target.url}/files")
    assert requests.get(image_url.replace(source.url, target.url), headers=target.auth, timeout=30).content == \
        requests.get(image_url, headers=source.auth, timeout=30).content  # fmt: skip

    again = transfer(source, target)
    assert again.returncode == 0 and "nothing" in again.stdout and "tasks:" not in again.stdout.split("Already")[0], again.stdout


def test_unreachable_servers_and_bad_credentials_fail_clearly(servers):
    source, target = servers
    env = {**os.environ, "REGISTA_ACCESS_KEY": processes.BENCH_KEY, "REGISTA_SECRET_KEY": processes.BENCH_SECRET,
           "CLEARML_API_ACCESS_KEY": processes.BENCH_KEY, "CLEARML_API_SECRET_KEY": "wrong"}  # fmt: skip
    command = [sys.executable, "-m", "regista.cli", "import", "clearml", "--from", source.url, "--to", target.url]
    refused = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and "refused the credentials" in refused.stderr, refused.stderr
    gone = subprocess.run([*command[:6], "http://127.0.0.1:9", *command[7:]], env={**env, "CLEARML_API_SECRET_KEY": processes.BENCH_SECRET},
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert gone.returncode == 2 and "cannot be reached" in gone.stderr, gone.stderr


def test_an_import_killed_halfway_continues_and_ends_identical(servers, tmp_path):
    source, target = servers
    project = call(source, "projects.create", name="long run")["id"]
    task_id = call(source, "tasks.create", name="many points", type="training", project=project)["id"]
    call(source, "tasks.started", task=task_id)
    for start in range(0, 150_000, 5000):
        lines = [{"task": task_id, "type": "training_stats_scalar", "metric": "loss", "variant": "train", "iter": i, "value": (i % 89) / 7,
                  "timestamp": 1_700_000_000_000 + i} for i in range(start, start + 5000)]  # fmt: skip
        answer = requests.post(f"{source.url}/api/v2.34/events.add_batch", data="\n".join(json.dumps(line) for line in lines),
                               headers={**source.auth, "Content-Type": "application/json-lines"}, timeout=60)  # fmt: skip
        assert answer.status_code == 200, answer.text[:300]
    call(source, "tasks.completed", task=task_id, force=True)
    env = {**os.environ, "REGISTA_ACCESS_KEY": processes.BENCH_KEY, "REGISTA_SECRET_KEY": processes.BENCH_SECRET,
           "CLEARML_API_ACCESS_KEY": processes.BENCH_KEY, "CLEARML_API_SECRET_KEY": processes.BENCH_SECRET}  # fmt: skip
    command = [sys.executable, "-m", "regista.cli", "import", "clearml", "--from", source.url, "--to", target.url, "--project", "long run"]
    first = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and first.poll() is None:
        drafts = call(target, "tasks.get_all", id=[task_id], only_fields=["status", "last_iteration", "last_metrics"])["tasks"]
        if drafts and drafts[0].get("last_metrics"):
            break
        time.sleep(0.1)
    first.kill()
    first.wait()
    (draft,) = call(target, "tasks.get_all", id=[task_id], only_fields=["status"])["tasks"]
    assert draft["status"] == "created"  # stopped halfway: not completed yet
    finished = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-3000:]
    assert call(target, "tasks.get_all", id=[task_id], only_fields=["status"])["tasks"][0]["status"] == "completed"
    assert points(target, task_id) == points(source, task_id)


def points(server, task_id: str) -> list:
    found, scroll_id = [], None
    while True:
        page = call(server, "events.get_task_events", task=task_id, event_type="training_stats_scalar", batch_size=10_000,
                    **({"scroll_id": scroll_id} if scroll_id else {}))  # fmt: skip
        if not page["events"]:
            return sorted((e["metric"], e["variant"], e["iter"], e["value"], e["timestamp"]) for e in found)
        found += page["events"]
        scroll_id = page["scroll_id"]
