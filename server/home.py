"""GET /api (and / while the web UI is not installed): a page for people who open the server's address in
a browser: what it is, where the web UI is (or how to install it) and where the API's documents are."""

from __future__ import annotations

from collections.abc import Callable
from html import escape

import falcon

from regista import __version__

_PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Regista {version}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 46rem; margin: 2rem auto; padding: 0 1rem; line-height: 1.5 }}
pre {{ background: #f4f4f4; padding: .6rem .8rem; overflow-x: auto }}
.notice {{ border-left: 4px solid #d08700; background: #fff6e0; padding: .6rem .8rem }}
</style></head>
<body>
<h1>Regista {version}</h1>
<p>A schema-first API server for ML experiment tracking, model management and task orchestration,
compatible with the ClearML SDK and the MLflow client.</p>
<h2>The web UI</h2>
{ui}
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

_UI_INSTALLED = """<p><a href="{base}{prefix}">The MLflow web UI</a> (MLflow {version}'s own): experiments and runs of
both clients, metric charts, run comparison, artifacts and the model registry. It asks for a key pair on
<a href="{base}/login">the login page</a>. ClearML's results-page links lead there too.</p>"""

_UI_ABSENT = """<p class="notice">The MLflow web UI is not installed: its files are not in <code>{folder}</code>.
Install them with <code>{hint}</code> on the server's machine (in a checkout, <code>make install</code> does it),
then reload this page.</p>"""


class HomePage:
    def __init__(self, files_prefix: str, mlflow_openapi_path: str, metrics_enabled: bool):
        self._files = files_prefix
        self._mlflow_openapi = mlflow_openapi_path
        self._metrics = '<li><a href="{base}/metrics">/metrics</a>: Prometheus metrics</li>\n' if metrics_enabled else ""
        self._ui: Callable[[str], str] = lambda base: ""

    def describe_ui(self, installed: Callable[[], str | None], prefix: str, folder: str, hint: str) -> None:
        """What the page says of the web UI: `installed` gives the installed MLflow release, or None."""

        def section(base: str) -> str:
            version = installed()
            if version is None:
                return _UI_ABSENT.format(folder=escape(folder), hint=escape(hint))
            return _UI_INSTALLED.format(base=base, prefix=escape(prefix), version=escape(version))

        self._ui = section

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        base = escape(req.prefix)  # scheme, host and port as the browser reached the server
        resp.content_type = falcon.MEDIA_HTML
        resp.text = _PAGE.format(
            version=escape(__version__), base=base, files=escape(self._files), ui=self._ui(base),
            mlflow_openapi=escape(self._mlflow_openapi), metrics=self._metrics.format(base=base),
        )  # fmt: skip

    on_head = on_get
