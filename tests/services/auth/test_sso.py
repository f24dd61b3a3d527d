"""Single sign-on with OpenID Connect against a real provider (oidc-provider, with Node.js) and a served
Regista: the code flow with PKCE signs a person in with the provider's claims; forged, misaddressed,
expired and replayed answers are refused and sign nobody in."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from bench import processes
from tests.oidc_support import CLIENT_ID, CLIENT_SECRET, ports, sign_in_at_provider, start_provider

ACCOUNTS = {"alice": {"email": "alice@example.org", "groups": ["ml-admins"]}, "bob": {"groups": ["ml-viewers"]},
            "carol": {}, "dave": {}}  # fmt: skip
OWN_PAGE = {"Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "cors"}


def provider_entry(name: str, port: int, proxy_port: int, **extra: str) -> str:
    fields = {
        "name": name, "label": f'"{name.title()} SSO"', "issuer": f'"http://127.0.0.1:{port}"',
        "discovery_url": f'"http://127.0.0.1:{proxy_port}/.well-known/openid-configuration"', "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET, "scopes": "[openid, email, profile, groups]", "company": "acme",
        "create_companies": "true", "role_claim": "groups", "role_map": '{"ml-admins": admin, "ml-viewers": guest}', **extra,
    }  # fmt: skip
    return "{" + ", ".join(f"{key}: {value}" for key, value in fields.items()) + "}"


@pytest.fixture(scope="module")
def sso(tmp_path_factory):
    """A served Regista with two providers at one real OpenID provider: "corp" creates users, "strict" does not."""
    work = tmp_path_factory.mktemp("sso")
    port, proxy_port = ports()
    providers = f"[{provider_entry('corp', port, proxy_port)}, {provider_entry('strict', port, proxy_port, create_users='false')}]"
    with processes.regista(work / "data", work / "server.log", auth__oidc__providers=providers) as server:
        callbacks = [f"{server.url}/login/oidc/{name}/callback" for name in ("corp", "strict")]
        provider = start_provider(work, callbacks, ACCOUNTS, port, proxy_port)
        try:
            yield server, provider
        finally:
            provider.stop()


def sign_in(server, provider, login: str, name: str = "corp") -> tuple[requests.Session, requests.Response, str]:
    browser = requests.Session()
    callback = sign_in_at_provider(browser, f"{server.url}/login/oidc/{name}?next=/%23/experiments", login)
    return browser, browser.get(callback, allow_redirects=False, timeout=30), callback


def me(server, browser: requests.Session) -> requests.Response:
    return browser.post(f"{server.url}/api/users.get_current_user", json={}, headers=OWN_PAGE, timeout=10)


def test_a_first_login_creates_the_user_with_the_provider_s_claims(sso):
    server, provider = sso
    browser, answer, _ = sign_in(server, provider, "alice")
    assert answer.status_code == 303 and answer.headers["Location"] == "/#/experiments"
    cookie = answer.cookies["regista_token"]
    assert "HttpOnly" in answer.headers["Set-Cookie"] and "SameSite=Lax" in answer.headers["Set-Cookie"]
    user = me(server, browser).json()["data"]["user"]
    assert (user["name"], user["role"], user["company"]["name"]) == ("alice", "admin", "acme")  # ml-admins -> admin
    assert user.get("email") == "alice@example.org" or "email" not in user
    again, answer, _ = sign_in(server, provider, "alice")
    assert me(server, again).json()["data"]["user"]["id"] == user["id"] and answer.cookies["regista_token"] != cookie
    mlflow = again.get(f"{server.url}/ajax-api/2.0/mlflow/users/current", headers=OWN_PAGE, timeout=10).json()
    assert mlflow["user"]["username"] == "alice" and mlflow["user"]["is_admin"] is True
    audit = again.post(f"{server.url}/api/v2.31/audit.get_all", json={}, headers=OWN_PAGE, timeout=10).json()["data"]["events"]
    assert [(e["endpoint"], e["request"]["user"]) for e in audit] == [("sso login (corp): user created", "alice")]
    bob_browser, _, _ = sign_in(server, provider, "bob")
    assert me(server, bob_browser).json()["data"]["user"]["role"] == "guest"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"forge": True}, "not valid"),  # signed with a key of the attacker's
        ({"tamper": {"aud": "someone-else"}}, "not valid"),
        ({"tamper": {"exp": 1_000_000_000, "iat": 999_990_000}}, "not valid"),  # expired long ago
        ({"tamper": {"iss": "http://evil.example"}}, "not valid"),
        ({"tamper": {"nonce": "another login's"}}, "another login"),
    ],
)
def test_forged_and_wrong_id_tokens_sign_nobody_in(sso, change, reason):
    server, provider = sso
    provider.forge, provider.tamper = change.get("forge", False), change.get("tamper", {})
    try:
        browser, answer, _ = sign_in(server, provider, "dave")
    finally:
        provider.forge, provider.tamper = False, {}
    assert answer.status_code == 401 and reason in answer.text
    assert "regista_token" not in browser.cookies and me(server, browser).status_code == 401


def test_a_replayed_callback_signs_nobody_in(sso):
    server, provider = sso
    browser, answer, callback = sign_in(server, provider, "alice")
    assert answer.status_code == 303
    thief = requests.Session()
    thief.cookies.set("regista_sso_state", parse_qs(urlsplit(callback).query)["state"][0], path="/login/oidc")
    replayed = thief.get(callback, allow_redirects=False, timeout=30)  # the same code and state, once more
    assert replayed.status_code == 401 and "finished already" in replayed.text and "regista_token" not in replayed.cookies


def test_a_callback_from_another_browser_is_refused(sso):
    """Login CSRF: an attacker's own callback URL opened in the victim's browser would sign the victim in as
    the attacker; the state must match the cookie of the browser that started the login."""
    server, provider = sso
    attacker = requests.Session()
    callback = sign_in_at_provider(attacker, f"{server.url}/login/oidc/corp", "alice")
    victim = requests.get(callback, allow_redirects=False, timeout=30)
    assert victim.status_code == 401 and "not started from this browser" in victim.text and "regista_token" not in victim.cookies


def test_who_may_sign_in_and_as_whom(sso):
    server, provider = sso
    _, answer, _ = sign_in(server, provider, "dave", "strict")  # a provider that creates no users
    assert answer.status_code == 401 and "no Regista user signs in as dave" in answer.text
    admin, _, _ = sign_in(server, provider, "alice")  # an admin of acme, by the provider's groups
    acme = me(server, admin).json()["data"]["user"]["company"]["id"]
    created = admin.post(f"{server.url}/api/auth.create_user", json={"company": acme, "name": "carol", "email": "carol@acme"},
                         headers=OWN_PAGE, timeout=10)  # fmt: skip
    assert created.status_code == 200
    _, answer, _ = sign_in(server, provider, "carol")  # the provider's carol is not acme's carol
    assert answer.status_code == 401 and "a user named carol exists already" in answer.text
    unknown = requests.get(f"{server.url}/login/oidc/nowhere", allow_redirects=False, timeout=10)
    assert unknown.status_code == 401 and "no single sign-on provider named" in unknown.text


def test_the_login_page_offers_each_provider_and_logout_ends_the_session(sso):
    server, provider = sso
    page = requests.get(f"{server.url}/login?next=/%23/models", timeout=10).text
    assert 'href="/login/oidc/corp?next=%2F%23%2Fmodels">Log in with Corp SSO</a>' in page and "Log in with Strict SSO" in page
    assert "Log out" in requests.get(f"{server.url}/logout", timeout=10).text
    browser, _, _ = sign_in(server, provider, "alice")
    assert me(server, browser).status_code == 200
    token = browser.cookies["regista_token"]
    assert browser.post(f"{server.url}/api/auth.logout", json={}, headers=OWN_PAGE, timeout=10).json()["data"]["logged_out"]
    reused = requests.post(f"{server.url}/api/users.get_current_user", json={}, headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert reused.status_code == 401
