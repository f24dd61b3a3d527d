"""The one way the file routes (MLflow artifacts, the ClearML file server) reach the caller's files.

Both serve bytes rather than JSON, so they are not schema endpoints; this runs the parts they share:
authenticate the request and resolve the caller's company folder, then turn every failure into an
ApiError that the route renders in its own format (MLflow's error JSON, or the envelope).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import falcon

from regista.server.call import ServerContext
from regista.server.errors import ApiError
from regista.server.parts import FileStore


class CompanyFolders:
    def __init__(self, server: ServerContext, store: FileStore, root_key: str, io_error: str):
        self._server = server
        self._root = Path(server.config.get(root_key))
        self._company_root = store.company_root
        self._io_error = io_error  # the error name an I/O failure answers with

    def run(self, req: falcon.Request, action: Callable[[Path], None]) -> ApiError | None:
        """`action(folder)` on the caller's company folder; None when it succeeded, else the error."""
        try:
            identity = self._server.authenticator.authenticate_request(req, navigable=True)  # downloads open in tabs
            action(self._company_root(self._root, identity.company))
        except ApiError as exc:
            return exc
        except OSError as exc:
            return ApiError(self._io_error, f"file I/O failed: {exc.strerror}")
        except falcon.MediaMalformedError:
            return ApiError("bad_request", "malformed multipart body")
        return None
