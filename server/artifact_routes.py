"""MLflow's artifact proxy: PUT, list and GET files under /api/2.0/mlflow-artifacts/artifacts.

Bytes, not JSON, so not a schema endpoint; authentication and tenancy are the engine's as everywhere
(each company has its own folder under artifacts.root).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import falcon

from regista.server import envelope
from regista.server.call import ServerContext
from regista.server.company_folders import CompanyFolders
from regista.server.mlflow_dispatch import MlflowDispatcher
from regista.server.parts import FileStore

ARTIFACTS_PREFIX = "/api/2.0/mlflow-artifacts/artifacts"


class ArtifactResource:
    def __init__(self, server: ServerContext, store: FileStore, errors: MlflowDispatcher):
        self._store = store
        self._folders = CompanyFolders(server, store, "artifacts.root", "invalid_parameter_value")
        self._errors = errors
        self._max_bytes = int(server.config.get("artifacts.max_file_bytes"))

    def on_get(self, req: falcon.Request, resp: falcon.Response, path: str = "") -> None:
        self._guarded(req, resp, lambda root: self._read(req, resp, root, path))

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
        handle = self._store.open_file(root, path)
        resp.content_type = "application/octet-stream"
        resp.stream = handle

    def _guarded(self, req: falcon.Request, resp: falcon.Response, action: Any) -> None:
        error = self._folders.run(req, action)
        if error is not None:
            resp.status, body = self._errors.render_error(error, "artifacts")
            resp.content_type, resp.data, resp.stream = falcon.MEDIA_JSON, body, None
