"""GET /: a page for people who open the server's address in a browser: what it is and where to go."""

from __future__ import annotations

from html import escape

import falcon

from regista import __version__

_PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Regista {version}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 46rem; margin: 2rem auto; padding: 0 1rem; line-height: 1.5 }}
pre {{ background: #f4f4f4; padding: .6rem .8rem; overflow-x: auto }}
</style></head>
<body>
<h1>Regista {version}</h1>
<p>A schema-first API server for ML experiment tracking, model management and task orchestration,
compatible with the ClearML SDK and the MLflow client.</p>
<h2>For people and tools</h2>
<ul>
<li><a href="{base}/api/docs">API documentation</a> (every service, action and version)</li>
<li><a href="{base}/api/openapi.json">OpenAPI document</a> of the native API,
    <a href="{base}{mlflow_openapi}">of the MLflow routes</a></li>
<li><a href="{base}/health">/health</a>: whether the server and its database answer</li>
{metrics}</ul>
<h2>The ClearML SDK</h2>
<pre>export CLEARML_API_HOST={base} CLEARML_WEB_HOST={base}
export CLEARML_FILES_HOST={base}{files}
export CLEARML_API_ACCESS_KEY=... CLEARML_API_SECRET_KEY=...   # a Regista key pair</pre>
<h2>The MLflow client</h2>
<pre>export MLFLOW_TRACKING_URI={base}
export MLFLOW_TRACKING_USERNAME=... MLFLOW_TRACKING_PASSWORD=...   # the same key pair</pre>
<p>A key pair: <code>regista credentials create --user NAME</code> on the server's machine.</p>
</body>
</html>
"""


class HomePage:
    def __init__(self, files_prefix: str, mlflow_openapi_path: str, metrics_enabled: bool):
        self._files = files_prefix
        self._mlflow_openapi = mlflow_openapi_path
        self._metrics = '<li><a href="{base}/metrics">/metrics</a>: Prometheus metrics</li>\n' if metrics_enabled else ""

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        base = escape(req.prefix)  # scheme, host and port as the browser reached the server
        resp.content_type = falcon.MEDIA_HTML
        resp.text = _PAGE.format(
            version=escape(__version__), base=base, files=escape(self._files),
            mlflow_openapi=escape(self._mlflow_openapi), metrics=self._metrics.format(base=base),
        )  # fmt: skip

    on_head = on_get
