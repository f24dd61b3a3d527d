"""A ClearML task's console, debug images, plots, artifacts and models as its MLflow run's artifacts."""

from __future__ import annotations

import json

from regista.services.artifacts import store

LIST = "/ajax-api/2.0/mlflow/artifacts/list"


def _file(api, test_config, relative: str, body: bytes) -> str:
    path = store.company_root(test_config.get("files.root"), api.company) / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(body)
    return f"http://files.example/files/{relative}"


def _task(api, test_config) -> str:
    task = api.call("tasks.create", {"name": "reported", "type": "training"})["id"]
    image = _file(api, test_config, f"p/reported.{task}/metrics/loss/v/img.png", b"\x89PNG")
    escaping = "http://files.example/files/../../outside.png"
    artifact = _file(api, test_config, f"p/reported.{task}/artifacts/data/data.csv", b"a,b\n")
    api.call("tasks.add_or_update_artifacts", {"task": task, "artifacts": [
        {"key": "data", "type": "str", "uri": artifact}, {"key": "remote", "type": "str", "uri": "s3://bucket/x.csv"},
    ]}, version="2.13")  # fmt: skip
    figure = {"data": [{"type": "scatter", "x": [1, 2], "y": [3, 4], "name": "</script><script>alert(1)</script>"}]}
    events = [
        {"task": task, "type": "log", "msg": "first line", "timestamp": 1000, "level": "info"},
        {"task": task, "type": "log", "msg": "second line\n", "timestamp": 2000, "level": "info"},
        {"task": task, "type": "training_debug_image", "metric": "loss", "variant": "v", "iter": 1, "url": image},
        {"task": task, "type": "training_debug_image", "metric": "../up", "variant": "a/b", "iter": 1, "url": escaping},
        {"task": task, "type": "plot", "metric": "loss/curve", "variant": "..", "iter": 3, "plot_str": json.dumps(figure)},
    ]
    api.call("events.add_batch", {"batched_data": events}, version="2.13")
    return task


def _listed(api, task, path=None):
    query = f"run_uuid={task}" + (f"&path={path}" if path else "")
    return [(f["path"], f["is_dir"]) for f in api.client.simulate_get(LIST, query_string=query, headers=api.headers).json.get("files", [])]


def _get(api, task, path):
    return api.client.simulate_get("/get-artifact", query_string=f"run_uuid={task}&path={path}", headers=api.headers)


def test_the_tree_of_a_clearml_task(api, test_config):
    task = _task(api, test_config)
    assert _listed(api, task) == [("artifacts", True), ("console.txt", False), ("debug_images", True), ("plots", True)]
    assert _listed(api, task, "debug_images/loss/v") == [("debug_images/loss/v/img.png", False)]
    assert _listed(api, task, "debug_images") == [("debug_images/loss", True)]  # the url leading out names no file
    assert _listed(api, task, "plots") == [("plots/loss_curve", True)]  # one path part per name, never ".."
    assert _listed(api, task, "artifacts") == [("artifacts/data", True)]  # the bucket's file is not fetched


def test_files_are_sent_and_pages_generated(api, test_config):
    task = _task(api, test_config)
    assert _get(api, task, "console.txt").text == "first line\nsecond line\n"
    assert _get(api, task, "debug_images/loss/v/img.png").content == b"\x89PNG"
    assert _get(api, task, "artifacts/data/data.csv").content == b"a,b\n"
    page = _get(api, task, "plots/loss_curve/_.html")
    assert page.status_code == 200 and page.headers["content-disposition"].startswith("attachment")
    assert "Plotly.newPlot" in page.text and "plotly.js" in page.text.lower()  # inlined: nothing fetched elsewhere
    assert "</script><script>alert(1)" not in page.text and "\\u003c/script>\\u003cscript>alert(1)" in page.text
    assert _get(api, task, "debug_images/../../outside.png").status_code == 400


def test_another_company_reads_none_of_it(api, test_config):
    task = _task(api, test_config)
    other = api.as_user(company="elsewhere", name="eve")
    assert other.client.simulate_get(LIST, query_string=f"run_uuid={task}", headers=other.headers).status_code == 404
    assert _get(other, task, "console.txt").status_code == 404
