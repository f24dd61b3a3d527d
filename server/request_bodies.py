"""Every request's body read to its end before the answer goes out, whatever path answered it.

A call refused before its body was read (no credentials, an unknown path, a GET whose body no route
reads) leaves the body on the connection. gunicorn then drains at most 64 KiB of it after the answer and
closes a kept-alive connection with more left, though the answer said keep-alive: the client's next
request on it fails with a reset, and the ClearML SDK drops that batch of events. Read here, before the
answer, the body is gone from the connection and the client reuses it safely. A body larger than
api.max_body_bytes is refused as too large and not read: the server closes that connection.
"""

from __future__ import annotations

import logging
import time
from typing import Any

log = logging.getLogger(__name__)

CHUNK_BYTES = 64 * 1024


class UnreadBodies:
    """Falcon middleware: the rest of a request's body discarded once its answer is ready."""

    def __init__(self, max_bytes: int, max_seconds: float = 10.0):
        self._max_bytes = max_bytes
        self._max_seconds = max_seconds  # a client that trickles its body does not hold a thread longer

    def process_response(self, req: Any, resp: Any, resource: Any, req_succeeded: bool) -> None:
        # Only where the WSGI server ends the input at the body's end (gunicorn does): elsewhere a read
        # past what the application took could wait for bytes that never come.
        if not req.env.get("wsgi.input_terminated"):
            return
        length = req.content_length
        if length is not None and length > self._max_bytes:
            return
        stream = req.env["wsgi.input"]
        deadline = time.monotonic() + self._max_seconds
        drained = 0
        try:
            while drained <= self._max_bytes and time.monotonic() < deadline:
                chunk = stream.read(CHUNK_BYTES)
                if not chunk:
                    return
                drained += len(chunk)
        except Exception as exc:  # the client went away, or sent a broken chunk: the server closes
            log.debug("request body not read to its end: %s", exc)
