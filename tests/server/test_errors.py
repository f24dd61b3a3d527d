"""The error catalogue and its use in code."""

from __future__ import annotations

import ast
from pathlib import Path

import regista.server
import regista.services
from regista.server.config import default_schema_dir
from regista.server.errors import ApiError, ErrorCatalogue


def catalogue() -> ErrorCatalogue:
    return ErrorCatalogue.load(default_schema_dir() / "errors.conf")


def names_raised_in_code() -> set[str]:
    names = set()
    for package in (regista.server, regista.services):
        for path in Path(package.__file__).parent.rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "ApiError" and node.args:
                    if isinstance(node.args[0], ast.Constant):
                        names.add(node.args[0].value)
    return names


def test_every_error_raised_in_code_is_in_the_catalogue():
    known = {entry.name for entry in catalogue()}
    used = names_raised_in_code()
    assert len(used) > 15
    assert used - known == set()


def test_wire_codes_of_the_reference():
    codes = {entry.name: (entry.code, entry.subcode) for entry in catalogue()}
    assert codes["validation_error"] == (400, 12)
    assert codes["invalid_model_id"] == (400, 201)
    assert codes["model_is_ready"] == (400, 203)
    assert codes["model_in_use"] == (400, 205)
    assert codes["model_creating_task_exists"] == (400, 206)
    assert codes["invalid_regex_error"] == (400, 21)
    assert codes["endpoint_not_found"] == (404, 0)
    assert codes["request_too_large"][0] == 413
    assert codes["internal_error"] == (500, 0)


def test_messages_extend_the_default():
    entry, message = catalogue().describe(ApiError("invalid_model_id", "no such model"))
    assert (entry.code, message) == (400, "Invalid model id: no such model")
    assert catalogue().describe(ApiError("invalid_model_id"))[1] == "Invalid model id"
