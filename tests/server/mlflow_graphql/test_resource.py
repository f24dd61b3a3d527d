"""/graphql in-process: the MLflow UI's kinds of queries, answered from the MLflow REST handlers."""

from __future__ import annotations


import pytest

RUN_QUERY = """
query RunPage($data: MlflowGetRunInput!) @component(name: "Regista.Test") {
  mlflowGetRun(input: $data) {
    apiError { code message }
    run {
      info { runId runUuid runName status experimentId startTime endTime lifecycleStage artifactUri }
      experiment { experimentId name lifecycleStage tags { key value } }
      modelVersions { name version status source runId }
      data { metrics { key value step timestamp } params { key value } tags { key value } }
      inputs { datasetInputs { dataset { name digest } } modelInputs { modelId } }
      outputs { modelOutputs { modelId step } }
    }
  }
}
"""


def rest(api, method: str, path: str, **data):
    kind = "params" if method == "GET" else "json"
    answer = api.client.simulate_request(method, f"/api/2.0/mlflow/{path}", headers=api.headers, **{kind: data})
    assert answer.status_code == 200, answer.text
    return answer.json


def graphql(api, query: str, variables: dict | None = None, headers: dict | None = None):
    body = {"query": query, "variables": variables, "operationName": None}
    return api.client.simulate_post("/graphql", json=body, headers=api.headers if headers is None else headers)


@pytest.fixture
def finished_run(api):
    experiment_id = rest(api, "POST", "experiments/create", name="graphs", tags=[{"key": "team", "value": "vision"}])["experiment_id"]
    run = rest(api, "POST", "runs/create", experiment_id=experiment_id, run_name="first", start_time=1_700_000_000_000)["run"]
    run_id = run["info"]["run_id"]
    rest(api, "POST", "runs/log-batch", run_id=run_id, params=[{"key": "lr", "value": "0.1"}], metrics=[
        {"key": "loss", "value": 0.25, "timestamp": 1_700_000_000_500, "step": 3},
        {"key": "broken", "value": "NaN", "timestamp": 1_700_000_000_500, "step": 1},  # as protobuf JSON writes NaN
    ])  # fmt: skip
    rest(api, "POST", "runs/update", run_id=run_id, status="FINISHED", end_time=1_700_000_009_000)
    rest(api, "POST", "registered-models/create", name="detector")
    rest(api, "POST", "model-versions/create", name="detector", source=f"runs:/{run_id}/model", run_id=run_id)
    return experiment_id, run_id


def test_the_run_page_query_reads_the_run_its_experiment_and_its_model_versions(api, finished_run):
    experiment_id, run_id = finished_run
    answer = graphql(api, RUN_QUERY, {"data": {"runId": run_id}})
    assert answer.status_code == 200 and answer.json["errors"] is None
    response = answer.json["data"]["mlflowGetRun"]
    assert response["apiError"] is None
    run = response["run"]
    assert run["info"] | {"artifactUri": None} == {
        "runId": run_id, "runUuid": run_id, "runName": "first", "status": "FINISHED", "experimentId": experiment_id,
        "startTime": "1700000000000", "endTime": "1700000009000", "lifecycleStage": "active", "artifactUri": None,
    }  # fmt: skip
    assert run["experiment"] == {"experimentId": experiment_id, "name": "graphs", "lifecycleStage": "active",
                                 "tags": [{"key": "team", "value": "vision"}]}  # fmt: skip
    assert run["modelVersions"] == [
        {"name": "detector", "version": "1", "status": "READY", "source": f"runs:/{run_id}/model", "runId": run_id}
    ]
    metrics = {m["key"]: m for m in run["data"]["metrics"]}
    assert metrics["loss"] == {"key": "loss", "value": 0.25, "step": "3", "timestamp": "1700000000500"}
    assert metrics["broken"]["value"] is None  # NaN: GraphQL floats are finite
    assert run["data"]["params"] == [{"key": "lr", "value": "0.1"}]
    # Fields the REST answer leaves out read as protobuf defaults, as in MLflow: empty lists here.
    assert run["inputs"] == {"datasetInputs": [], "modelInputs": []} and run["outputs"] == {"modelOutputs": []}


def test_a_failing_field_answers_200_with_mlflow_s_message_and_null_data(api):
    answer = graphql(api, RUN_QUERY, {"data": {"runId": "no-such-run"}})
    assert answer.status_code == 200
    assert answer.json["data"] == {"mlflowGetRun": None}
    (message,) = answer.json["errors"]
    assert "no-such-run" in message and "not found" in message


