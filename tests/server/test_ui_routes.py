"""The web UI's routes in-process: its page behind the login, its files, the /ajax-api alias of the MLflow
routes, a ui.prefix, the page shown while the UI is not installed, and ClearML's results-page links."""

from __future__ import annotations

import logging

import pytest

from regista.server.ui_assets import write_marker
from tests.conftest import ApiClient

INDEX = b'<!doctype html><html><head><script src="static-files/static/js/main.1a2b.js"></script></head></html>'


@pytest.fixture
def ui_build(tmp_path):
    """An installed UI as `regista ui install` leaves it (a few files standing for MLflow's build)."""
    folder = tmp_path / "mlflow-ui"
    (folder / "static" / "js").mkdir(parents=True)
    (folder / "index.html").write_bytes(INDEX)
    (folder / "static" / "js" / "main.1a2b.js").write_text("window.mlflow = 1;")
    (folder / "favicon.ico").write_bytes(b"\x00\x00\x01\x00")
    (folder / "manifest.json").write_text("{}")
    write_marker(folder, "3.17.2", "mlflow-3.17.2-py3-none-any.whl")
    return folder


def served(api: ApiClient, **ui: str) -> ApiClient:
    """`api`'s caller, served with these ui.* settings."""
    return api.with_config({f"ui.{key}": value for key, value in ui.items()})


def test_the_ui_page_asks_for_a_login_first_then_serves_mlflow_s_index(api, anonymous, ui_build):
    redirect = served(anonymous, dir=str(ui_build)).client.simulate_get("/", query_string="o=1")
    assert redirect.status_code == 303 and redirect.headers["Location"] == "/login?next=/%3Fo%3D1"
    page = served(api, dir=str(ui_build)).client.simulate_get("/", headers=api.headers)
    assert page.status_code == 200 and page.content == INDEX
    assert page.headers["Content-Type"].startswith("text/html") and page.headers["Cache-Control"] == "no-cache"


def test_the_login_cookie_opens_the_ui(anonymous, api, ui_build):
    client = served(anonymous, dir=str(ui_build)).client
    login = client.simulate_post("/api/auth.login", headers=basic(api.keys), json={})
    cookie = login.cookies["regista_token"]
    assert cookie.http_only and cookie.same_site == "Lax"
    page = client.simulate_get("/", cookies={"regista_token": cookie.value})
    assert page.status_code == 200 and page.content == INDEX
    stale = client.simulate_get("/", cookies={"regista_token": cookie.value + "x"})
    assert stale.status_code == 303


def basic(keys) -> dict[str, str]:
    from tests.conftest import basic_auth

    return basic_auth(keys.access_key, keys.secret_key)


def test_static_files_are_served_with_long_caching_and_revalidation(anonymous, ui_build):
    client = served(anonymous, dir=str(ui_build)).client  # the build's files need no login
    script = client.simulate_get("/static-files/static/js/main.1a2b.js")
    assert script.status_code == 200 and script.text == "window.mlflow = 1;"
    assert script.headers["Content-Type"] == "text/javascript"
    assert script.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert script.headers["X-Content-Type-Options"] == "nosniff"
    again = client.simulate_get("/static-files/static/js/main.1a2b.js", headers={"If-None-Match": script.headers["ETag"]})
    assert again.status_code == 304 and again.content == b""
    manifest = client.simulate_get("/static-files/manifest.json")
    assert manifest.headers["Cache-Control"] == "public, max-age=3600" and manifest.json == {}
    assert client.simulate_get("/favicon.ico").content == b"\x00\x00\x01\x00"


@pytest.mark.parametrize("path", ["/static-files/../regista-mlflow-ui.json.x", "/static-files/static/js/none.js",
                                  "/static-files/%2e%2e/%2e%2e/etc/passwd", "/static-files/static"])  # fmt: skip
def test_nothing_outside_the_build_s_files_is_served(anonymous, ui_build, path):
    assert served(anonymous, dir=str(ui_build)).client.simulate_get(path).status_code == 404


def test_ajax_api_is_the_mlflow_api_under_the_ui_s_name(api):
    created = api.client.simulate_post("/ajax-api/2.0/mlflow/experiments/create", json={"name": "via-ui"}, headers=api.headers)
    assert created.status_code == 200
    experiment_id = created.json["experiment_id"]
    direct = api.client.simulate_get("/api/2.0/mlflow/experiments/get", params={"experiment_id": experiment_id}, headers=api.headers)
    via_ui = api.client.simulate_get("/ajax-api/2.0/mlflow/experiments/get", params={"experiment_id": experiment_id}, headers=api.headers)
    assert via_ui.status_code == 200 and via_ui.json == direct.json and via_ui.json["experiment"]["name"] == "via-ui"
    assert api.client.simulate_get("/ajax-api/3.0/mlflow/server-info").json["store_type"] is None
    missing = api.client.simulate_get("/ajax-api/2.0/mlflow/no-such/thing", headers=api.headers)
    assert missing.status_code == 404 and missing.json["error_code"] == "ENDPOINT_NOT_FOUND"


