"""POST (or GET) /graphql: the MLflow UI's GraphQL queries, run as the authenticated caller.

The answer is MLflow's: `{"data": ..., "errors": [message, ...] or null}` with status 200 once the query
could be read, whatever its resolvers met (the UI reads both parts). Each field a query selects calls an
MLflow endpoint exactly as its REST route would: same validation, roles, tenancy and error words.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import falcon
from ariadne import graphql_sync
from graphql import GraphQLError, GraphQLSchema, parse
from graphql.error import GraphQLSyntaxError

from regista.server import envelope
from regista.server.access_log import CallLog
from regista.server.auth import Identity, check_role
from regista.server.call import Call, Reply, ServerContext
from regista.server.db import translate_db_error
from regista.server.dispatch import Handler
from regista.server.errors import ApiError, ErrorCatalogue
from regista.server.mlflow_dispatch import MLFLOW_VERSION, MlflowDispatcher
from regista.server.mlflow_graphql.limits import QueryTooLarge, check_query_shape
from regista.server.mlflow_graphql.resolvers import executable_schema
from regista.server.schema.validators import InvalidData, Validators

log = logging.getLogger(__name__)

MAX_TOKENS = 100_000  # what the parser reads of one query; the shape limits then bound what runs


class EndpointRunner:
    """Runs MLflow endpoints by name for one identity, as MlflowDispatcher does for a REST request."""

    def __init__(self, server: ServerContext, validators: Validators, handlers: dict[str, Handler], endpoints: dict[str, Any]):
        self._server = server
        self._validators = validators
        self._handlers = handlers
        self._endpoints = endpoints

    def run(self, identity: Identity, call_id: str, name: str, request: dict[str, Any]) -> dict[str, Any]:
        endpoint = self._endpoints.get(name)
        spec = endpoint.resolve(MLFLOW_VERSION) if endpoint else None
        if spec is None:
            raise ApiError("endpoint_not_found", f"No MLflow endpoint {name} to answer this field")
        check_role(identity, spec.access, spec.name)
        try:
            data = self._validators.validate_request(spec, request)
        except InvalidData as exc:  # worded as the REST routes word it
            raise ApiError("invalid_parameter_value", f"Invalid value for parameter '{exc.field}': {exc.reason}") from None
        call = Call(call_id, f"mlflow.{spec.name}", MLFLOW_VERSION, MLFLOW_VERSION, identity, self._server)
        result = self._handlers[spec.name](call, data)
        return result.data if isinstance(result, Reply) else result


class GraphqlResource:
    def __init__(self, server: ServerContext, runner: EndpointRunner, catalogue: ErrorCatalogue,
                 errors: MlflowDispatcher, access_log: CallLog):  # fmt: skip
        self._server = server
        self._runner = runner
        self._catalogue = catalogue
        self._errors = errors
        self._access_log = access_log
        self._schema: GraphQLSchema = executable_schema()
        self._quiet = logging.Logger("regista.graphql.fields", logging.CRITICAL + 1)

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        started = time.perf_counter()
        call_id = envelope.new_call_id()
        try:
            identity = self._server.authenticator.authenticate_request(req)
            status, body = self._answer(identity, call_id, self._read(req))
        except ApiError as exc:
            status, body = self._errors.render_error(exc, "graphql")
        resp.status, resp.content_type, resp.data = status, falcon.MEDIA_JSON, body
        self._access_log.write(call_id, "mlflow.graphql", None, None, status, 0, round((time.perf_counter() - started) * 1000, 2))

    on_get = on_post

    def _read(self, req: falcon.Request) -> dict[str, Any]:
        if req.method == "GET":
            body: Any = {"query": req.get_param("query"), "operationName": req.get_param("operationName")}
            variables = req.get_param("variables")
            body["variables"] = _json_or_error(variables) if variables else None
        else:
            raw = req.bounded_stream.read(int(self._server.config.get("api.max_body_bytes")) + 1)
            body = _json_or_error(raw or b"{}")
        if not isinstance(body, dict) or not isinstance(body.get("query"), str):
            raise ApiError("invalid_parameter_value", "a GraphQL request is a JSON object with a string 'query'")
        if body.get("variables") is not None and not isinstance(body["variables"], dict):
            raise ApiError("invalid_parameter_value", "'variables' must be a JSON object")
        return body

    def _answer(self, identity: Identity, call_id: str, body: dict[str, Any]) -> tuple[int, bytes]:
        try:
            document = parse(body["query"], max_tokens=MAX_TOKENS)
            check_query_shape(document)
        except GraphQLSyntaxError as exc:
            return 400, envelope.dumps({"data": None, "errors": [exc.message]})
        except (QueryTooLarge, GraphQLError, RecursionError) as exc:
            return 200, envelope.dumps({"data": None, "errors": [str(exc) or "the query is too deep"]})

        def run_endpoint(name: str, request: dict[str, Any]) -> dict[str, Any]:
            return self._runner.run(identity, call_id, name, request)

        _, result = graphql_sync(
            self._schema,
            {"query": body["query"], "variables": body.get("variables"), "operationName": body.get("operationName")},
            context_value={"run_endpoint": run_endpoint},
            query_document=document,
            error_formatter=self._format_error,
            logger=self._quiet,  # errors are logged (when unexpected) by _format_error, not once per field
        )  # fmt: skip
        return 200, envelope.dumps({"data": result.get("data"), "errors": result.get("errors") or None})

    def _format_error(self, error: GraphQLError, debug: bool = False) -> str:
        original = error.original_error
        if original is not None and not isinstance(original, (ApiError, GraphQLError)):
            original = translate_db_error(original) or original
        if isinstance(original, ApiError):
            return original.message or self._catalogue.describe(original)[1]
        if original is not None and not isinstance(original, GraphQLError):
            log.error("unexpected error in a GraphQL field %s", error.path, exc_info=original)
            return f"Internal error: {type(original).__name__}"
        return error.message


def _json_or_error(raw: bytes | str) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        raise ApiError("invalid_parameter_value", "the GraphQL request body is not JSON") from None
