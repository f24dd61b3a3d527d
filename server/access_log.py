"""One line per call, written straight to a file descriptor.

The logging module spends about 30 µs per record (record objects, caller lookup, handler locks), as much
as the rest of the engine's work on a call; this writer spends about 2. Each line goes out in a single
`os.write`, which the kernel keeps whole even with many threads and worker processes writing at once.
"""

from __future__ import annotations

import json
import os
import time
from contextvars import ContextVar
from typing import Any, Protocol

import orjson

from regista.server.config import Config


class CallLog(Protocol):
    """Where the dispatchers report each answered call (the access log, and the metrics beside it)."""

    def write(
        self, call_id: str, endpoint: str, requested: str | None, actual: str | None, status: int, subcode: int, duration_ms: float
    ) -> None: ...


class AccessLog:
    def __init__(self, fd: int = 2, json: bool = False, enabled: bool = True):
        self._fd = fd
        self._json = json
        self.enabled = enabled
        self._second = -1
        self._stamp = ""

    @classmethod
    def from_config(cls, config: Config, fd: int = 2) -> "AccessLog":
        return cls(fd, json=config.get("logging.format") == "json", enabled=bool(config.get("logging.access_log")))

    def write(
        self,
        call_id: str,
        endpoint: str,
        requested: str | None,
        actual: str | None,
        status: int,
        subcode: int,
        duration_ms: float,
    ) -> None:
        if not self.enabled:
            return
        stamp = self._timestamp()
        if self._json:
            line = orjson.dumps(
                {
                    "time": stamp, "level": "INFO", "logger": "regista.access", "msg": "call", "id": call_id,
                    "endpoint": endpoint, "requested_version": requested, "actual_version": actual,
                    "status": status, "subcode": subcode, "duration_ms": duration_ms,
                }  # fmt: skip
            ) + b"\n"
        else:
            if not endpoint.isprintable() or " " in endpoint or '"' in endpoint:  # a request's path (EveryRequest)
                endpoint = json.dumps(endpoint)
            line = (
                f"{stamp} INFO regista.access: call id={call_id} endpoint={endpoint} requested_version={requested} "
                f"actual_version={actual} status={status} subcode={subcode} duration_ms={duration_ms}\n"
            ).encode()
        os.write(self._fd, line)

    def _timestamp(self) -> str:
        now = time.time()
        second = int(now)
        if second != self._second:  # formatting a time costs more than the rest of the line: once a second
            self._second, self._stamp = second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        return self._stamp


class EveryRequest:
    """A line for every request: Falcon middleware around the CallLog the dispatchers write to. A request no
    dispatcher logged (a path no route answers, the web UI's pages and files, the files server) gets a
    line when its answer goes out, with "<METHOD> <path>" as its endpoint, so an operator sees everything
    clients ask for, their 404s included."""

    def __init__(self, log: CallLog, new_id: Any):
        self._log = log
        self._new_id = new_id
        # Whether the request this thread serves was logged: a worker thread serves one request at a time.
        self._logged: ContextVar[bool] = ContextVar("access_logged", default=False)

    def write(
        self, call_id: str, endpoint: str, requested: str | None, actual: str | None, status: int, subcode: int, duration_ms: float
    ) -> None:
        self._logged.set(True)
        self._log.write(call_id, endpoint, requested, actual, status, subcode, duration_ms)

    def process_request(self, req: Any, resp: Any) -> None:
        self._logged.set(False)
        # Before other middleware rewrites it (the UI's /ajax-api/... is routed as /api/...).
        req.context.access_line = (f"{req.method} {req.path}", time.perf_counter())

    def process_response(self, req: Any, resp: Any, resource: Any, req_succeeded: bool) -> None:
        if self._logged.get():
            return
        endpoint, started = req.context.get("access_line") or (f"{req.method} {req.path}", time.perf_counter())
        self._log.write(self._new_id(), endpoint, None, None, resp.status_code, 0, round((time.perf_counter() - started) * 1000, 2))
