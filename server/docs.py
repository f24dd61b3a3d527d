"""The API's documentation, served by Regista itself: OpenAPI documents and a Swagger UI page.

The page's assets come from the swagger-ui-py package (Swagger UI 5, which reads OpenAPI 3.1), so the
page works without any CDN or network access.
"""

from __future__ import annotations

import html
import mimetypes
from importlib import resources
from typing import Any

import falcon

from regista.server.envelope import dumps
from regista.server.errors import ApiError, ErrorCatalogue
from regista.server.openapi import build_openapi
from regista.server.openapi_mlflow import build_mlflow_openapi
from regista.server.schema.model import ApiSchema, format_version, parse_version

MLFLOW_OPENAPI_PATH = "/api/mlflow/openapi.json"
ASSETS = ("swagger-ui-bundle.js", "swagger-ui-standalone-preset.js", "swagger-ui.css", "favicon-32x32.png")

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Regista API</title>
  <link rel="stylesheet" href="{base}/static/swagger-ui.css">
  <link rel="icon" type="image/png" href="{base}/static/favicon-32x32.png">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="{base}/static/swagger-ui-bundle.js"></script>
  <script src="{base}/static/swagger-ui-standalone-preset.js"></script>
  <script>
    window.ui = SwaggerUIBundle({{
      urls: {urls},
      "urls.primaryName": "{latest}",
      dom_id: "#swagger-ui",
      deepLinking: true,
      presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
      layout: "StandaloneLayout"
    }});
  </script>
</body>
</html>
"""


class OpenApiResource:
    """GET /api/openapi.json?version=X.Y: the document for that API version (default: the latest)."""

    def __init__(self, api: ApiSchema, catalogue: ErrorCatalogue):
        self._api = api
        self._catalogue = catalogue
        self._documents: dict[tuple[int, int], bytes] = {}

    def document(self, version_text: str | None) -> bytes:
        try:
            version = parse_version(version_text) if version_text else self._api.max_version
        except ValueError as exc:
            raise ApiError("invalid_path", str(exc)) from None
        if version < self._api.all_versions[0]:
            raise ApiError("endpoint_not_found", f"no endpoint exists at version {version_text}")
        if version not in self._documents:  # built once per version, then served from memory
            self._documents[version] = dumps(build_openapi(self._api, self._catalogue, version))
        return self._documents[version]

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.content_type = falcon.MEDIA_JSON
        resp.data = self.document(req.get_param("version"))


class MlflowOpenApiResource:
    """GET /api/mlflow/openapi.json: the document of the MLflow-compatible routes."""

    def __init__(self, api: ApiSchema):
        self._api = api
        self._document: bytes | None = None

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        if self._document is None:  # built on first use, then served from memory
            self._document = dumps(build_mlflow_openapi(self._api))
        resp.content_type = falcon.MEDIA_JSON
        resp.data = self._document


class DocsPage:
    """GET /api/docs: Swagger UI with a selector of every API version."""

    def __init__(self, api: ApiSchema, base: str = "/api/docs"):
        versions = [format_version(v) for v in reversed(api.all_versions)]
        urls = [{"url": f"/api/openapi.json?version={v}", "name": v} for v in versions]
        urls.append({"url": MLFLOW_OPENAPI_PATH, "name": "MLflow 2.0"})
        self._page = PAGE.format(base=base, urls=dumps(urls).decode(), latest=html.escape(versions[0])).encode()

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.content_type = falcon.MEDIA_HTML
        resp.data = self._page


class DocsAssets:
    """GET /api/docs/static/{name}: the Swagger UI files, from the installed package."""

    def __init__(self) -> None:
        folder = resources.files("swagger_ui") / "static"
        self._files: dict[str, Any] = {name: folder / name for name in ASSETS}

    def on_get(self, req: falcon.Request, resp: falcon.Response, name: str) -> None:
        path = self._files.get(name)
        if path is None:
            raise falcon.HTTPNotFound()
        resp.content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        resp.cache_control = ["public", "max-age=86400"]
        resp.data = path.read_bytes()
