"""A real OpenID Connect provider for the single sign-on tests: oidc-provider (tests/fixtures/oidc, run with
Node.js) behind a proxy that, when told to, changes the ID tokens it hands out the way an attacker or a
broken provider would (signed with another key, for another audience, expired, for another login)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import jwt
import requests
from cryptography.hazmat.primitives.asymmetric import rsa

from regista.server.embedded_db import free_port
from tests.conftest import FIXTURES

OIDC = FIXTURES / "oidc"
CLIENT_ID, CLIENT_SECRET = "regista", "regista-test-client-secret"


@dataclass
class Provider:
    issuer: str  # the real provider's
    discovery_url: str  # the proxy's: its token endpoint is the proxy
    signing_key: Any  # the provider's private key, to sign tokens the proxy changes
    process: subprocess.Popen
    proxy: ThreadingHTTPServer
    tamper: dict[str, Any] = field(default_factory=dict)  # claims the proxy puts into the next ID tokens
    forge: bool = False  # sign them with a key of the attacker's

    def stop(self) -> None:
        self.proxy.shutdown()
        self.process.terminate()
        self.process.wait(10)


def ports() -> tuple[int, int]:
    """The provider's port and its proxy's, chosen before the server is configured with them."""
    return free_port("127.0.0.1"), free_port("127.0.0.1")


def start_provider(work_dir: Path, redirect_uris: list[str], accounts: dict[str, dict], port: int, proxy_port: int) -> Provider:
    node = shutil.which("node")
    assert node and (OIDC / "node_modules" / "oidc-provider").is_dir(), "the SSO tests need Node.js and oidc-provider (`make test`)"
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = {**json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key)), "kid": "provider-key", "use": "sig", "alg": "RS256"}
    issuer = f"http://127.0.0.1:{port}"
    settings = {
        "issuer": issuer, "port": port, "jwks": {"keys": [jwk]}, "accounts": accounts,
        "clients": [{"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "redirect_uris": redirect_uris,
                     "response_types": ["code"], "grant_types": ["authorization_code"]}],
    }  # fmt: skip
    (work_dir / "provider.json").write_text(json.dumps(settings))
    log = open(work_dir / "provider.log", "wb")
    process = subprocess.Popen([node, str(OIDC / "provider.mjs"), str(work_dir / "provider.json")], stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while True:
        try:
            if requests.get(f"{issuer}/.well-known/openid-configuration", timeout=1).status_code == 200:
                break
        except requests.ConnectionError:
            pass
        assert process.poll() is None and time.monotonic() < deadline, (work_dir / "provider.log").read_text()
        time.sleep(0.1)
    provider = Provider(issuer, f"http://127.0.0.1:{proxy_port}/.well-known/openid-configuration", key, process, None)  # type: ignore[arg-type]
    provider.proxy = ThreadingHTTPServer(("127.0.0.1", proxy_port), _proxy_handler(provider, f"http://127.0.0.1:{proxy_port}"))
    threading.Thread(target=provider.proxy.serve_forever, daemon=True).start()
    return provider


def _proxy_handler(provider: Provider, base: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            answer = requests.get(provider.issuer + self.path, timeout=10)
            body = answer.content
            if self.path.startswith("/.well-known/openid-configuration"):
                document = answer.json()
                document["token_endpoint"] = base + "/token"
                body = json.dumps(document).encode()
            self._send(answer.status_code, answer.headers.get("Content-Type", "application/json"), body)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            headers = {k: v for k, v in self.headers.items() if k.lower() in ("authorization", "content-type")}
            answer = requests.post(provider.issuer + self.path, data=self.rfile.read(length), headers=headers, timeout=10)
            body = answer.content
            if answer.status_code == 200 and (provider.tamper or provider.forge):
                tokens = answer.json()
                claims = {**jwt.decode(tokens["id_token"], options={"verify_signature": False}), **provider.tamper}
                key = rsa.generate_private_key(public_exponent=65537, key_size=2048) if provider.forge else provider.signing_key
                tokens["id_token"] = jwt.encode(claims, key, algorithm="RS256", headers={"kid": "provider-key"})
                body = json.dumps(tokens).encode()
            self._send(answer.status_code, answer.headers.get("Content-Type", "application/json"), body)

        def _send(self, status: int, kind: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


def sign_in_at_provider(browser: requests.Session, start_url: str, login: str) -> str:
    """Follow a login from Regista's /login/oidc/<name> through the provider's login and consent pages, as a
    person would; the URL the provider sends the browser back to (Regista's callback), not opened yet."""
    answer = browser.get(start_url, allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text[:500]
    url = answer.headers["Location"]
    for _ in range(10):
        answer = browser.get(url, allow_redirects=False, timeout=10)
        while answer.status_code in (302, 303):
            url = urljoin(url, answer.headers["Location"])
            if "/login/oidc/" in url:
                return url
            answer = browser.get(url, allow_redirects=False, timeout=10)
        form = re.search(r'<form[^>]*action="([^"]+)"', answer.text)
        assert form, answer.text[:1000]
        fields = dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', answer.text))
        fields.update({"login": login, "password": "any"} if 'name="login"' in answer.text else {})
        answer = browser.post(urljoin(url, form.group(1)), data=fields, allow_redirects=False, timeout=10)
        url = urljoin(url, answer.headers["Location"])
        if "/login/oidc/" in url:
            return url
    raise AssertionError("the provider never sent the browser back")
