"""MLflow 3's GenAI pages of the genuine web UI in headless Chromium, served by `regista serve`, over traces
logged by the real MLflow client: an experiment's Traces tab lists them, a trace opens with its span tree,
inputs and outputs and its feedback, and no call the pages make fails.

With REGISTA_DOCS_SCREENSHOTS=1 the trace view refreshes docs/ui-trace.png (docs/genai.md shows it).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from bench import processes
from regista.server.ui_assets import default_ui_folder, installed_ui
from tests.clearml_support import server  # noqa: F401 (the module's fixture)
from tests.conftest import FIXTURES
from tests.test_mlflow_ui import assert_no_failed_calls, keep
from tests.ui_browser import log_in, start_browser


@pytest.fixture(scope="module")
def traced(server):  # noqa: F811 (the imported fixture)
    assert installed_ui(default_ui_folder()) is not None, "the UI's files are missing: run `make install`"
    env = {**os.environ, "MLFLOW_TRACKING_URI": server.url, "MLFLOW_TRACKING_USERNAME": processes.BENCH_KEY,
           "MLFLOW_TRACKING_PASSWORD": processes.BENCH_SECRET}  # fmt: skip
    result = subprocess.run([sys.executable, str(FIXTURES / "mlflow_ui" / "log_traces.py")], env=env, capture_output=True,
                            text=True, timeout=120)  # fmt: skip
    assert result.returncode == 0, result.stderr[-4000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def browser(server, traced):  # noqa: F811
    started = start_browser(server.port)
    try:
        log_in(started, processes.BENCH_KEY, processes.BENCH_SECRET)
        started.wait_for_text("Experiments")
        started.settle()
        yield started
    finally:
        started.quit()


def test_an_experiment_s_traces_tab_lists_its_traces(browser, traced, tmp_path):
    browser.open(f"/#/experiments/{traced['experiment_id']}/traces")
    browser.wait_for_text("Reset my password", "Change my email", "channel: chat", "helpful", "19", timeout=60)  # 19 tokens
    browser.settle()
    keep(browser, tmp_path, "traces")
    assert_no_failed_calls(browser)


def test_a_trace_opens_with_its_spans_and_feedback(browser, traced, tmp_path):
    browser.open(f"/#/experiments/{traced['experiment_id']}/traces?selectedEvaluationId={traced['traces'][0]}")
    browser.wait_for_text("retrieve_docs", "generate", "helpful", timeout=60)
    browser.settle()
    keep(browser, tmp_path, "trace", "ui-trace.png")
    assert_no_failed_calls(browser)
