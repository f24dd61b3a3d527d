"""The session cookie authenticates Regista's own pages only (server/browser_sessions.py): what another site
can make a signed-in browser send is refused, and nothing changes."""

from __future__ import annotations

import pytest

from tests.conftest import basic_auth

OWN = "http://falconframework.org"  # the origin of falcon's test client (its scheme and Host)
CROSS_SITE_LINK = {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"}
OWN_FETCH = {"Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "cors", "Sec-Fetch-Dest": "empty"}


@pytest.fixture
def cookie(api, anonymous) -> dict[str, str]:
    token = anonymous.raw("auth.login", None, version=None, headers=basic_auth(api.keys.access_key, api.keys.secret_key))
    return {"regista_token": token.cookies["regista_token"].value}


def create_project(anonymous, cookie, name: str, headers: dict[str, str], method: str = "GET"):
    """projects.create as a link, an image or a fetch would ask for it: every API action answers GET."""
    return anonymous.client.simulate_request(method, "/api/projects.create", params={"name": name}, cookies=cookie, headers=headers)


def project_names(api) -> list[str]:
    return [p["name"] for p in api.call("projects.get_all", {})["projects"]]


@pytest.mark.parametrize(
    ("headers", "method"),
    [
        (CROSS_SITE_LINK, "GET"),  # a link on another site (https: the browser sends Sec-Fetch-*)
        ({"Sec-Fetch-Site": "same-site", "Sec-Fetch-Mode": "no-cors", "Sec-Fetch-Dest": "image"}, "GET"),  # <img> of a sibling subdomain
        ({"Sec-Fetch-Site": "same-site", "Sec-Fetch-Mode": "cors", "Origin": "https://evil.example.com"}, "POST"),
        ({"Sec-Fetch-Site": "none", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"}, "GET"),  # an address typed
        ({"Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"}, "GET"),  # a link of our own
        ({"Accept": "text/html,application/xhtml+xml", "Upgrade-Insecure-Requests": "1"}, "GET"),  # a link, over http
        ({"Origin": "http://evil.example"}, "POST"),  # a form of another site, over http
        ({"Origin": "null"}, "POST"),  # a sandboxed frame
        ({"Referer": "http://evil.example/page"}, "GET"),  # an <img> of another site over http, Referer kept
        ({}, "GET"),  # nothing says where it comes from
        ({}, "POST"),
    ],
)
def test_what_another_site_can_make_a_browser_send_changes_nothing(api, anonymous, cookie, headers, method):
    answer = create_project(anonymous, cookie, "forged", headers, method)
    assert answer.status_code == 403 and answer.json["meta"]["result_subcode"] == 40, answer.json["meta"]
    assert "forged" not in project_names(api)


@pytest.mark.parametrize(
    "headers",
    [
        OWN_FETCH,  # a fetch of the web UI (https or localhost)
        {"Origin": OWN},  # a POST of the web UI over http
        {"Referer": f"{OWN}/#/experiments/0"},  # a GET of the web UI over http (browsers send no Origin then)
    ],
)
def test_regista_s_own_pages_call_the_api_with_the_cookie(api, anonymous, cookie, headers):
    assert create_project(anonymous, cookie, f"own {sorted(headers)[0]}", headers, "POST").status_code == 200
    assert f"own {sorted(headers)[0]}" in project_names(api)


def test_clients_with_an_authorization_header_are_not_concerned(api, anonymous):
    answer = create_project(anonymous, {}, "sdk", {**CROSS_SITE_LINK, **api.headers})
    assert answer.status_code == 200


def test_pages_and_downloads_open_in_a_tab_from_anywhere_to_read(api, anonymous, cookie):
    """A link to a file in a chat opens it: reading does no harm. Writing the same route is refused."""
    assert api.client.simulate_put("/api/2.0/mlflow-artifacts/artifacts/exp/run/a.txt", body=b"data", headers=api.headers).status_code == 200
    read = anonymous.client.simulate_get("/api/2.0/mlflow-artifacts/artifacts/exp/run/a.txt", cookies=cookie, headers=CROSS_SITE_LINK)
    assert read.status_code == 200 and read.content == b"data"
    written = anonymous.client.simulate_put("/api/2.0/mlflow-artifacts/artifacts/exp/run/a.txt", body=b"forged", cookies=cookie,
                                            headers={"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "cors"})  # fmt: skip
    assert written.status_code == 403 and written.json["error_code"] == "PERMISSION_DENIED"
    assert api.client.simulate_get("/api/2.0/mlflow-artifacts/artifacts/exp/run/a.txt", headers=api.headers).content == b"data"


def test_the_mlflow_routes_and_graphql_apply_the_same_rules(api, anonymous, cookie):
    forged = anonymous.client.simulate_post("/ajax-api/2.0/mlflow/experiments/create", json={"name": "forged"}, cookies=cookie,
                                            headers={"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "cors"})  # fmt: skip
    assert forged.status_code == 403 and forged.json["error_code"] == "PERMISSION_DENIED"
    own = anonymous.client.simulate_post("/ajax-api/2.0/mlflow/experiments/create", json={"name": "own"}, cookies=cookie, headers=OWN_FETCH)
    assert own.status_code == 200
    query = {"query": "mutation { mlflowSearchRuns(input: {experimentIds: [\"0\"]}) { runs { info { runId } } } }"}
    graphql = anonymous.client.simulate_post("/graphql", json=query, cookies=cookie, headers={"Origin": "http://evil.example"})
    assert graphql.status_code == 403
    assert project_names(api).count("forged") == 0


def test_behind_a_proxy_the_configured_public_address_is_the_own_origin(api, anonymous, cookie):
    public = anonymous.with_config({"server.public_url": "https://regista.example.com/"})
    assert create_project(public, cookie, "proxied", {"Origin": OWN}, "POST").status_code == 403  # Host is the proxy's guess
    assert create_project(public, cookie, "proxied", {"Origin": "https://regista.example.com"}, "POST").status_code == 200
    login = public.raw("auth.login", None, version=None, headers=basic_auth(api.keys.access_key, api.keys.secret_key))
    assert login.cookies["regista_token"].secure  # an https public address: the cookie goes over https only
