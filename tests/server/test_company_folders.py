"""The file routes' shared step: authenticate, find the caller's company folder, report failures."""

from __future__ import annotations

import falcon.testing
import pytest

from regista.server.auth import Authenticator
from regista.server.call import ServerContext
from regista.server.company_folders import CompanyFolders
from regista.server.errors import ApiError
from regista.services.artifacts import store
from regista.services.auth.store import DatabaseIdentityStore


@pytest.fixture
def folders(api, api_schema, tmp_path):
    config = api.config.with_overrides({"files.root": str(tmp_path)})
    authenticator = Authenticator(config, DatabaseIdentityStore(), "2.20", "test")
    server = ServerContext(api_schema, config, "embedded", authenticator)
    return CompanyFolders(server, store, "files.root", "bad_request")


def request_with(headers: dict[str, str]) -> falcon.Request:
    return falcon.testing.create_req(path="/files/x", headers=headers)


def test_the_action_runs_in_the_callers_company_folder(api, folders, tmp_path):
    other = api.as_user(company="other", name="eve")
    seen = []
    assert folders.run(request_with(api.headers), seen.append) is None
    assert folders.run(request_with(other.headers), seen.append) is None
    assert seen == [tmp_path.resolve() / api.company, tmp_path.resolve() / other.company]


def test_every_failure_is_an_api_error(api, folders):
    seen = []
    assert folders.run(request_with({}), seen.append).name == "missing_credentials" and seen == []

    def missing(root):
        raise FileNotFoundError(2, "No such file or directory")

    error = folders.run(request_with(api.headers), missing)
    assert (error.name, error.message) == ("bad_request", "file I/O failed: No such file or directory")

    def refused(root):
        raise ApiError("invalid_parameter_value", "no '..'")

    assert folders.run(request_with(api.headers), refused).message == "no '..'"

    def malformed(root):
        raise falcon.MediaMalformedError("multipart/form-data")

    assert folders.run(request_with(api.headers), malformed).message == "malformed multipart body"