def test_runs_of_another_company_stay_invisible(api, anonymous, finished_run):
    other = anonymous.as_user(company="elsewhere", name="someone")
    answer = graphql(other, RUN_QUERY, {"data": {"runId": finished_run[1]}})
    assert answer.json["data"] == {"mlflowGetRun": None} and answer.json["errors"]


def test_searching_runs_works_as_query_and_as_mutation_newest_first(api, finished_run):
    experiment_id, first = finished_run
    second = rest(api, "POST", "runs/create", experiment_id=experiment_id, start_time=1_700_000_100_000)["run"]["info"]["run_id"]
    for operation in ("query", "mutation"):
        text = f'{operation} {{ mlflowSearchRuns(input: {{experimentIds: ["{experiment_id}"]}}) {{ runs {{ info {{ runId }} }} nextPageToken }} }}'
        answer = graphql(api, text).json
        assert answer["errors"] is None
        assert answer["data"]["mlflowSearchRuns"] == {"runs": [{"info": {"runId": second}}, {"info": {"runId": first}}], "nextPageToken": ""}


def test_the_experiment_header_query(api, finished_run):
    experiment_id, _ = finished_run
    text = "query E($input: MlflowGetExperimentInput!) { mlflowGetExperiment(input: $input) { experiment { name creationTime lastUpdateTime } apiError { code } } }"
    answer = graphql(api, text, {"input": {"experimentId": experiment_id}}).json
    experiment = answer["data"]["mlflowGetExperiment"]["experiment"]
    assert experiment["name"] == "graphs" and experiment["creationTime"].isdigit() and experiment["lastUpdateTime"].isdigit()


def test_artifact_listings_read_sizes_as_strings_and_folders_as_size_zero(api, finished_run):
    experiment_id, run_id = finished_run
    for path in ("notes.txt", "plots/curve.txt"):
        stored = api.client.simulate_put(f"/api/2.0/mlflow-artifacts/artifacts/{experiment_id}/{run_id}/artifacts/{path}",
                                         body=b"hello world", headers=api.headers)  # fmt: skip
        assert stored.status_code == 200, stored.text
    text = 'query { top: mlflowListArtifacts(input: {runId: "%s"}) { files { path isDir fileSize } } }' % run_id
    files = graphql(api, text).json["data"]["top"]["files"]
    assert files == [{"path": "notes.txt", "isDir": False, "fileSize": "11"}, {"path": "plots", "isDir": True, "fileSize": "0"}]


def test_search_datasets_of_an_experiment_without_any(api, finished_run):
    text = 'mutation { mlflowSearchDatasets(input: {experimentIds: ["%s"]}) { datasetSummaries { name } } }' % finished_run[0]
    answer = graphql(api, text).json
    assert answer == {"data": {"mlflowSearchDatasets": {"datasetSummaries": []}}, "errors": None}


def test_the_echo_probe_answers_by_get_too(api):
    answer = api.client.simulate_get("/graphql", params={"query": '{ test(inputString: "abc") { output } }'}, headers=api.headers)
    assert answer.status_code == 200 and answer.json == {"data": {"test": {"output": "abc"}}, "errors": None}


@pytest.mark.parametrize(
    "query, message",
    [
        ("{" + " ".join(f"a{i}: test {{ output }}" for i in range(12)) + "}", "GraphQL queries should have at most 10 root fields"),
        ('{ mlflowGetExperiment(input: {experimentId: "1"}) { ' + " ".join(f"e{i}: experiment {{ name }}" for i in range(12)) + " } }",
         "GraphQL queries should have at most 10 aliases"),
        ("{ test { output } }", None),
        ("{ nothing }", "Cannot query field 'nothing' on type 'Query'."),
    ],
)  # fmt: skip
def test_query_limits_and_invalid_fields_answer_200_with_errors(api, query, message):
    answer = graphql(api, query)
    assert answer.status_code == 200
    if message is None:
        assert answer.json["errors"] is None
    else:
        assert message in answer.json["errors"][0]


def test_requests_that_are_not_graphql_are_refused(api, anonymous):
    assert graphql(anonymous, "{ test { output } }").json["error_code"] == "UNAUTHENTICATED"
    syntax = graphql(api, "{ test( }")
    assert syntax.status_code == 400 and syntax.json["errors"][0].startswith("Syntax Error")
    not_json = api.client.simulate_post("/graphql", body=b"{nope", headers={**api.headers, "Content-Type": "application/json"})
    assert not_json.status_code == 400 and not_json.json["error_code"] == "INVALID_PARAMETER_VALUE"
    no_query = api.client.simulate_post("/graphql", json={"variables": {}}, headers=api.headers)
    assert no_query.status_code == 400 and "string 'query'" in no_query.json["message"]
