"""The genuine MLflow web UI in headless Chromium, served by `regista serve` (gunicorn), over one experiment
holding runs of both clients: two logged by the real MLflow client and one by the real ClearML SDK. What a
person sees on each page (the runs list, its chart and table views, a run, a comparison of runs of both
clients), and that no call the pages make fails.

One server, one data set and one logged-in browser serve every test of the module. Each test writes its
page's screenshot into its tmp_path; with REGISTA_DOCS_SCREENSHOTS=1 the runs list, a run page and the
comparison also refresh docs/ui-runs.png, docs/ui-run.png and docs/ui-compare.png (the README shows them).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
import requests
from selenium.webdriver.common.keys import Keys

from bench import processes
from regista.server.ui_assets import MLFLOW_UI_VERSION, default_ui_folder, installed_ui
from tests.clearml_support import run_sdk, server  # noqa: F401 (server: the module's fixture)
from tests.conftest import FIXTURES
from tests.ui_browser import Browser, log_in, start_browser

DOCS = Path(__file__).resolve().parents[1] / "docs"
EXPERIMENT = "image-classifier"  # the experiment the MLflow client logs to, and the ClearML SDK's project


@pytest.fixture(scope="module")
def logged(server, tmp_path_factory):  # noqa: F811 (the imported fixture)
    """The runs both clients logged: MLflow's ids and names, and the ClearML task with its results-page link."""
    assert installed_ui(default_ui_folder()) is not None, "the UI's files are missing: run `make install`"
    env = {**os.environ, "MLFLOW_TRACKING_URI": server.url, "MLFLOW_TRACKING_USERNAME": processes.BENCH_KEY,
           "MLFLOW_TRACKING_PASSWORD": processes.BENCH_SECRET}  # fmt: skip
    folder = tmp_path_factory.mktemp("mlflow-client")
    result = subprocess.run([sys.executable, str(FIXTURES / "mlflow_ui" / "log_runs.py")], env=env, cwd=folder,
                            capture_output=True, text=True, timeout=120)  # fmt: skip
    assert result.returncode == 0, result.stderr[-4000:]
    mlflow = json.loads(result.stdout.strip().splitlines()[-1])
    clearml = run_sdk(server, "ui_run.py", EXPERIMENT, home=tmp_path_factory.mktemp("clearml-home"))
    assert clearml["project_id"] == mlflow["experiment_id"]  # one experiment, both clients' runs
    return {"mlflow": mlflow, "clearml": clearml}


@pytest.fixture(scope="module")
def browser(server, logged):  # noqa: F811
    """Chromium logged in through Regista's login page, with MLflow's "Model training" view chosen."""
    started = start_browser(server.port)
    try:
        log_in(started, processes.BENCH_KEY, processes.BENCH_SECRET)
        started.click_text("Model training", timeout=60)
        started.settle()
        yield started
    finally:
        started.quit()


def show(browser: Browser, path: str, *texts: str) -> str:
    browser.open(path)
    body = browser.wait_for_text(*texts)
    browser.settle()
    return body


def assert_no_failed_calls(browser: Browser) -> None:
    failed = [f"{r.status or r.failure} {r.method} {r.url}" for r in browser.failed_calls()]
    assert not failed, "calls of the page that failed:\n" + "\n".join(failed)


def keep(browser: Browser, tmp_path: Path, name: str, docs_name: str | None = None) -> None:
    shot = browser.screenshot(tmp_path / f"{name}.png")
    if docs_name and os.environ.get("REGISTA_DOCS_SCREENSHOTS"):
        shutil.copy(shot, DOCS / docs_name)


