"""A ClearML API, as `regista import clearml` reads and writes it: clearml-server or Regista, logged in with a
key pair, calls answered in ClearML's envelope, errors that say what failed, and the files server."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import orjson
import requests
from requests.adapters import HTTPAdapter

from regista.client.transfer.rest import CHUNK, RETRIES, TIMEOUT_S, Refused, Unreachable

PAGE = 500  # entities per listing call


class ClearmlRest:
    """Calls to one server's ClearML API at `version` (None: the server's newest)."""

    def __init__(self, url: str, keys: tuple[str, str], label: str, files_url: str, version: str | None = None):
        self.url, self.label, self.files_url = url.rstrip("/"), label, files_url.rstrip("/")
        self.prefix = f"{self.url}/v{version}" if version else self.url
        self.session = requests.Session()
        adapter = HTTPAdapter(max_retries=RETRIES, pool_maxsize=16)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self._keys = keys

    def login(self) -> None:
        """Fail with Unreachable unless the server answers and accepts the key pair; keep its token."""
        try:
            answer = self.session.post(f"{self.url}/auth.login", auth=self._keys, timeout=TIMEOUT_S)
        except requests.RequestException as error:
            raise Unreachable(f"{self.label} ({self.url}) cannot be reached: {error}") from None
        if answer.status_code in (401, 403):
            raise Unreachable(f"{self.label} ({self.url}) refused the credentials ({answer.status_code})")
        try:
            token = answer.json()["data"]["token"]
        except (ValueError, KeyError, TypeError):
            raise Unreachable(f"{self.label} ({self.url}) does not answer ClearML's API: {answer.status_code} {answer.text[:200]}") from None
        self.session.headers["Authorization"] = f"Bearer {token}"

    def call(self, endpoint: str, body: dict[str, Any] | None = None, what: str = "") -> dict[str, Any]:
        """The data of a successful call; Refused (what failed and why) otherwise."""
        return self._answer(self._send("POST", f"{self.prefix}/{endpoint}", json=body or {}), what or endpoint)

    def add_events(self, events: list[dict[str, Any]], what: str) -> dict[str, Any]:
        """events.add_batch as the SDK sends it: one event per line."""
        body = b"\n".join(orjson.dumps(event) for event in events)
        answer = self._send("POST", f"{self.prefix}/events.add_batch", data=body, headers={"Content-Type": "application/json-lines"})
        return self._answer(answer, what)

    def listing(self, endpoint: str, key: str, request: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """Every entity of a get_all listing, a page at a time (page and page_size, which every version
        of both servers takes)."""
        page = 0
        while True:
            found = self.call(endpoint, {**request, "page": page, "page_size": PAGE}).get(key) or []
            yield from found
            if len(found) < PAGE:
                return
            page += 1

    def scroll(self, endpoint: str, key: str, request: dict[str, Any]) -> Iterator[list[dict[str, Any]]]:
        """Pages of a scrolled listing (events), until one comes back empty."""
        scroll_id = None
        while True:
            found = self.call(endpoint, {**request, **({"scroll_id": scroll_id} if scroll_id else {})})
            page = found.get(key) or []
            if not page:
                return
            yield page
            scroll_id = found.get("scroll_id")
            if not scroll_id:
                return

    def download(self, url: str) -> requests.Response:
        """A streamed GET of a file (the caller closes it); the API token goes along, as the SDK sends it."""
        answer = self._send("GET", url, stream=True)
        if answer.status_code != 200:
            answer.close()
            raise Refused(f"{self.label}: download {url}", answer.status_code, answer.text[:200])
        return answer

    def upload(self, path: str, chunks: Iterable[bytes], size: int) -> None:
        """A file of `size` bytes to the files server at `path`, streamed as one multipart field (never whole
        in memory), with the body's length (a files server's multipart parser needs it)."""
        boundary = uuid.uuid4().hex
        head = (f'--{boundary}\r\nContent-Disposition: form-data; name="{_quoted(path)}"; filename="{_quoted(path.rsplit("/", 1)[-1])}"\r\n'
                "Content-Type: application/octet-stream\r\n\r\n").encode()  # fmt: skip
        tail = f"\r\n--{boundary}--\r\n".encode()
        body = _Stream([head], chunks, [tail], size=len(head) + size + len(tail))
        answer = self._send("POST", f"{self.files_url}/", data=body, headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
        if answer.status_code >= 300:
            raise Refused(f"{self.label}: upload {path}", answer.status_code, answer.text[:300])

    def _send(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        try:
            return self.session.request(method, url, timeout=TIMEOUT_S, **kwargs)
        except requests.RequestException as error:
            raise Unreachable(f"{self.label} ({self.url}) stopped answering: {error}") from None

    def _answer(self, answer: requests.Response, what: str) -> dict[str, Any]:
        try:
            body = answer.json()
        except ValueError:
            body = {}
        meta = body.get("meta") or {}
        if answer.status_code == 401:
            raise Unreachable(f"{self.label} refused {what}: {answer.status_code} {meta.get('result_msg', answer.text[:200])}")
        if answer.status_code >= 300:
            message = meta.get("result_msg") or answer.text[:300]
            raise Refused(f"{self.label}: {what}", answer.status_code, f"{message} (subcode {meta.get('result_subcode', 0)})")
        return body.get("data") or {}


class _Stream:
    """Pieces read as one file of a known length: requests then sends it with Content-Length, a chunk at a
    time (a generator would go chunked, which a multipart parser cannot take)."""

    def __init__(self, *pieces: Iterable[bytes], size: int):
        self.len = size
        self._pieces = (piece for group in pieces for piece in group)
        self._held = b""

    def read(self, amount: int = -1) -> bytes:
        amount = amount if amount and amount > 0 else CHUNK
        while len(self._held) < amount:
            piece = next(self._pieces, None)
            if piece is None:
                break
            self._held += piece
        taken, self._held = self._held[:amount], self._held[amount:]
        return taken


def default_files_url(api_url: str) -> str:
    """Where a ClearML server's files are served, by ClearML's conventions: port 8008's files on 8081, an
    api.* host's on files.*; else (Regista) the server's own /files."""
    parts = urlsplit(api_url.rstrip("/"))
    host = parts.hostname or ""
    if parts.port == 8008:
        return urlunsplit(parts._replace(netloc=parts.netloc.replace(":8008", ":8081"), path=""))
    if host.startswith("api."):
        return urlunsplit(parts._replace(netloc=parts.netloc.replace("api.", "files.", 1), path=""))
    return f"{api_url.rstrip('/')}/files"


def _quoted(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', "%22").replace("\r", "").replace("\n", "")
