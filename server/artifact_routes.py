"""MLflow's artifact routes: the proxy (PUT, list and GET under /api/2.0/mlflow-artifacts/artifacts) and
the downloads by run, model version or logged model (/get-artifact, /model-versions/get-artifact,
/api/2.0/mlflow/logged-models/{model_id}/artifacts/files).

Bytes, not JSON, so not schema endpoints for the bytes themselves; authentication and tenancy are the
engine's as everywhere (each company has its own folder under artifacts.root). A download by run or
model first runs a schema endpoint (handlers know runs and models) that answers where the file is in the
company's folder; the route then sends it. Every file goes out as MLflow sends it: an attachment, its
type guessed from its name, `X-Content-Type-Options: nosniff`, so a browser never renders it as a page.
"""

from __future__ import annotations

import mimetypes
import tempfile
import time
import unicodedata
import urllib.parse
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

import falcon

from regista.server import envelope, file_answers
from regista.server.call import ServerContext
from regista.server.company_folders import CompanyFolders
from regista.server.errors import ApiError
from regista.server.mlflow_dispatch import MlflowDispatcher
from regista.server.parts import FileStore

ARTIFACTS_PREFIX = "/api/2.0/mlflow-artifacts/artifacts"
# Download routes -> the schema endpoint that locates the file; the query string is its request.
DOWNLOAD_ROUTES = {
    "/get-artifact": "artifacts.locate_run_file",
    "/model-versions/get-artifact": "artifacts.locate_model_version_file",
    "/api/2.0/mlflow/logged-models/{model_id}/artifacts/files": "artifacts.locate_logged_model_file",
}
UPLOAD_PATH = "/api/2.0/mlflow/upload-artifact"
UPLOAD_LOCATOR = "artifacts.locate_run_upload"
# Names MLflow serves as text whatever the platform's type table says (its text extensions).
TEXT_EXTENSIONS = frozenset(
    "txt log err cfg conf cnf cf ini properties prop hocon toml yaml yml xml json js py py3 csv tsv md rst ipynb".split()
)
TEXT_NAMES = frozenset({"mlmodel", "mlproject"})  # MLflow's files without an extension
TOKEN_CHARACTERS = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


def guess_type(name: str) -> str:
    suffix = PurePosixPath(name).suffix.lstrip(".")
    if suffix in TEXT_EXTENSIONS or (not suffix and name.lower() in TEXT_NAMES):
        return "text/plain"
    return mimetypes.guess_type(name, strict=False)[0] or "application/octet-stream"


