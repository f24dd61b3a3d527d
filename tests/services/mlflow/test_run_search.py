"""runs/search in the database (services/mlflow/run_search.py) answers exactly what MLflow's grammar says
over the shaped runs (search.py's predicates and order, the reference): for filters and orders the
database answers alone, and for those it can only narrow, over MLflow runs, ClearML tasks, deleted runs,
runs without a metric, param or start, and non-finite metric values, page by page."""

from __future__ import annotations

import itertools

import pytest

from regista.services.mlflow.common import as_runs
from regista.services.mlflow.search import order, parse_filter
from regista.services.tasks.documents import Task


@pytest.fixture
def experiment(api):
    rest = lambda path, **body: api.client.simulate_post(f"/api/2.0/mlflow/{path}", json=body, headers=api.headers).json  # noqa: E731
    experiment_id = rest("experiments/create", name="searched")["experiment_id"]
    values = [0.5, 0.1, 0.9, "NaN", "Infinity", "-Infinity", 0.5, 0.3]
    for index, (value, lr) in enumerate(zip(values, itertools.cycle(["0.1", "0.01", "0.001"]))):
        run = rest("runs/create", experiment_id=experiment_id, run_name=f"run {index % 5}", start_time=1_700_000_000_000 + index,
                   tags=[{"key": "team", "value": ("vision", "nlp")[index % 2]}])["run"]["info"]["run_id"]  # fmt: skip
        params = [{"key": "lr", "value": lr}] if index != 3 else []
        metrics = [{"key": "loss", "value": value, "timestamp": 1, "step": 1}] if index != 5 else []
        metrics += [{"key": "acc", "value": index / 10, "timestamp": 1, "step": 1}]
        rest("runs/log-batch", run_id=run, params=params, metrics=metrics)
        if index % 3 == 0:
            rest("runs/update", run_id=run, status="FINISHED", end_time=1_700_000_100_000 + index)
        if index == 6:
            rest("runs/delete", run_id=run)
    # Tasks made by ClearML: one started, with a metric/variant and an Args section; one never started.
    task = api.call("tasks.create", {"name": "clearml run", "type": "training", "project": experiment_id})["id"]
    api.call("tasks.edit_hyper_params", {"task": task, "hyperparams": [{"section": "Args", "name": "lr", "value": "0.1"}]}, version="2.23")
    api.call("tasks.started", {"task": task})
    api.call("events.add_batch", {"batched_data": [{"type": "training_stats_scalar", "task": task, "metric": "loss", "variant": "train",
                                                    "iter": 1, "value": 0.2}]})  # fmt: skip
    api.call("tasks.create", {"name": "draft", "type": "training", "project": experiment_id})
    return experiment_id


def reference(api, experiment_id: str, filter_text: str, order_by: list[str], view: str) -> list[str]:
    """What search.py says over every shaped run of the experiment: the answer before run_search.py."""

    class Caller:  # as_runs reads the caller's company and user names
        company = api.company

    tasks = list(Task._get_collection().find({"company": api.company, "project": experiment_id}))
    runs = as_runs(Caller(), tasks)
    runs = [r for r in runs if view == "ALL" or (r["info"]["lifecycle_stage"] == "active") == (view == "ACTIVE_ONLY")]
    for predicate in parse_filter(filter_text):
        runs = [r for r in runs if predicate(r)]
    return [r["info"]["run_id"] for r in order(runs, order_by)]


def searched(api, experiment_id: str, filter_text: str, order_by: list[str], view: str, page: int) -> list[str]:
    found, token = [], None
    while True:
        body = {"experiment_ids": [experiment_id], "filter": filter_text, "order_by": order_by, "run_view_type": view,
                "max_results": page, **({"page_token": token} if token else {})}  # fmt: skip
        answer = api.client.simulate_post("/api/2.0/mlflow/runs/search", json=body, headers=api.headers)
        assert answer.status_code == 200, answer.text
        found += [run["info"]["run_id"] for run in answer.json.get("runs", [])]
        token = answer.json.get("next_page_token")
        if not token:
            return found


FILTERS = [
    "", "params.lr = '0.01'", "params.lr != '0.01'", "params.lr LIKE '0.0%'", "params.lr ILIKE '0.1'", "params.lr IS NULL",
    "params.`Args/lr` = '0.1'", "metrics.loss > 0.2", "metrics.loss <= 0.5", "metrics.loss != 0.5", "metrics.loss = 0.5",
    "metrics.`loss/train` < 1", "attributes.status = 'FINISHED'", "attributes.status != 'RUNNING'", "attributes.status = 'RUNNING'",
    "status IN ('FINISHED', 'SCHEDULED')", "run_name = 'run 1'", "attributes.run_name LIKE 'run%'", "tags.team = 'vision'",
    "tags.`mlflow.runName` = 'draft'", "tags.`mlflow.user` = 'tester'", "attributes.end_time > 1700000100003",
    "attributes.lifecycle_stage = 'deleted'", "attributes.start_time > 1700000000003", "params.lr = '0.1' and metrics.acc >= 0.3",
]  # fmt: skip
ORDERS = [[], ["metrics.loss ASC"], ["metrics.loss DESC"], ["params.lr"], ["params.lr DESC"], ["attributes.run_name"],
          ["attributes.start_time ASC"], ["metrics.acc DESC", "params.lr"]]  # fmt: skip


@pytest.mark.parametrize("view", ["ACTIVE_ONLY", "ALL", "DELETED_ONLY"])
def test_every_filter_and_order_answers_as_the_grammar_says(api, experiment, view):
    for filter_text, order_by in itertools.product(FILTERS, ORDERS):
        expected = reference(api, experiment, filter_text, order_by, view)
        for page in (1000, 3):
            assert searched(api, experiment, filter_text, order_by, view, page) == expected, (filter_text, order_by, page)


def test_with_every_task_started_the_database_sorts_the_default_order(api, experiment):
    """The never-started ClearML task sends the default order to Python; once it starts, the database
    sorts by start: the same answer either way."""
    draft = api.call("tasks.get_all", {"name": "^draft$", "only_fields": ["id"]})["tasks"][0]["id"]
    api.call("tasks.started", {"task": draft})
    expected = reference(api, experiment, "", [], "ALL")
    assert searched(api, experiment, "", [], "ALL", 2) == expected
    assert searched(api, experiment, "", ["attributes.start_time DESC"], "ALL", 4) == expected
