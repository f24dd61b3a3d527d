"""A run's MLflow record lives in its task (one read for runs/get); records of the first releases, kept
apart in mlflow_runs, move into their tasks at start-up."""

from __future__ import annotations

from regista.services.mlflow import run_records


def post(api, path: str, body: dict) -> dict:
    answer = api.client.simulate_post(f"/api/2.0/mlflow/{path}", json=body, headers=api.headers)
    assert answer.status_code == 200, answer.text
    return answer.json


def test_a_created_run_keeps_its_record_in_its_task(api, clean_db):
    experiment = post(api, "experiments/create", {"name": "kept", "artifact_location": "s3://bucket/kept"})["experiment_id"]
    run = post(api, "runs/create", {"experiment_id": experiment})["run"]["info"]
    task = clean_db["tasks"].find_one({"_id": run["run_id"]})
    assert task["_mlflow_run"] == {"experiment": experiment, "artifact_uri": f"s3://bucket/kept/{run['run_id']}/artifacts"}
    assert clean_db["mlflow_runs"].count_documents({}) == 0
    assert post(api, "runs/get", {"run_id": run["run_id"]})["run"]["info"]["artifact_uri"] == run["artifact_uri"]


def test_a_task_made_by_clearml_gets_a_record_when_mlflow_logs_inputs(api, clean_db):
    task_id = api.call("tasks.create", {"name": "clearml made", "type": "training"})["id"]
    before = post(api, "runs/get", {"run_id": task_id})["run"]
    assert "dataset_inputs" not in before["inputs"]
    dataset = {"name": "train", "digest": "d1", "source_type": "s3", "source": "s3://data"}
    post(api, "runs/log-inputs", {"run_id": task_id, "datasets": [{"dataset": dataset}]})
    after = post(api, "runs/get", {"run_id": task_id})["run"]
    assert after["info"]["artifact_uri"] == before["info"]["artifact_uri"]  # the root it was answered with
    assert [i["dataset"]["name"] for i in after["inputs"]["dataset_inputs"]] == ["train"]


def test_records_kept_apart_move_into_their_tasks(api, clean_db):
    run_id = post(api, "runs/create", {"experiment_id": "0"})["run"]["info"]["run_id"]
    tasks = clean_db["tasks"]
    task = tasks.find_one({"_id": run_id})
    del task["_mlflow_run"]
    tasks.replace_one({"_id": run_id}, task)  # as the first releases stored it: the record apart
    inputs = [{"dataset": {"name": "train", "digest": "d1", "source_type": "s3", "source": "s3://data"}}]
    clean_db["mlflow_runs"].insert_one({"_id": run_id, "company": api.company, "experiment": task["project"],
                                        "artifact_uri": "s3://old/root", "dataset_inputs": inputs, "_rev": 0})  # fmt: skip
    assert run_records.move_legacy_records() == 1
    assert clean_db["mlflow_runs"].count_documents({}) == 0
    run = post(api, "runs/get", {"run_id": run_id})["run"]
    assert run["info"]["artifact_uri"] == "s3://old/root" and run["info"]["user_id"] == "unknown"
    assert [i["dataset"]["name"] for i in run["inputs"]["dataset_inputs"]] == ["train"]
    assert run_records.move_legacy_records() == 0