def test_the_ui_s_probes_of_features_regista_has_not_answer_off(api):
    client = api.client
    assert client.simulate_get("/ajax-api/3.0/mlflow/ui-telemetry").json["disable_ui_telemetry"] is True
    assert client.simulate_post("/ajax-api/3.0/mlflow/ui-telemetry", json={"records": [{}]}).json == {"status": "disabled"}
    assert client.simulate_get("/ajax-api/3.0/mlflow/assistant/providers").json["providers"] == []
    assert client.simulate_get("/ajax-api/3.0/mlflow/assistant/config").json["providers"] == {}
    assert client.simulate_get("/ajax-api/2.0/mlflow/gateway-proxy", params={"gateway_path": "api/2.0/endpoints/"}).json == {"endpoints": []}
    assert client.simulate_delete("/ajax-api/2.0/mlflow/gateway-proxy").status_code == 405
    version = client.simulate_get("/version")
    assert version.text == "3.17.2" and version.headers["Content-Type"].startswith("text/plain")


def test_under_a_prefix_the_ui_and_every_route_it_calls_move_there(api, ui_build):
    client = served(api, dir=str(ui_build), prefix="mlflow").client
    assert client.simulate_get("/mlflow/", headers=api.headers).content == INDEX
    assert client.simulate_get("/mlflow", headers=api.headers).content == INDEX
    root = client.simulate_get("/")  # where MLflow's printed links lead: the browser keeps their #fragment
    assert root.status_code == 302 and root.headers["Location"] == "/mlflow/"
    assert client.simulate_get("/mlflow/static-files/static/js/main.1a2b.js").text == "window.mlflow = 1;"
    searched = client.simulate_post("/mlflow/ajax-api/2.0/mlflow/experiments/search", json={}, headers=api.headers)
    assert searched.status_code == 200 and "experiments" in searched.json
    assert client.simulate_get("/mlflow/version").text == "3.17.2"
    assert client.simulate_get("/ajax-api/3.0/mlflow/server-info").status_code == 200  # the root keeps them too
    login = client.simulate_get("/login").text
    assert '"/mlflow/"' in login  # where a login returns by default


def test_without_the_ui_s_files_the_home_page_says_how_to_install_them(anonymous, tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="regista.server.ui_routes"):
        client = served(anonymous, dir=str(tmp_path / "nothing")).client
    assert "The MLflow web UI is not installed" in caplog.text and "regista ui install" in caplog.text
    page = client.simulate_get("/")
    assert page.status_code == 200 and "regista ui install" in page.text and str(tmp_path / "nothing") in page.text
    assert "API documentation" in page.text


def test_the_home_page_stays_at_api_and_links_the_installed_ui(anonymous, ui_build):
    page = served(anonymous, dir=str(ui_build)).client.simulate_get("/api")
    assert page.status_code == 200 and "API documentation" in page.text
    assert "MLflow 3.17.2" in page.text and 'href="http://falconframework.org/login"' in page.text


@pytest.mark.parametrize(
    "path, location",
    [
        ("/projects/p1/experiments/t1/output/log", "/#/experiments/p1/runs/t1"),
        ("/projects/p1/tasks/t1/output/log", "/#/experiments/p1/runs/t1"),  # the SDK's form for API 2.31+
        ("/projects/p1/experiments/t1", "/#/experiments/p1/runs/t1"),
        ("/projects/*/experiments/t1/execution/parameters", "/#/runs/t1"),  # a task the SDK knows no project of
        ("/projects/p1/experiments", "/#/experiments/p1"),
        ("/projects/p1", "/#/experiments/p1"),
        ("/projects/*", "/"),
    ],
)
def test_clearml_results_page_links_lead_to_the_run_in_the_ui(anonymous, path, location):
    answer = anonymous.client.simulate_get(path)
    assert answer.status_code == 302 and answer.headers["Location"] == location


def test_clearml_links_follow_the_prefix(anonymous):
    answer = served(anonymous, prefix="/mlflow/").client.simulate_get("/projects/p1/experiments/t1/output/log")
    assert answer.headers["Location"] == "/mlflow/#/experiments/p1/runs/t1"