def test_a_link_the_mlflow_client_prints_asks_for_the_login_and_then_opens_that_run(server, logged, tmp_path):
    experiment_id, run_id = logged["mlflow"]["experiment_id"], logged["mlflow"]["runs"]["tuned"]
    fresh = start_browser(server.port)
    try:
        fresh.open(f"/#/experiments/{experiment_id}/runs/{run_id}")  # "View run tuned at: ..."
        fresh.wait_for("#access_key")
        assert fresh.driver.current_url == f"{fresh.origin}/login?next=/#/experiments/{experiment_id}/runs/{run_id}"
        fresh.driver.find_element("css selector", "#access_key").send_keys(processes.BENCH_KEY)
        fresh.driver.find_element("css selector", "#secret_key").send_keys("wrong secret")
        fresh.driver.find_element("css selector", "button[type=submit]").click()
        fresh.wait_for_text("unknown access key or wrong secret")
        keep(fresh, tmp_path, "login-refused")
        fresh.settle()
        assert [(r.status, r.url) for r in fresh.failed_calls()] == [(401, f"{fresh.origin}/api/auth.login")]
        secret = fresh.driver.find_element("css selector", "#secret_key")
        secret.clear()
        secret.send_keys(processes.BENCH_SECRET)
        fresh.driver.find_element("css selector", "button[type=submit]").click()
        fresh.wait_for_text("tuned", "Parameters", "About this run")
        assert fresh.driver.current_url.endswith(f"/#/experiments/{experiment_id}/runs/{run_id}")
        fresh.settle()
        keep(fresh, tmp_path, "run-after-login")
        assert_no_failed_calls(fresh)
    finally:
        fresh.quit()


def test_the_experiments_list(browser, tmp_path):
    show(browser, "/#/experiments", "Experiments", EXPERIMENT, "Default")
    keep(browser, tmp_path, "experiments")
    assert MLFLOW_UI_VERSION in browser.text()  # the UI's own release in its side bar
    assert_no_failed_calls(browser)


def test_an_experiment_lists_the_runs_of_both_clients(browser, logged, tmp_path):
    """The runs list failed ("Cannot read properties of undefined (reading 'some')") while a ClearML task's
    entry in runs/search carried no tags."""
    body = show(browser, f"/#/experiments/{logged['mlflow']['experiment_id']}/runs", "baseline", "tuned", "clearml run",
                "3 matching runs")  # fmt: skip
    assert "Request error" not in body
    keep(browser, tmp_path, "experiment-runs", "ui-runs.png")
    assert_no_failed_calls(browser)


def test_the_runs_table_view_shows_both_clients_params_and_metrics(browser, logged, tmp_path):
    show(browser, f"/#/experiments/{logged['mlflow']['experiment_id']}/runs?compareRunsMode=TABLE",
         "baseline", "tuned", "clearml run", "3 matching runs")  # fmt: skip
    for column in ("accuracy", "batch_size"):  # a metric of all three runs, a param of the ClearML task's
        browser.click_text("Columns")
        browser.click_text(column)
        browser.driver.find_element("css selector", "body").send_keys(Keys.ESCAPE)
    body = browser.wait_for_text("0.98", "64")  # the ClearML task's last accuracy (1 - 0.6 / 30) and batch size
    assert "Request error" not in body
    keep(browser, tmp_path, "experiment-table")
    assert_no_failed_calls(browser)


def test_the_runs_artifact_evaluation_view(browser, logged, tmp_path):
    body = show(browser, f"/#/experiments/{logged['mlflow']['experiment_id']}/runs?compareRunsMode=ARTIFACT",
                "baseline", "clearml run")  # fmt: skip
    assert "Request error" not in body
    keep(browser, tmp_path, "experiment-evaluation")
    assert_no_failed_calls(browser)


def test_the_runs_chart_view_draws_every_run_s_metrics(browser, logged, tmp_path):
    body = show(browser, f"/#/experiments/{logged['mlflow']['experiment_id']}/runs?compareRunsMode=CHART",
                "accuracy", "loss/train")  # fmt: skip
    assert "Request error" not in body
    # The accuracy chart: a line through each run's points, the ClearML task's among them.
    browser.wait_for(".js-plotly-plot .scatterlayer .trace path.js-line", lambda e: len(e.get_attribute("d") or "") > 100)
    charted = {r.url for r in browser.calls() if "get-history-bulk-interval" in r.url}
    assert any(logged["clearml"]["task_id"] in url for url in charted), charted
    keep(browser, tmp_path, "experiment-charts")
    assert_no_failed_calls(browser)


