"""Validators compiled once per (endpoint, version).

fastjsonschema generates a Python function per schema (its code objects can be cached across starts:
server/schema/cache.py); on the models endpoints it validates a typical
request an order of magnitude faster than a prebuilt jsonschema validator (figures: `python -m
bench.validators`, quoted in README). It also fills in schema defaults, which handlers rely on.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from types import CodeType
from typing import Any

import fastjsonschema

from regista.server.schema.batches import BATCH_FIELD, ERRORS_FIELD
from regista.server.schema.leniency import relaxed
from regista.server.schema.loader import SchemaError, SchemaProblem
from regista.server.schema.model import ApiSchema, EndpointVersion, parse_version

ValidateFn = Callable[[Any], Any]
Key = tuple[str, tuple[int, int]]


class InvalidData(Exception):
    """Data does not match a schema; `field` is the dotted path of the offending field."""

    def __init__(self, field: str, reason: str):
        self.field = field
        self.reason = reason
        super().__init__(f"error for field '{field}': {reason}" if field else reason)


def compile_code(schema: dict[str, Any]) -> CodeType:
    """fastjsonschema's generated validator as a code object, which can be cached with marshal."""
    source = fastjsonschema.compile_to_code(schema, use_default=True, use_formats=True)
    return compile(source, "<fastjsonschema>", "exec")


def load_code(code: CodeType) -> ValidateFn:
    namespace: dict[str, Any] = {}
    exec(code, namespace)  # defines the generated `validate` function, as fastjsonschema.compile does
    return namespace["validate"]


def compile_schema(schema: dict[str, Any]) -> ValidateFn:
    return load_code(compile_code(schema))


def run_validator(validate: ValidateFn, data: Any) -> Any:
    """Validate (filling defaults in place); raise InvalidData naming the field."""
    try:
        return validate(data)
    except fastjsonschema.JsonSchemaValueException as exc:
        raise _invalid_data(exc, data) from None


class Validators:
    """Request validators compiled eagerly (or loaded from cached code); response validators on first use."""

    def __init__(self, api: ApiSchema, request_code: dict[Key, CodeType] | None = None):
        if request_code is None:
            request_code = _compile_requests(api)
        self.request_code = request_code
        self._api = api
        self._requests = {key: load_code(code) for key, code in request_code.items()}
        self._responses: dict[Key, ValidateFn] = {}
        self._lock = threading.Lock()

    def validate_request(self, version: EndpointVersion, data: Any, lenient: bool = False) -> Any:
        """Validated data with defaults filled, narrowed to the fields the endpoint declares.

        Clients send fields of their own (the ClearML SDK adds "method"): they are dropped. A field a later
        version of the endpoint declares is kept when that version's schema accepts the request, as
        clearml-server keeps it (its handlers read one data model whatever the version: a 2.12 call
        with 2.25's `task_name` filters by it); this version's schema alone fills defaults.
        `lenient`: a request refused as sent is read as clearml-server reads it (schema/leniency.py).
        """
        if version.batch_of:
            return self._validate_batch(version, data, lenient)
        validate = self._requests[(version.name, version.version)]
        fields = version.request_fields
        later_keys = self._later_keys(version, data) if fields is not None and isinstance(data, dict) else ()
        sent = copy.deepcopy(data) if later_keys else None  # the validator fills defaults in place
        try:
            data = run_validator(validate, data)
        except InvalidData:
            if not lenient:
                raise
            data = run_validator(validate, relaxed(version.request, data))
        if fields is not None and not fields.issuperset(data):
            data = {key: value for key, value in data.items() if key in fields}
            if later_keys:
                data.update(self._later_fields(version, sent, later_keys, lenient))
        return data

    def _later_keys(self, version: EndpointVersion, data: dict[str, Any]) -> list[str]:
        """The fields sent that this version lacks and the endpoint's newest version declares."""
        fields = version.request_fields or frozenset()
        if fields.issuperset(data):
            return []
        newest = self._api.endpoints[version.name].latest.request_fields or frozenset()
        return [key for key in data if key not in fields and key in newest]

    def _later_fields(self, version: EndpointVersion, sent: dict[str, Any], extra: list[str], lenient: bool) -> dict[str, Any]:
        """The `extra` fields as the newest version's validator reads them; none when it refuses the
        request (they are then dropped, as unknown ones are)."""
        newest = self._api.endpoints[version.name].latest
        validate = self._requests[(newest.name, newest.version)]
        try:
            checked = run_validator(validate, copy.deepcopy(sent))
        except InvalidData:
            if not lenient:
                return {}
            try:
                checked = run_validator(validate, relaxed(newest.request, copy.deepcopy(sent)))
            except InvalidData:
                return {}
        return {key: checked[key] for key in extra if key in checked}

    def _validate_batch(self, version: EndpointVersion, data: Any, lenient: bool) -> dict[str, Any]:
        """Each line against its action's request: the valid ones, and why the others were not (batches.py)."""
        lines = data.get(BATCH_FIELD) if isinstance(data, dict) else None
        if not isinstance(lines, list):
            raise InvalidData(BATCH_FIELD, "a batch is a JSON-lines body or {batched_data: [requests]}")
        name, version_text = version.batch_of
        target = self._api.endpoints[name].resolve(parse_version(version_text))
        valid, errors = [], []
        for index, line in enumerate(lines):
            try:
                valid.append(self.validate_request(target, line, lenient))
            except InvalidData as exc:
                field = f"{BATCH_FIELD}.{index}" + (f".{exc.field}" if exc.field else "")
                errors.append({"index": index, "field": field, "reason": str(exc)})
        return {BATCH_FIELD: valid, ERRORS_FIELD: errors}

    def validate_response(self, version: EndpointVersion, data: Any) -> Any:
        key = (version.name, version.version)
        validate = self._responses.get(key)
        if validate is None:
            with self._lock:
                validate = self._responses.get(key)
                if validate is None:
                    validate = self._responses[key] = compile_schema(version.response)
        return run_validator(validate, data)


def _compile_requests(api: ApiSchema) -> dict[Key, CodeType]:
    compiled, problems = {}, []
    for endpoint in api.endpoints.values():
        for version in endpoint.versions:
            if version.removed:
                continue
            try:
                compiled[(version.name, version.version)] = compile_code(version.request)
            except fastjsonschema.JsonSchemaDefinitionException as exc:
                problems.append(
                    SchemaProblem(version.source, f"request: cannot compile: {exc}", version.name, version.version_text)
                )
    if problems:
        raise SchemaError(problems)
    return compiled


def _invalid_data(exc: fastjsonschema.JsonSchemaValueException, data: Any) -> InvalidData:
    path = [str(p) for p in (exc.path or [])][1:]  # drop the leading "data"
    field = ".".join(path)
    if exc.rule in ("required", "dependencies"):
        missing = _first_missing(exc, data, path)
        if missing:
            return InvalidData(".".join([*path, missing]), "field is required")
    reason = exc.message
    prefix = exc.name or ""
    if prefix and reason.startswith(prefix):
        reason = reason[len(prefix):].strip()
    return InvalidData(field, reason)


def _first_missing(exc: fastjsonschema.JsonSchemaValueException, data: Any, path: list[str]) -> str | None:
    node = data
    for part in path:
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    if not isinstance(node, dict):
        return None
    wanted = exc.rule_definition
    if isinstance(wanted, dict):  # dependencies: {field: [required fields]}
        wanted = [dep for key, deps in wanted.items() if key in node and isinstance(deps, list) for dep in deps]
    for name in wanted or []:
        if name not in node:
            return str(name)
    return None
