"""Assessments of traces through the real MLflow client: feedback, expectations, overrides, updates,
deletes, their place in the trace's info and in searches."""

from __future__ import annotations

import pytest
from mlflow.entities import AssessmentSource, AssessmentSourceType, Feedback
from mlflow.exceptions import MlflowException


@pytest.fixture
def trace_id(mlflow_client):
    import mlflow

    experiment_id = mlflow_client.create_experiment("judged")
    mlflow.set_experiment(experiment_id=experiment_id)

    @mlflow.trace
    def answer(question):
        return "42"

    answer("meaning of life")
    mlflow.flush_trace_async_logging()
    return mlflow.get_last_active_trace_id()


def test_feedback_expectations_overrides_and_search(mlflow_client, trace_id):
    import mlflow

    judge = AssessmentSource(source_type=AssessmentSourceType.LLM_JUDGE, source_id="gpt")
    feedback = mlflow.log_feedback(trace_id=trace_id, name="correct", value=True, source=judge, rationale="it is 42")
    expected = mlflow.log_expectation(trace_id=trace_id, name="answer", value={"text": "42", "sources": ["hhgttg"]})
    assert feedback.assessment_id.startswith("a-") and feedback.valid
    stored = mlflow.get_assessment(trace_id, feedback.assessment_id)
    assert (stored.name, stored.value, stored.rationale, stored.source.source_type) == ("correct", True, "it is 42", "LLM_JUDGE")
    assert mlflow.get_assessment(trace_id, expected.assessment_id).value == {"text": "42", "sources": ["hhgttg"]}
    info = mlflow_client.get_trace(trace_id).info
    assert {a.name for a in info.assessments} == {"correct", "answer"}

    human = AssessmentSource(source_type=AssessmentSourceType.HUMAN, source_id="ann")
    override = mlflow.override_feedback(trace_id=trace_id, assessment_id=feedback.assessment_id, value=False, source=human, rationale="no")
    assert mlflow.get_assessment(trace_id, feedback.assessment_id).valid is False
    assert override.overrides == feedback.assessment_id and override.valid
    experiment_id = info.experiment_id
    found = mlflow.search_traces(locations=[experiment_id], filter_string="feedback.correct = 'false'", return_type="list")
    assert [t.info.trace_id for t in found] == [trace_id]
    assert mlflow.search_traces(locations=[experiment_id], filter_string="feedback.correct = 'true'", return_type="list") == []

    updated = mlflow.update_assessment(trace_id, override.assessment_id, Feedback(name="correct", value=True, rationale="on reflection"))
    assert updated.value is True and updated.rationale == "on reflection"
    mlflow.delete_assessment(trace_id, override.assessment_id)
    assert mlflow.get_assessment(trace_id, feedback.assessment_id).valid is True  # the overridden one is back
    with pytest.raises(MlflowException, match="not found for trace"):
        mlflow.get_assessment(trace_id, override.assessment_id)
    mlflow.delete_assessment(trace_id, override.assessment_id)  # deleting twice is no error, as in MLflow


def test_bad_assessments_get_clear_errors(api, trace_id):
    base = f"/api/3.0/mlflow/traces/{trace_id}/assessments"
    both = {"assessment": {"assessment_name": "x", "feedback": {"value": 1}, "expectation": {"value": 2}}}
    assert api.client.simulate_post(base, json=both, headers=api.headers).json["error_code"] == "INVALID_PARAMETER_VALUE"
    unnamed = api.client.simulate_post(base, json={"assessment": {"feedback": {"value": 1}}}, headers=api.headers)
    assert unnamed.status_code == 400
    overriding_nothing = {"assessment": {"assessment_name": "x", "feedback": {"value": 1}, "overrides": "a-missing"}}
    missing = api.client.simulate_post(base, json=overriding_nothing, headers=api.headers)
    assert missing.status_code == 404 and "a-missing" in missing.json["message"]
    created = api.client.simulate_post(base, json={"assessment": {"assessment_name": "x", "feedback": {"value": 1}}}, headers=api.headers)
    assessment_id = created.json["assessment"]["assessment_id"]
    bad_mask = api.client.simulate_patch(f"{base}/{assessment_id}", json={"assessment": {}, "update_mask": "color"}, headers=api.headers)
    assert bad_mask.status_code == 400 and "update_mask" in bad_mask.json["message"]
    wrong_kind = api.client.simulate_patch(f"{base}/{assessment_id}", json={"assessment": {"expectation": {"value": 1}},
                                           "update_mask": "expectation"}, headers=api.headers)  # fmt: skip
    assert wrong_kind.status_code == 400 and "Feedback assessment" in wrong_kind.json["message"]
    other = api.as_user(company="other", name="eve")
    assert other.client.simulate_get(f"{base}/{assessment_id}", headers=other.headers).status_code == 404
    assert other.client.simulate_post(base, json={"assessment": {"assessment_name": "x", "feedback": {"value": 1}}}, headers=other.headers).status_code == 404