def test_a_run_shows_its_parameters_metrics_tags_and_registered_model(browser, logged, tmp_path):
    ids = logged["mlflow"]
    body = show(browser, f"/#/experiments/{ids['experiment_id']}/runs/{ids['runs']['baseline']}",
                "baseline", "Parameters (3)", "Metrics (2)", "optimizer", "sgd", "accuracy", "loss", "classifier")  # fmt: skip
    assert "Finished" in body and "cifar-10" in body
    assert processes.BENCH_KEY not in body  # "Created by": the user's name, not the access key the client sent
    keep(browser, tmp_path, "run", "ui-run.png")
    assert_no_failed_calls(browser)


def test_a_run_s_metric_charts_are_drawn(browser, logged, tmp_path):
    ids = logged["mlflow"]
    show(browser, f"/#/experiments/{ids['experiment_id']}/runs/{ids['runs']['baseline']}/model-metrics", "accuracy", "loss")
    # A drawn line chart: plotly's scatter traces, each a path through the 50 logged steps.
    lines = browser.wait_for(".js-plotly-plot .scatterlayer .trace path.js-line", lambda e: len(e.get_attribute("d") or "") > 100)
    assert len(lines) >= 2
    keep(browser, tmp_path, "run-charts")
    assert_no_failed_calls(browser)


def test_a_run_s_artifacts_list_and_a_text_preview(browser, logged, tmp_path):
    ids = logged["mlflow"]
    show(browser, f"/#/experiments/{ids['experiment_id']}/runs/{ids['runs']['tuned']}/artifacts", "notes.txt", "model")
    browser.click_text("notes.txt")
    browser.wait_for_text("tuned: lr=0.01, 50 epochs, no surprises.")
    browser.settle()
    keep(browser, tmp_path, "artifacts")
    assert_no_failed_calls(browser)


def test_runs_of_both_clients_compared(browser, logged, tmp_path):
    ids = logged["mlflow"]
    runs = quote(json.dumps([ids["runs"]["baseline"], ids["runs"]["tuned"], logged["clearml"]["task_id"]]))
    body = show(browser, f"/#/compare-runs?runs={runs}&experiments={quote(json.dumps([ids['experiment_id']]))}",
                "Comparing 3 Runs", "baseline", "tuned", "clearml run", "Parameters", "Metrics", "batch_size")  # fmt: skip
    assert "0.01" in body and "0.1" in body and "64" in body
    browser.wait_for(".js-plotly-plot")  # the parallel coordinates plot
    keep(browser, tmp_path, "compare", "ui-compare.png")
    assert_no_failed_calls(browser)


def test_the_model_registry_and_a_version_page(browser, server, tmp_path):  # noqa: F811
    show(browser, "/#/models", "Registered Models", "classifier")
    if browser.text().count("Try it now"):  # MLflow's one-time invitation to its newer registry view
        browser.click_text("Try it now")
    browser.wait_for_text("classifier", "Version 1", "Latest version")
    keep(browser, tmp_path, "models")
    assert_no_failed_calls(browser)
    body = show(browser, "/#/models/classifier/versions/1", "Version 1", "Source Run", "baseline")
    user = requests.post(f"{server.url}/api/users.get_current_user", headers=server.auth, timeout=10).json()["data"]["user"]
    assert user["id"] not in body and "bench" in body  # "Created by": the user's name, not the user's id
    keep(browser, tmp_path, "model-version")
    assert_no_failed_calls(browser)


