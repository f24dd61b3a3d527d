"""bench/ui_scale.py replays the MLflow UI's experiment page: every call answers, and the figure's check
would catch a page of the wrong runs."""

from __future__ import annotations

import pymongo
import pytest

from bench import runs_scale, ui_scale
from tests.conftest import serve_in_thread


def test_the_experiment_page_s_calls_answer_and_are_checked(api, database_uri):
    experiment = api.client.simulate_post("/api/2.0/mlflow/experiments/create", json={"name": "page"}, headers=api.headers).json["experiment_id"]
    runs_scale.seed_runs(pymongo.MongoClient(database_uri).get_default_database(), api.company, api.user, experiment, 150)
    with serve_in_thread(api.client.app) as url:
        seconds, answers = ui_scale.page_s(url, api.headers, experiment, rounds=1)
        ui_scale.check_page(answers)  # raises unless each call answered and the runs came newest first, 100 of them
        assert seconds > 0 and answers[0].json()["data"]["mlflowGetExperiment"]["experiment"]["name"] == "page"
        _, other = ui_scale.page_s(url, api.headers, "0", rounds=1)  # the Default experiment: no runs
        with pytest.raises(RuntimeError, match="runs 0"):
            ui_scale.check_page(other)
