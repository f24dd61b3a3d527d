"""A stored file as an HTTP answer, as MLflow's server and ClearML's file server send theirs (werkzeug's
conditional responses): its length, `ETag` and `Last-Modified`; `304 Not Modified` to a client that holds
it already (`If-None-Match`, `If-Modified-Since`); one byte range on request (`Range`, `If-Range`: 206, or
416 outside the file); the headers alone for HEAD. Clients resume large downloads and browsers revalidate
their copies with these.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import BinaryIO

import falcon

CHUNK_BYTES = 256 * 1024


def send(req: falcon.Request, resp: falcon.Response, handle: BinaryIO, content_type: str) -> None:
    """Answer with the file open in `handle` (closed here when no body is sent)."""
    stat = os.fstat(handle.fileno())
    size = stat.st_size
    etag = f'"{stat.st_mtime_ns:x}-{size:x}"'
    modified = datetime.fromtimestamp(int(stat.st_mtime), timezone.utc)
    resp.content_type = content_type
    resp.set_header("ETag", etag)
    resp.last_modified = modified
    resp.accept_ranges = "bytes"
    resp.cache_control = ["no-cache"]  # the file may change under the same name: revalidate each time
    if _not_modified(req, etag, modified):
        handle.close()
        resp.status = falcon.HTTP_304
        return
    first, last = 0, size - 1
    wanted = _range(req, etag, modified)
    if wanted is not None:
        start, end = wanted
        if start < 0:  # the last -start bytes
            start, end = max(size + start, 0), size - 1
        else:
            end = size - 1 if end < 0 else min(end, size - 1)
        if start >= size:
            handle.close()
            resp.status = falcon.HTTP_416
            resp.set_header("Content-Range", f"bytes */{size}")
            resp.content_length = 0
            return
        first, last = start, end
        resp.status = falcon.HTTP_206
        resp.content_range = (first, last, size)
    length = max(last - first + 1, 0)
    if req.method == "HEAD":
        handle.close()
        resp.content_length = length
        return
    if length == size:  # the whole file: the WSGI server may send it straight from the file (sendfile)
        resp.set_stream(handle, size)
        return
    handle.seek(first)
    resp.set_stream(_Slice(handle, length), length)


def _not_modified(req: falcon.Request, etag: str, modified: datetime) -> bool:
    matches = req.get_header("If-None-Match")
    if matches is not None:
        tags = {tag.strip().removeprefix("W/") for tag in matches.split(",")}
        return "*" in tags or etag in tags
    since = _date(req.get_header("If-Modified-Since"))
    return since is not None and modified <= since


def _range(req: falcon.Request, etag: str, modified: datetime) -> tuple[int, int] | None:
    """The byte range asked for (falcon's form: negative first for a suffix, -1 last for "to the end"), or
    None for the whole file: no Range, one the file changed since (If-Range), or one that is malformed
    (ignored, as HTTP allows). Several ranges at once are not served: the whole file is."""
    header = req.get_header("Range")
    if header is None or not header.strip().lower().startswith("bytes="):  # bytes are the one unit served
        return None
    condition = req.get_header("If-Range")
    if condition is not None and condition.strip() != etag and _date(condition) != modified:
        return None
    try:
        return req.range
    except falcon.HTTPInvalidHeader:
        return None


def _date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


class _Slice:
    """`length` bytes of an open file from its current position, read in chunks (a WSGI body)."""

    def __init__(self, handle: BinaryIO, length: int):
        self._handle = handle
        self._left = length

    def read(self, size: int = -1) -> bytes:
        if self._left <= 0:
            return b""
        size = CHUNK_BYTES if size is None or size < 0 else size
        data = self._handle.read(min(size, self._left))
        self._left -= len(data)
        return data

    def close(self) -> None:
        self._handle.close()
