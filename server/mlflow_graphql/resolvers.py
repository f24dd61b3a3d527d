"""The executable GraphQL schema: each root field runs one MLflow REST endpoint, so GraphQL and REST
answer from the same handlers, validation, tenancy and error texts.

Inputs arrive in camelCase and go to the endpoint as the snake_case request it validates; answers are
the endpoint's snake_case dictionaries, read field by field (ariadne's name conversion). A field the
answer leaves out reads as its protobuf default, as in MLflow, whose GraphQL reads protobuf messages:
0 for numbers, "" for strings, false, [] for lists and an empty object for messages (apiError alone
stays null: it is not part of the REST answer).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from ariadne import MutationType, ObjectType, QueryType, ScalarType, make_executable_schema
from graphql import (
    GraphQLEnumType,
    GraphQLError,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLResolveInfo,
    GraphQLScalarType,
    GraphQLSchema,
    default_field_resolver,
)

from regista.server.mlflow_graphql.sdl import SDL

# Which REST endpoint answers each root field.
QUERIES = {
    "mlflowGetExperiment": "experiments.get",
    "mlflowGetRun": "runs.get",
    "mlflowSearchRuns": "runs.search",
    "mlflowGetMetricHistoryBulkInterval": "metrics.get_history_bulk_interval",
    "mlflowListArtifacts": "artifacts.list",
    "mlflowSearchModelVersions": "model_versions.search",
}
MUTATIONS = {"mlflowSearchRuns": "runs.search", "mlflowSearchDatasets": "experiments.search_datasets"}
SCALAR_DEFAULTS = {"String": "", "LongString": 0, "Int": 0, "Float": 0.0, "Boolean": False}
NOT_IN_ANSWERS = frozenset({"apiError"})
METRIC_TYPES = ("MlflowMetricExtension", "MlflowMetricWithRunId", "MlflowModelMetric")
# Fields resolved here rather than read from an answer: what they return (null included) stands.
RESOLVED = {("MlflowRunExtension", "experiment"), ("MlflowRunExtension", "modelVersions")}
RESOLVED |= {(name, "value") for name in METRIC_TYPES}

# Runs one MLflow endpoint by name for the caller of the request: what the HTTP resource puts into the
# execution context under "run_endpoint". ApiError when the endpoint refuses.
RunEndpoint = Callable[[str, dict[str, Any]], dict[str, Any]]


def executable_schema() -> GraphQLSchema:
    query, mutation = QueryType(), MutationType()
    query.set_field("test", _echo)
    mutation.set_field("testMutation", _echo)
    for field, endpoint in QUERIES.items():
        query.set_field(field, _root(endpoint))
    for field, endpoint in MUTATIONS.items():
        mutation.set_field(field, _root(endpoint))
    run = ObjectType("MlflowRunExtension")
    run.set_field("experiment", _run_experiment)
    run.set_field("modelVersions", _run_model_versions)
    finite = [ObjectType(name) for name in METRIC_TYPES]
    for metric in finite:
        metric.set_field("value", _finite_value)
    long_string = ScalarType("LongString", serializer=str, value_parser=_parse_long, literal_parser=_parse_long_literal)
    schema = make_executable_schema(SDL, query, mutation, run, *finite, long_string, convert_names_case=True)
    _default_missing_fields(schema)
    return schema


def _root(endpoint: str) -> Callable[..., Any]:
    def resolve(obj: Any, info: GraphQLResolveInfo, input: dict[str, Any] | None = None) -> dict[str, Any]:
        return _call(info, endpoint, _request(input or {}))

    return resolve


def _call(info: GraphQLResolveInfo, endpoint: str, request: dict[str, Any]) -> dict[str, Any]:
    run_endpoint: RunEndpoint = info.context["run_endpoint"]
    return run_endpoint(endpoint, request)


def _request(value: Any) -> Any:
    """An input object as the REST request: unset (null) fields left out, as a client that omits them."""
    if isinstance(value, dict):
        return {key: _request(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_request(item) for item in value]
    return value


def _echo(obj: Any, info: GraphQLResolveInfo, input_string: str | None = None) -> dict[str, Any]:
    return {"output": input_string}


def _run_experiment(run: dict[str, Any], info: GraphQLResolveInfo) -> dict[str, Any] | None:
    experiment_id = (run.get("info") or {}).get("experiment_id")
    if not experiment_id:
        return None
    return _call(info, "experiments.get", {"experiment_id": experiment_id}).get("experiment")


def _run_model_versions(run: dict[str, Any], info: GraphQLResolveInfo) -> list[dict[str, Any]]:
    run_id = (run.get("info") or {}).get("run_id")
    if not run_id:
        return []
    found = _call(info, "model_versions.search", {"filter": f"run_id='{run_id}'"})
    return found.get("model_versions") or []


def _finite_value(metric: dict[str, Any], info: GraphQLResolveInfo) -> float | None:
    # The REST answer writes NaN and the infinities as strings ("NaN", "Infinity"), as protobuf's JSON
    # does; GraphQL's Float has no such values, so they read as null.
    value = metric.get("value")
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return value
    return None


def _parse_long(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise GraphQLError(f"LongString cannot represent {value!r}") from None


def _parse_long_literal(node: Any, variables: Any = None) -> int:
    return _parse_long(getattr(node, "value", None))


def _default_missing_fields(schema: GraphQLSchema) -> None:
    """Wrap the resolver of every field of every answer type so that a missing value reads as its
    protobuf default (see the module's docstring)."""
    roots = {schema.query_type, schema.mutation_type}
    for graphql_type in schema.type_map.values():
        if not isinstance(graphql_type, GraphQLObjectType) or graphql_type in roots or graphql_type.name.startswith("__"):
            continue
        if graphql_type.name in ("Test", "TestMutation", "ApiError", "ErrorDetail"):
            continue
        for name, field in graphql_type.fields.items():
            if name not in NOT_IN_ANSWERS and (graphql_type.name, name) not in RESOLVED:
                field.resolve = _defaulting(field.resolve or default_field_resolver, _default_of(field.type))


def _defaulting(resolve: Callable[..., Any], default: Callable[[], Any]) -> Callable[..., Any]:
    def resolve_or_default(obj: Any, info: GraphQLResolveInfo, **args: Any) -> Any:
        value = resolve(obj, info, **args)
        return default() if value is None else value

    return resolve_or_default


def _default_of(field_type: Any) -> Callable[[], Any]:
    inner = field_type.of_type if isinstance(field_type, GraphQLNonNull) else field_type
    if isinstance(inner, GraphQLList):
        return list
    if isinstance(inner, GraphQLObjectType):
        return dict
    if isinstance(inner, GraphQLScalarType):
        value = SCALAR_DEFAULTS.get(inner.name)
        return lambda: value
    if isinstance(inner, GraphQLEnumType):
        return lambda: None  # no default worth inventing: an unknown state reads as null
    return lambda: None
