"""users/current: the MLflow UI asks who is signed in on its home page."""

from __future__ import annotations


def test_the_current_user_is_the_caller_by_name(api, anonymous):
    answer = api.client.simulate_get("/ajax-api/2.0/mlflow/users/current", headers=api.headers)
    assert answer.status_code == 200
    assert answer.json == {"user": {"id": api.user, "username": "tester", "is_admin": False}, "is_basic_auth": False}
    admin = anonymous.as_user(name="boss", role="admin")
    answer = admin.client.simulate_get("/api/2.0/mlflow/users/current", headers=admin.headers).json
    assert answer["user"]["username"] == "boss" and answer["user"]["is_admin"] is True


def test_nobody_is_current_without_credentials(anonymous):
    answer = anonymous.client.simulate_get("/ajax-api/2.0/mlflow/users/current")
    assert answer.status_code == 401 and answer.json["error_code"] == "UNAUTHENTICATED"
