"""The request pipeline: path -> endpoint version -> body -> validation -> handler -> envelope.

This is the only code that touches Falcon's request and response for API calls; handlers receive a Call
and a dict, and return a dict or raise ApiError.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable
from typing import Any

import falcon
import orjson

from regista.server import envelope
from regista.server.auth import Identity, check_role
from regista.server.call import Call, Reply, ServerContext
from regista.server.db import translate_db_error
from regista.server.errors import ApiError, ErrorCatalogue
from regista.server.access_log import CallLog
from regista.server.audit import entry_for
from regista.server.query_string import parse_query_string
from regista.server.schema.model import EndpointVersion, Version, format_version, parse_version
from regista.server.schema.validators import InvalidData, Validators

Handler = Callable[[Call, dict[str, Any]], dict[str, Any]]

log = logging.getLogger(__name__)

RESOLVED_CACHE_SIZE = 4096
FIRST_VERSION, OLDEST_ANSWERED = (2, 1), (1, 0)  # the API's first version; what clearml-server answers as it
JSON_LINES = "application/json-lines"


def parse_json_lines(raw: bytes) -> list[Any]:
    """A JSON-lines body (one JSON value per line, as the ClearML SDK sends event batches)."""
    items = []
    for number, line in enumerate(raw.splitlines(), start=1):
        if line.strip():
            try:
                items.append(orjson.loads(line))
            except orjson.JSONDecodeError as exc:
                raise ApiError("malformed_json", f"line {number}: {exc}") from None
    return items


def request_data(req: falcon.Request, spec: EndpointVersion, max_body: int) -> Any:
    """The request's data: its JSON (or JSON-lines) body, with query-string parameters merged over it."""
    encoding = req.get_header("Content-Encoding")
    if encoding and encoding.lower() != "identity":
        raise ApiError("unsupported_media_type", f"Content-Encoding '{encoding}' is not supported")
    length = req.content_length
    if length is not None and length > max_body:
        raise ApiError("request_too_large", f"{length} bytes, the limit is {max_body}")
    if length is not None:
        raw = req.stream.read(length) if length else b""  # the WSGI server bounds the stream itself
    elif req.env.get("wsgi.input_terminated"):  # chunked: no Content-Length, the server ends the stream
        raw = req.stream.read(max_body + 1)
    else:
        raw = b""
    if len(raw) > max_body:
        raise ApiError("request_too_large", f"more than {max_body} bytes")
    data: Any = {}
    if (req.content_type or "").startswith(JSON_LINES):
        data = {"batched_data": parse_json_lines(raw)}
    elif raw.strip():
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise ApiError("malformed_json", str(exc)) from None
        if spec.batch_of and isinstance(data, list):  # a batch sent as one JSON array
            data = {"batched_data": data}
    if req.query_string:
        if not isinstance(data, dict):
            raise ApiError("validation_error", "the request body must be a JSON object")
        data.update(parse_query_string(req.query_string, spec.request))
    return data


