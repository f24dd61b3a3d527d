"""A file server compatible with ClearML's: multipart uploads to /files, downloads from /files/<path>
(the prefix is files.prefix).

The ClearML SDK uploads models and artifacts there (CLEARML_FILES_HOST=http://HOST:PORT/files), each
multipart field named by the file's destination path, and sends its API token along. Files are kept
in a folder per company under files.root, with the artifact store's path checks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import falcon

from regista.server import envelope, file_answers
from regista.server.call import ServerContext
from regista.server.company_folders import CompanyFolders
from regista.server.errors import ApiError
from regista.server.parts import FileStore


BATCH_DELETE = "delete_many"  # POST <prefix>/delete_many with a JSON body deletes files; multipart there uploads


class FilesResource:
    def __init__(
        self, server: ServerContext, store: FileStore, render_error: Callable[[str, dict, Exception], tuple[int, int, bytes]]
    ):
        self._store = store
        self._folders = CompanyFolders(server, store, "files.root", "bad_request")
        self._render_error = render_error
        self._max_bytes = int(server.config.get("files.max_file_bytes"))

    def on_post(self, req: falcon.Request, resp: falcon.Response, path: str = "") -> None:
        if path.strip("/") == BATCH_DELETE and (req.content_type or "").startswith(falcon.MEDIA_JSON):
            return self._delete_many(req, resp)

        def upload(root: Path) -> None:
            if not (req.content_type or "").startswith("multipart/form-data"):
                raise ApiError("unsupported_media_type", "uploads are multipart/form-data, one field per file")
            if req.content_length is None:  # the multipart parser needs to know where the body ends
                raise ApiError("length_required", "uploads are sent with their Content-Length, not chunked")
            saved = []
            for part in req.get_media():
                # Field names are destination paths; the SDK sends them with a leading "/".
                target = "/".join(p.strip("/") for p in (path, part.name) if p.strip("/"))
                self._store.save(root, target, part.stream, None, self._max_bytes)
                saved.append(target)
            resp.content_type = falcon.MEDIA_JSON
            resp.data = envelope.dumps(saved)

        self._guarded(req, resp, upload)

    def on_get(self, req: falcon.Request, resp: falcon.Response, path: str = "") -> None:
        def download(root: Path) -> None:
            file_answers.send(req, resp, self._store.open_file(root, path), "application/octet-stream")

        self._guarded(req, resp, download)

    on_head = on_get

    def on_delete(self, req: falcon.Request, resp: falcon.Response, path: str = "") -> None:
        def delete(root: Path) -> None:
            self._store.delete(root, path)
            resp.content_type = falcon.MEDIA_JSON
            resp.data = b"{}"

        self._guarded(req, resp, delete)

    def _delete_many(self, req: falcon.Request, resp: falcon.Response) -> None:
        """POST /delete_many {files: [path, ...]}: {deleted: {file: path}, errors: {reason: [file, ...]}}, as
        ClearML's file server answers (a folder goes with its contents; an empty path is refused)."""

        def delete_many(root: Path) -> None:
            try:
                body = req.get_media()
            except falcon.MediaMalformedError:
                raise ApiError("malformed_json", "the body is not JSON") from None
            files = body.get("files") if isinstance(body, dict) else None
            if not isinstance(files, list) or not files or not all(isinstance(f, str) for f in files):
                raise ApiError("validation_error", "files: a non-empty list of paths is required")
            deleted, errors = self._store.delete_many(root, files)
            resp.content_type = falcon.MEDIA_JSON
            resp.data = envelope.dumps({"deleted": deleted, "errors": errors})

        self._guarded(req, resp, delete_many)

    def _guarded(self, req: falcon.Request, resp: falcon.Response, action: Any) -> None:
        error = self._folders.run(req, action)
        if error is not None:
            resp.status, _, body = self._render_error(envelope.new_call_id(), envelope.endpoint_meta(req.path, None, None), error)
            resp.content_type, resp.data, resp.stream = falcon.MEDIA_JSON, body, None
