"""The client: versioned calls, local validation, typed errors, token renewal."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import requests

from regista.server.config import default_schema_dir
from regista.server.schema import compiled
from regista.server.schema.compiled import CompiledSchema
from regista.server.schema.model import EndpointVersion, format_version, parse_version
from regista.server.schema.validators import InvalidData

EXPIRED_TOKEN = (401, 30)


class RegistaError(Exception):
    """A call that failed, on the server or already locally (then `local` is True)."""

    def __init__(self, endpoint: str, result_code: int, result_subcode: int, message: str, error_data=None, local=False):
        self.endpoint = endpoint
        self.result_code = result_code
        self.result_subcode = result_subcode
        self.message = message
        self.error_data = error_data or {}
        self.local = local
        super().__init__(f"{endpoint}: {result_code}/{result_subcode} {message}")


class Client:
    def __init__(
        self,
        url: str,
        access_key: str,
        secret_key: str,
        api_version: str | None = None,
        schema: CompiledSchema | None = None,
        schema_dir: Path = default_schema_dir(),
        timeout: float = 30.0,
    ):
        self.url = url.rstrip("/")
        self._credentials = (access_key, secret_key)
        self._schema = schema or compiled.build(Path(schema_dir))
        self.api_version = parse_version(api_version) if api_version else self._schema.api.max_version
        self._timeout = timeout
        self._session = requests.Session()
        self._token: str | None = None
        self.logins = 0

    def __getattr__(self, service: str) -> "_Service":
        if service.startswith("_") or service not in self._schema.api.services:
            raise AttributeError(f"no service '{service}' in the schema")
        return _Service(self, service)

    def call(self, endpoint: str, **data: Any) -> dict[str, Any]:
        spec = self._version_of(endpoint)
        try:
            self._schema.validators.validate_request(spec, copy.deepcopy(data))
        except InvalidData as exc:
            raise RegistaError(endpoint, 400, 12, f"Validation error: {exc}", {"field": exc.field}, local=True) from None
        if self._token is None:
            self.login()
        try:
            return self._post(endpoint, data)
        except RegistaError as exc:
            if (exc.result_code, exc.result_subcode) != EXPIRED_TOKEN:
                raise
        self.login()  # the token expired or was revoked: renew it once
        return self._post(endpoint, data)

    def login(self) -> None:
        response = self._session.post(f"{self.url}/api/auth.login", json={}, auth=self._credentials, timeout=self._timeout)
        self._token = self._data("auth.login", response)["token"]
        self.logins += 1

    def _version_of(self, endpoint: str) -> EndpointVersion:
        known = self._schema.api.endpoints.get(endpoint)
        spec = known.resolve(self.api_version) if known else None
        if spec is None or spec.removed:
            why = spec.removed if spec else "no such endpoint at this version"
            raise RegistaError(endpoint, 404, 0, f"{endpoint} v{format_version(self.api_version)}: {why}", local=True)
        return spec

    def _post(self, endpoint: str, data: dict[str, Any]) -> dict[str, Any]:
        response = self._session.post(
            f"{self.url}/api/v{format_version(self.api_version)}/{endpoint}",
            json=data,
            headers={"Authorization": f"Bearer {self._token}"},
            timeout=self._timeout,
        )
        return self._data(endpoint, response)

    @staticmethod
    def _data(endpoint: str, response: requests.Response) -> dict[str, Any]:
        try:
            body = response.json()
            meta = body["meta"]
        except (ValueError, KeyError, TypeError):
            raise RegistaError(endpoint, response.status_code, 0, f"not a Regista answer: {response.text[:200]}") from None
        if meta["result_code"] != 200:
            raise RegistaError(
                endpoint, meta["result_code"], meta["result_subcode"], meta["result_msg"], meta.get("error_data")
            )
        return body["data"]


class _Service:
    def __init__(self, client: Client, name: str):
        self._client = client
        self._name = name

    def __getattr__(self, action: str):
        endpoint = f"{self._name}.{action}"
        if endpoint not in self._client._schema.api.endpoints:
            raise AttributeError(f"no endpoint '{endpoint}' in the schema")

        def call(**data: Any) -> dict[str, Any]:
            return self._client.call(endpoint, **data)

        call.__name__ = action
        return call