class Dispatcher:
    """Falcon resource serving every `[/api][/vX.Y]/<service>.<action>` path."""

    def __init__(
        self,
        server: ServerContext,
        validators: Validators,
        handlers: dict[str, Handler],
        catalogue: ErrorCatalogue,
        access_log: CallLog,
    ):
        self._server = server
        self._access_log = access_log
        self._validators = validators
        self._handlers = handlers
        self._catalogue = catalogue
        config = server.config
        self._max_body = int(config.get("api.max_body_bytes"))
        self._debug = bool(config.get("api.debug"))
        self._validate_responses = bool(config.get("api.validate_responses"))
        self._authenticator = server.authenticator
        self._max_version_text = format_version(server.api.max_version)
        self._resolved: dict[tuple[str, str | None], tuple[EndpointVersion, Version | None]] = {}

    def on_get(self, req: falcon.Request, resp: falcon.Response, endpoint: str, version: str | None = None) -> None:
        started = time.perf_counter()
        call_id = envelope.new_call_id()
        meta = envelope.endpoint_meta(endpoint, version or self._max_version_text, None)
        try:
            spec, requested = self._resolve(endpoint, version)
            meta["actual_version"] = spec.version_text
            data = self._run(call_id, spec, requested, req, resp)
            body = envelope.render(call_id, meta, 200, 0, "OK", data)
            status, subcode = 200, 0
        except Exception as exc:  # every failure is answered in the envelope, never as a bare 500
            status, subcode, body = self.render_error(call_id, meta, exc)
        resp.status = status
        resp.content_type = falcon.MEDIA_JSON
        resp.data = body
        self._access_log.write(
            call_id,
            endpoint,
            meta["requested_version"],
            meta["actual_version"],
            status,
            subcode,
            round((time.perf_counter() - started) * 1000, 2),
        )

    on_post = on_get

    def _resolve(self, name: str, version: str | None) -> tuple[EndpointVersion, Version | None]:
        key = (name, version)
        resolved = self._resolved.get(key)
        if resolved is None:
            resolved = self._resolve_uncached(name, version)
            if len(self._resolved) < RESOLVED_CACHE_SIZE:  # bounded: clients choose the versions they send
                self._resolved[key] = resolved
        return resolved

    def _resolve_uncached(self, name: str, version: str | None) -> tuple[EndpointVersion, Version | None]:
        requested: Version | None = None
        if version is not None:
            try:
                requested = parse_version(version)
            except ValueError as exc:
                raise ApiError("invalid_path", str(exc)) from None
        endpoint = self._server.api.endpoints.get(name)
        spec = endpoint.resolve(requested) if endpoint else None
        if spec is None and endpoint is not None and requested is not None and OLDEST_ANSWERED <= requested < FIRST_VERSION:
            # clearml-server's original handlers answer any version from 1.0 (its old tests call 2.0): an
            # action that existed from the API's first version answers older requests as that version
            spec = endpoint.versions[0] if endpoint.versions[0].version == FIRST_VERSION else None
        if spec is None:
            shown = version or "latest"
            raise ApiError(
                "endpoint_not_found",
                f"Unable to find endpoint for name {name} and version {shown}",
                endpoint=name,
                version=shown,
            )
        return spec, requested

    def _run(
        self, call_id: str, spec: EndpointVersion, requested: Version | None, req: falcon.Request, resp: falcon.Response
    ) -> Any:
        if spec.removed:
            raise ApiError("endpoint_removed", spec.removed, endpoint=spec.name, version=spec.version_text)
        identity = self._identify(spec, req)
        data = request_data(req, spec, self._max_body)
        try:
            data = self._validators.validate_request(spec, data, lenient=True)
        except InvalidData as exc:
            raise ApiError("validation_error", str(exc), field=exc.field) from None
        call = Call(
            id=call_id,
            endpoint=spec.name,
            requested_version=requested,
            actual_version=spec.version,
            identity=identity,
            server=self._server,
            client_address=req.remote_addr or "",
        )
        result = self._handlers[spec.name](call, data)
        if spec.access.audit and self._server.audit_log is not None:
            self._server.audit_log.record(entry_for(call, spec.name, data))
        if isinstance(result, Reply):
            for cookie in result.cookies:
                resp.set_cookie(
                    cookie.name, cookie.value, max_age=cookie.max_age, path="/",
                    secure=self._authenticator.cookie_secure, http_only=True, same_site="Lax",
                )  # fmt: skip
            result = result.data
        if self._validate_responses:
            try:
                self._validators.validate_response(spec, orjson.loads(envelope.dumps(result)))
            except InvalidData as exc:
                raise RuntimeError(f"{spec.name} v{spec.version_text} response violates its schema: {exc}") from None
        return result

    def _identify(self, spec: EndpointVersion, req: falcon.Request) -> Identity | None:
        """The caller's identity, enforcing the schema's access rules; None on open endpoints."""
        if not spec.access.authorize:
            return None
        identity = self._authenticator.authenticate_request(req)
        check_role(identity, spec.access, spec.name)
        return identity

    def render_error(self, call_id: str, meta: dict[str, Any], exc: Exception) -> tuple[int, int, bytes]:
        """Status, subcode and envelope body for any exception raised while serving a call."""
        error = exc if isinstance(exc, ApiError) else translate_db_error(exc)
        stack = None
        if error is None or error.name not in self._catalogue:
            log.error("unexpected error in call %s (%s)", call_id, meta["name"], exc_info=exc)
            stack = "".join(traceback.format_exception(exc)) if self._debug else None
            error = ApiError("internal_error", f"{type(exc).__name__}" + (f": {exc}" if self._debug else ""))
        entry, message = self._catalogue.describe(error)
        body = envelope.render(call_id, meta, entry.code, entry.subcode, message, {}, stack, error.data)
        return entry.code, entry.subcode, body