def attachment(name: str) -> str:
    """A Content-Disposition naming the file: a bare token when it is one, quoted otherwise, and the UTF-8
    form (RFC 5987) beside an ASCII fallback for names outside ASCII (headers are ASCII)."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii") or "download"
    quoted = ascii_name if set(ascii_name) <= TOKEN_CHARACTERS else '"' + ascii_name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if ascii_name == name:
        return f"attachment; filename={quoted}"
    return f"attachment; filename={quoted}; filename*=UTF-8''{urllib.parse.quote(name, safe='!#$&+-.^_`|~')}"


def send_file(req: falcon.Request, resp: falcon.Response, handle: BinaryIO, name: str) -> None:
    resp.set_header("Content-Disposition", attachment(name))
    resp.set_header("X-Content-Type-Options", "nosniff")
    file_answers.send(req, resp, handle, guess_type(name))


def first_values(query_string: str) -> dict[str, str]:
    """The query string's parameters, the first value of a repeated one, as MLflow's download routes read
    theirs (Flask's `request.args.get`)."""
    found: dict[str, str] = {}
    for key, value in urllib.parse.parse_qsl(query_string, keep_blank_values=True):
        found.setdefault(key, value)
    return found


class ArtifactResource:
    def __init__(self, server: ServerContext, store: FileStore, errors: MlflowDispatcher):
        self._store = store
        self._folders = CompanyFolders(server, store, "artifacts.root", "invalid_parameter_value")
        self._errors = errors
        self._max_bytes = int(server.config.get("artifacts.max_file_bytes"))

    def on_get(self, req: falcon.Request, resp: falcon.Response, path: str = "") -> None:
        self._guarded(req, resp, lambda root: self._read(req, resp, root, path))

    on_head = on_get

    def on_put(self, req: falcon.Request, resp: falcon.Response, path: str = "") -> None:
        def write(root: Path) -> None:
            self._store.save(root, path, req.bounded_stream, req.content_length, self._max_bytes)
            resp.content_type = falcon.MEDIA_JSON
            resp.data = b"{}"

        self._guarded(req, resp, write)

    def _read(self, req: falcon.Request, resp: falcon.Response, root: Path, path: str) -> None:
        if not path:  # the listing: ?path=<folder>
            files = self._store.listing(root, req.get_param("path") or "")
            resp.content_type = falcon.MEDIA_JSON
            resp.data = envelope.dumps({"files": files} if files else {})
            return
        send_file(req, resp, self._store.open_file(root, path), PurePosixPath(path).name)

    def _guarded(self, req: falcon.Request, resp: falcon.Response, action: Any) -> None:
        error = self._folders.run(req, action)
        if error is not None:
            resp.status, body = self._errors.render_error(error, "artifacts")
            resp.content_type, resp.data, resp.stream = falcon.MEDIA_JSON, body, None


class ArtifactUpload:
    """POST /api/2.0/mlflow/upload-artifact?run_uuid=&path=: the body becomes that file of the run (the web UI's upload)."""

    def __init__(self, server: ServerContext, store: FileStore, dispatcher: MlflowDispatcher):
        self._store = store
        self._root = Path(server.config.get("artifacts.root"))
        self._dispatcher = dispatcher
        self._max_bytes = int(server.config.get("artifacts.max_file_bytes"))

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        started = time.perf_counter()
        call_id = envelope.new_call_id()
        try:
            # The query string is the locator's request; the body is the file, not JSON.
            call, found = self._dispatcher.run(call_id, UPLOAD_LOCATOR, req, {}, read_body=False)
            if not req.content_length and req.get_header("Transfer-Encoding") is None:  # no body at all
                raise ApiError("invalid_parameter_value", "Request must specify data.")
            root = self._store.company_root(self._root, call.company)
            self._store.save(root, found["path"], req.bounded_stream, req.content_length, self._max_bytes)
            resp.content_type, resp.data, status = falcon.MEDIA_JSON, b"{}", 200
        except OSError as exc:
            status, resp.data = _error(self._dispatcher, resp, ApiError("invalid_parameter_value", f"file I/O failed: {exc.strerror}"), UPLOAD_LOCATOR)
        except Exception as exc:
            status, resp.data = _error(self._dispatcher, resp, exc, UPLOAD_LOCATOR)
        self._dispatcher.log_call(call_id, UPLOAD_LOCATOR, status, started)


class ArtifactDownload:
    """A file of a run, a model version or a logged model: located by a schema endpoint, then sent."""

    def __init__(self, server: ServerContext, store: FileStore, dispatcher: MlflowDispatcher, locator: str):
        self._store = store
        # A locator names the folder a file is in: the artifacts' (default) or the ClearML file server's.
        self._roots = {"artifacts": Path(server.config.get("artifacts.root")), "files": Path(server.config.get("files.root"))}
        self._dispatcher = dispatcher
        self._locator = locator

    def on_get(self, req: falcon.Request, resp: falcon.Response, **params: Any) -> None:
        started = time.perf_counter()
        call_id = envelope.new_call_id()
        try:
            query = first_values(req.query_string)
            call, found = self._dispatcher.run(call_id, self._locator, req, {**query, **params}, read_body=False, navigable=True)
            if "content" in found:  # generated on read (a ClearML task's console or plot page)
                handle: BinaryIO = tempfile.TemporaryFile()  # a file: answers are sent from one (length, ranges)
                handle.write(found["content"].encode("utf-8"))
                handle.seek(0)
            else:
                root = self._roots[found.get("store", "artifacts")]
                handle = self._store.open_file(self._store.company_root(root, call.company), found["path"])
            send_file(req, resp, handle, found["name"])
            status = resp.status_code
        except OSError as exc:
            status, resp.data = _error(self._dispatcher, resp, ApiError("invalid_parameter_value", f"file I/O failed: {exc.strerror}"), self._locator)
        except Exception as exc:
            status, resp.data = _error(self._dispatcher, resp, exc, self._locator)
        self._dispatcher.log_call(call_id, self._locator, status, started)

    on_head = on_get


def _error(dispatcher: MlflowDispatcher, resp: falcon.Response, exc: Exception, endpoint: str) -> tuple[int, bytes]:
    status, body = dispatcher.render_error(exc, endpoint)
    resp.status, resp.content_type, resp.stream = status, falcon.MEDIA_JSON, None
    return status, body
