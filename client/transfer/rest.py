"""An MLflow REST API, as `regista import` and `regista export` read and write it: MLflow's own server or
Regista's MLflow view, with retries on a busy server and errors that say what failed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

API = "/api/2.0/mlflow"
ARTIFACTS = "/api/2.0/mlflow-artifacts/artifacts"
TIMEOUT_S = 60
CHUNK = 1 << 20
RETRIES = Retry(total=5, connect=5, read=3, backoff_factor=0.5, status_forcelist=(429, 502, 503, 504),
                allowed_methods=None, raise_on_status=False)  # fmt: skip


class Unreachable(Exception):
    """A server that cannot be used at all: not answering, or refusing the credentials."""


class Refused(Exception):
    """One request the server refused: the entity it was about is not copied."""

    def __init__(self, what: str, status: int, message: str):
        self.status = status
        super().__init__(f"{what}: {status} {message}")


class MlflowRest:
    """Calls to one server's MLflow API. `auth`: (user, password) for HTTP Basic, a token, or nothing."""

    def __init__(self, url: str, auth: tuple[str, str] | str | None, label: str):
        self.url = url.rstrip("/")
        self.label = label
        self.session = requests.Session()
        adapter = HTTPAdapter(max_retries=RETRIES, pool_maxsize=16)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        if isinstance(auth, tuple):
            self.session.auth = auth
        elif auth:
            self.session.headers["Authorization"] = f"Bearer {auth}"

    def check(self) -> None:
        """Fail with Unreachable unless the server answers an authenticated MLflow call."""
        try:
            answer = self.session.get(f"{self.url}{API}/experiments/search", params={"max_results": 1}, timeout=TIMEOUT_S)
        except requests.RequestException as error:
            raise Unreachable(f"{self.label} ({self.url}) cannot be reached: {error}") from None
        if answer.status_code in (401, 403):
            raise Unreachable(f"{self.label} ({self.url}) refused the credentials ({answer.status_code})")
        if answer.status_code != 200:
            raise Unreachable(f"{self.label} ({self.url}) does not answer MLflow's API: {answer.status_code} {answer.text[:200]}")

    def get(self, route: str, /, **params: Any) -> dict[str, Any]:
        return self._answer(self._send("GET", route, params=params), f"GET {route}")

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._answer(self._send("POST", path, json=body), f"POST {path}")

    def get_or_none(self, route: str, /, **params: Any) -> dict[str, Any] | None:
        """The answer, or None when the server says the entity does not exist."""
        answer = self._send("GET", route, params=params)
        if answer.status_code == 404 or (answer.status_code == 400 and "RESOURCE_DOES_NOT_EXIST" in answer.text):
            return None
        return self._answer(answer, f"GET {route}")

    def pages(self, route: str, key: str, /, method: str = "GET", **request: Any) -> Iterator[dict[str, Any]]:
        """Every item under `key` of a paged listing (page_token / next_page_token)."""
        token = None
        while True:
            body = {**request, **({"page_token": token} if token else {})}
            page = self.get(route, **body) if method == "GET" else self.post(route, body)
            yield from page.get(key) or []
            token = page.get("next_page_token")
            if not token:
                return

    def download(self, artifact_path: str) -> requests.Response:
        """A streamed GET of a proxied artifact file (the caller closes it)."""
        answer = self._send("GET", f"{ARTIFACTS}/{quote(artifact_path)}", stream=True, prefix="")
        if answer.status_code != 200:
            answer.close()
            raise Refused(f"download {artifact_path}", answer.status_code, answer.text[:200])
        return answer

    def upload(self, artifact_path: str, stream: Any, size: int | None) -> None:
        """PUT a proxied artifact file from a readable stream, read a chunk at a time (with its length when
        known, else chunked)."""
        body = _Sized(stream, size) if size is not None else iter(lambda: stream.read(CHUNK), b"")
        headers = {"Content-Type": "application/octet-stream"}
        answer = self._send("PUT", f"{ARTIFACTS}/{quote(artifact_path)}", data=body, headers=headers, prefix="")
        self._answer(answer, f"upload {artifact_path}")

    def _send(self, method: str, path: str, prefix: str = API, **kwargs: Any) -> requests.Response:
        try:
            return self.session.request(method, f"{self.url}{prefix}{path}", timeout=TIMEOUT_S, **kwargs)
        except requests.RequestException as error:
            raise Unreachable(f"{self.label} ({self.url}) stopped answering: {error}") from None

    def _answer(self, answer: requests.Response, what: str) -> dict[str, Any]:
        if answer.status_code in (401, 403):
            raise Unreachable(f"{self.label} refused {what}: {answer.status_code} {answer.text[:200]}")
        if answer.status_code >= 300:
            try:
                body = answer.json()
                message = f"{body.get('error_code', '')} {body.get('message', '')}".strip()
            except ValueError:
                message = answer.text[:300]
            raise Refused(f"{self.label}: {what}", answer.status_code, message)
        return answer.json() if answer.content else {}


class _Sized:
    """A stream with the length requests needs to send it with Content-Length rather than chunked."""

    def __init__(self, stream: Any, size: int):
        self.stream, self.len = stream, size

    def read(self, amount: int = -1) -> bytes:
        return self.stream.read(amount if amount and amount > 0 else CHUNK)

    def __iter__(self) -> Iterator[bytes]:
        return iter(lambda: self.read(CHUNK), b"")