def test_the_clearml_sdk_s_results_page_link_opens_its_task_as_a_run(browser, server, logged, tmp_path):  # noqa: F811
    link = logged["clearml"]["results_page"]
    task, project = logged["clearml"]["task_id"], logged["clearml"]["project_id"]
    assert link.startswith(f"{server.url}/projects/{project}/") and f"/{task}/output/log" in link  # CLEARML_WEB_HOST
    browser.open(link.replace(server.url, ""))  # the same server, under the browser's name for it
    body = browser.wait_for_text("clearml run", "Parameters (2)", "batch_size", "momentum", "loss/train", "loss/val")
    assert browser.driver.current_url.endswith(f"/#/experiments/{project}/runs/{task}")
    assert "Finished" in body or "Completed" in body
    assert "bench" in body and processes.BENCH_KEY not in body  # "Created by": the user's name
    browser.settle()
    keep(browser, tmp_path, "clearml-run")
    assert_no_failed_calls(browser)


def test_chart_reads_of_many_runs_fit_in_one_get_through_gunicorn(server, logged):  # noqa: F811
    """The UI puts every charted run's id in one GET's query string: 100 runs are about 4 KiB of URL (past
    gunicorn's default line limit), and 1000 must get MLflow's 400, not a 414 from the HTTP layer."""
    url = f"{server.url}/ajax-api/2.0/mlflow/metrics/get-history-bulk-interval"
    auth = (processes.BENCH_KEY, processes.BENCH_SECRET)
    tuned = logged["mlflow"]["runs"]["tuned"]
    hundred = requests.get(url, params={"run_ids": [tuned] * 100, "metric_key": "loss"}, auth=auth, timeout=30)
    assert hundred.status_code == 200 and {m["run_id"] for m in hundred.json()["metrics"]} == {tuned}
    many = requests.get(url, params={"run_ids": [f"id_{i}" for i in range(1000)], "metric_key": "loss"}, auth=auth, timeout=30)
    assert many.status_code == 400 and "at most 100 run_ids" in many.json()["message"]


def open_path(browser: Browser, *names: str) -> None:
    """Click through the artifact tree: each folder until its next name shows (a click on a folder still
    loading can be lost), then the file."""
    for folder, child in zip(names, names[1:]):
        for _ in range(3):
            browser.click_text(folder)
            try:
                browser.wait_for_elements_by_text(child, timeout=8)
                break
            except AssertionError:
                continue
    browser.click_text(names[-1])


def test_a_clearml_task_s_console_images_plots_and_files_are_its_run_s_artifacts(browser, server, logged, tmp_path):  # noqa: F811
    task, project = logged["clearml"]["task_id"], logged["clearml"]["project_id"]
    show(browser, f"/#/experiments/{project}/runs/{task}/artifacts", "artifacts", "console.txt", "debug_images", "models", "plots")
    listed = requests.get(f"{server.url}/ajax-api/2.0/mlflow/artifacts/list", params={"run_uuid": task, "path": "debug_images/samples/first batch"},
                          headers=server.auth, timeout=10).json()["files"]  # fmt: skip
    (image,) = [f["path"].rsplit("/", 1)[1] for f in listed]  # the file the SDK uploaded: <metric>_<variant>_<iteration>.<format>
    open_path(browser, "console.txt")
    browser.wait_for_text("training finished: loss 0.033")
    open_path(browser, "debug_images", "samples", "first batch", image)
    assert browser.wait_for("img", lambda img: img.get_property("naturalWidth") == 32)  # the image, drawn
    for path, drawn in ((("plots", "embedding", "classes.html"), ".js-plotly-plot .main-svg"), (("confusion", "validation.html"), ".js-plotly-plot .table")):
        open_path(browser, *path)
        frame = browser.wait_for("iframe.mlflow-html-iframe")[0]
        browser.driver.switch_to.frame(frame)
        try:
            browser.wait_for(drawn)  # plotly.js drew the scatter, then the table, inside the sandboxed page
        finally:
            browser.driver.switch_to.default_content()
        if path[-1] == "classes.html":
            browser.settle()
            keep(browser, tmp_path, "clearml-artifacts", "ui-clearml-artifacts.png")
    open_path(browser, "artifacts", "labels", "labels.txt")
    browser.wait_for_text("cat\ndog")
    open_path(browser, "models", "classifier weights", "weights.bin")
    browser.wait_for_text("models/classifier weights/weights.bin")
    assert_no_failed_calls(browser)
