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
API3 = "/api/3.0/mlflow"  # MLflow 3's GenAI routes (traces, assessments, evaluation datasets)
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

    def request(self, method: str, path: str, body: dict[str, Any] | None, /, prefix: str = API) -> dict[str, Any]:
        return self._answer(self._send(method, path, prefix=prefix, json=body), f"{method} {path}")

    def request3(self, method: str, path: str, body: dict[str, Any] | None) -> dict[str, Any]:
        return self.request(method, path, body, prefix=API3)

    def post3(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return self.request("POST", path, body, prefix=API3)

    def get3(self, route: str, /, **params: Any) -> dict[str, Any]:
        return self._answer(self._send("GET", route, prefix=API3, params=params), f"GET {route}")

    def get_or_none3(self, route: str, /, **params: Any) -> dict[str, Any] | None:
        answer = self._send("GET", route, prefix=API3, params=params)
        if answer.status_code == 404 or (answer.status_code == 400 and "RESOURCE_DOES_NOT_EXIST" in answer.text):
            return None
        return self._answer(answer, f"GET {route}")

    def pages3(self, route: str, key: str, /, **request: Any) -> Iterator[dict[str, Any]]:
        """Every item under `key` of a paged v3 listing, POSTed."""
        token = None
        while True:
            page = self.post3(route, {**request, **({"page_token": token} if token else {})})
            yield from page.get(key) or []
            token = page.get("next_page_token")
            if not token:
                return

    def spans(self, trace_id: str) -> list[dict[str, Any]]:
        """A trace's spans in MLflow's traces.json form, from wherever the server keeps them (the route is
        the web UI's: MLflow serves it under /ajax-api only)."""
        answer = self._send("GET", "/get-trace-artifact", prefix="/ajax-api/2.0/mlflow", params={"request_id": trace_id})
        return self._answer(answer, f"spans of trace {trace_id}").get("spans") or []

    def proxied_files(self, root: str, folder: str = "") -> Iterator[tuple[str, int | None]]:
        """(path under `root`, size) of every file under a folder of the artifact proxy."""
        answer = self._send("GET", ARTIFACTS, prefix="", params={"path": f"{root}/{folder}".rstrip("/")})
        if answer.status_code == 404:
            return
        for entry in self._answer(answer, f"list {root}/{folder}").get("files") or []:
            path = f"{folder}/{entry['path'].rsplit('/', 1)[-1]}".lstrip("/")
            if entry.get("is_dir"):
                yield from self.proxied_files(root, path)
            else:
                yield path, int(entry["file_size"]) if entry.get("file_size") is not None else None

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
