"""The calls the MLflow web UI makes to open an experiment's page, replayed: `ui_experiment_page_calls_s`.

The calls are those MLflow 3.17.2's UI (the build Regista serves) made in headless Chromium when opening
`/#/experiments/<id>` of an experiment of 10,000 runs (recorded from the browser's network log on
2026-12-07): the experiment by GraphQL, its dataset summaries, the gateway's endpoints, its logged models
and the first page of its runs. The browser sends them at once; the figure replays them one after the
other, the time a page would take on a server that answered them in turn.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

import requests

EXPERIMENT_QUERY = 'query MlflowGetExperimentQuery($input: MlflowGetExperimentInput!) @component(name: "MLflow.ExperimentRunTracking") {\n  mlflowGetExperiment(input: $input) {\n    apiError {\n      code\n      message\n      __typename\n    }\n    experiment {\n      artifactLocation\n      creationTime\n      effectiveTraceArchivalRetention\n      experimentId\n      lastUpdateTime\n      lifecycleStage\n      name\n      tags {\n        key\n        value\n        __typename\n      }\n      __typename\n    }\n    __typename\n  }\n}\n'  # as the UI sends it


def page_calls(experiment: str) -> list[tuple[str, str, dict[str, Any] | None]]:
    """(method, path, JSON body) of each call, in the order the UI sent them."""
    ids = [experiment]
    return [
        ("POST", "/graphql", {"operationName": "MlflowGetExperimentQuery", "query": EXPERIMENT_QUERY,
                              "variables": {"input": {"experimentId": experiment}}}),
        ("POST", "/ajax-api/2.0/mlflow/experiments/search-datasets", {"experiment_ids": ids}),
        ("GET", "/ajax-api/2.0/mlflow/gateway-proxy?gateway_path=api%2F2.0%2Fendpoints%2F", None),
        ("POST", "/ajax-api/2.0/mlflow/logged-models/search",
         {"experiment_ids": ids, "order_by": [{"field_name": "creation_time", "ascending": False}]}),
        ("POST", "/ajax-api/2.0/mlflow/runs/search",
         {"experiment_ids": ids, "run_view_type": "ACTIVE_ONLY", "max_results": 100, "order_by": ["attributes.start_time DESC"]}),
    ]  # fmt: skip


def page_s(url: str, headers: dict[str, str], experiment: str, rounds: int = 5) -> tuple[float, list[requests.Response]]:
    """Median seconds of the page's calls made one after the other (after a round to warm up), and the
    last round's answers."""
    session = requests.Session()
    session.headers.update(headers)

    def replay() -> list[requests.Response]:
        return [session.request(method, url + path, json=body, timeout=600) for method, path, body in page_calls(experiment)]

    answers = replay()
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        answers = replay()
        times.append(time.perf_counter() - started)
    return round(statistics.median(times), 3), answers


def check_page(answers: list[requests.Response]) -> None:
    """A figure of failed calls would lie: every call answered 200, the runs' first page holds 100 runs
    started newest first, and more follow."""
    failed = [f"{a.status_code} {a.request.method} {a.request.url}" for a in answers if a.status_code != 200]
    runs = answers[-1].json() if not failed else {}
    starts = [run["info"]["start_time"] for run in runs.get("runs", [])]
    if failed or len(starts) != 100 or starts != sorted(starts, reverse=True) or not runs.get("next_page_token"):
        raise RuntimeError(f"the experiment page's calls: failed {failed}, runs {len(starts)}, newest first {starts == sorted(starts, reverse=True)}")
