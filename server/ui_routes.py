"""The MLflow web UI, served by Regista: its page, its files, and every route it calls.

- ui.prefix (default "/"): the UI's index.html, for a logged-in browser (others go to /login first);
  without the UI's files, the home page saying how to install them. /api always shows the home page.
- /static-files/...: the build's files (hashed names, so cached for long).
- /ajax-api/<v>/mlflow/...: the UI's name for /api/<v>/mlflow/...; a middleware rewrites the path before
  routing, so the same MLflow dispatcher and artifact routes answer both, with nothing duplicated. Under
  a ui.prefix other than "/", every path below the prefix is the same path at the root.
- /graphql (server/mlflow_graphql), /version, /login, and the UI's probes of features Regista does not
  have (telemetry, the GenAI assistant, the AI gateway), answered "off" as MLflow answers when they are not set up.
- ClearML's results-page links, /projects/<project>/(experiments|tasks)/<task>/..., redirect to that run's
  page of the UI (CLEARML_WEB_HOST is the server's own address).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import quote

import falcon

from regista.server import envelope
from regista.server.access_log import CallLog
from regista.server.call import ServerContext
from regista.server.dispatch import Handler
from regista.server.errors import ApiError
from regista.server.home import HomePage
from regista.server.mlflow_dispatch import MlflowDispatcher
from regista.server.mlflow_graphql.resource import EndpointRunner, GraphqlResource
from regista.server.schema.compiled import CompiledSchema
from regista.server.ui_assets import INSTALL_HINT, MLFLOW_UI_VERSION, content_type, installed_ui, ui_folder, ui_prefix
from regista.server.sso_routes import SingleSignOn, add_sso
from regista.server.ui_pages import LoginPage, LogoutPage

log = logging.getLogger(__name__)

HASHED_CACHE = "public, max-age=31536000, immutable"  # static/...: names carry a content hash
PLAIN_CACHE = "public, max-age=3600"  # favicon, manifest and the like: same name across releases
TELEMETRY_OFF = envelope.dumps({"disable_ui_telemetry": True, "disable_ui_events": [], "ui_rollout_percentage": 0})
# MLflow's assistant (a GenAI agent the UI offers in a side panel) with no provider set up: Regista has none.
ASSISTANT_CONFIG = envelope.dumps({"providers": {}, "projects": {}, "remote_access_allowed": False})
ASSISTANT_PROVIDERS = envelope.dumps({"providers": [], "resolved": None, "gateway_vendor_options": {}})
# The AI gateway proxy with no gateway configured: MLflow then answers as an empty gateway would.
NO_GATEWAY = envelope.dumps({"endpoints": []})


def add_ui(
    app: falcon.App,
    server: ServerContext,
    mlflow_schema: CompiledSchema,
    mlflow_handlers: Mapping[str, Handler],
    access_log: CallLog,
    home: HomePage,
    sso: SingleSignOn | None = None,
) -> None:
    config = server.config
    prefix, folder = ui_prefix(config), ui_folder(config)
    if installed_ui(folder) is None:
        log.warning("The MLflow web UI is not installed (no files in %s): run `%s`; until then %s explains it.",
                    folder, INSTALL_HINT, prefix)  # fmt: skip
    home.describe_ui(lambda: _version(folder), prefix, str(folder), INSTALL_HINT)
    app.add_middleware(UiPaths(prefix))
    index = UiIndex(server, folder, home)
    app.add_route(prefix.rstrip("/") or "/", index)
    if prefix != "/":
        app.add_route("/", RootRedirect(prefix, folder, home))
    app.add_route("/api", home)
    static = StaticFiles(folder)
    app.add_route("/static-files/{path:path}", static)
    app.add_route("/favicon.ico", static, suffix="favicon")  # what browsers ask for on any page
    login = LoginPage(prefix, sso.providers() if sso else ())
    app.add_route("/login", login)
    app.add_route("/logout", LogoutPage())
    add_sso(app, sso, server.authenticator, login, config, prefix)
    app.add_route("/version", Version())
    app.add_route("/api/3.0/mlflow/ui-telemetry", Telemetry())
    app.add_route("/api/3.0/mlflow/assistant/config", Fixed(ASSISTANT_CONFIG))
    app.add_route("/api/3.0/mlflow/assistant/providers", Fixed(ASSISTANT_PROVIDERS))
    app.add_route("/api/2.0/mlflow/gateway-proxy", Fixed(NO_GATEWAY, post=True))
    handlers = dict(mlflow_handlers)
    errors = MlflowDispatcher(server, mlflow_schema.validators, handlers, mlflow_schema.catalogue,
                              mlflow_schema.api.endpoints, access_log)  # fmt: skip
    runner = EndpointRunner(server, mlflow_schema.validators, handlers, mlflow_schema.api.endpoints)
    app.add_route("/graphql", GraphqlResource(server, runner, mlflow_schema.catalogue, errors, access_log))
    links = ClearmlLink(prefix)
    for kind in ("experiments", "tasks"):
        app.add_route(f"/projects/{{project}}/{kind}/{{task}}", links)
        app.add_route(f"/projects/{{project}}/{kind}/{{task}}/{{rest:path}}", links)
        app.add_route(f"/projects/{{project}}/{kind}", links, suffix="project")
    app.add_route("/projects/{project}", links, suffix="project")


def _version(folder: Path) -> str | None:
    installed = installed_ui(folder)
    return installed.version if installed else None


class UiPaths:
    """Falcon middleware: the UI's paths mapped onto the routes that answer them, before routing."""

    def __init__(self, prefix: str):
        self._prefix = prefix.rstrip("/")  # "" for "/"

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        path = req.path
        if self._prefix and path.startswith(self._prefix + "/"):
            path = path[len(self._prefix) :]
        if path.startswith("/ajax-api/"):
            path = "/api/" + path[len("/ajax-api/") :]
        if path != req.path:
            req.path = path


class UiIndex:
    """The UI's page: MLflow's index.html, unmodified, for a browser with a valid login cookie."""

    def __init__(self, server: ServerContext, folder: Path, home: HomePage):
        self._authenticator = server.authenticator
        self._folder = folder
        self._home = home

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        installed = installed_ui(self._folder)
        if installed is None:
            self._home.on_get(req, resp)
            return
        try:
            self._authenticator.authenticate_request(req, navigable=True)  # the page a tab opens
        except ApiError:
            raise falcon.HTTPSeeOther("/login?next=" + quote(req.relative_uri, safe="/")) from None
        resp.content_type = falcon.MEDIA_HTML
        resp.cache_control = ["no-cache"]  # it names the hashed files of the release installed now
        resp.data = installed.index_html

    on_head = on_get


class RootRedirect:
    """"/" under a ui.prefix elsewhere: to the UI (the browser keeps the #fragment of MLflow's links)."""

    def __init__(self, prefix: str, folder: Path, home: HomePage):
        self._prefix = prefix
        self._folder = folder
        self._home = home

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        if installed_ui(self._folder) is None:
            self._home.on_get(req, resp)
            return
        raise falcon.HTTPFound(self._prefix)

    on_head = on_get


class StaticFiles:
    def __init__(self, folder: Path):
        self._folder = folder

    def on_get(self, req: falcon.Request, resp: falcon.Response, path: str) -> None:
        installed = installed_ui(self._folder)
        found = installed.static_file(path) if installed else None
        if found is None:
            raise falcon.HTTPNotFound(description=f"no file {path} in the web UI's build")
        stat = found.stat()
        etag = f'"{stat.st_mtime_ns:x}-{stat.st_size:x}"'
        resp.cache_control = [HASHED_CACHE if path.startswith("static/") else PLAIN_CACHE]
        resp.set_header("ETag", etag)
        resp.set_header("X-Content-Type-Options", "nosniff")
        if req.get_header("If-None-Match") == etag:
            resp.status = falcon.HTTP_304
            return
        resp.content_type = content_type(found)
        resp.content_length = stat.st_size
        resp.stream = open(found, "rb")  # noqa: SIM115 (falcon closes the stream after sending it)

    on_head = on_get

    def on_get_favicon(self, req: falcon.Request, resp: falcon.Response) -> None:
        self.on_get(req, resp, "favicon.ico")

    on_head_favicon = on_get_favicon


class Fixed:
    """A JSON answer that never changes, to GET (and to POST when `post`)."""

    def __init__(self, body: bytes, post: bool = False):
        self._body = body
        if post:
            self.on_post = self.on_get

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.content_type, resp.data = falcon.MEDIA_JSON, self._body


class Version:
    """GET /version: the MLflow release whose API and UI Regista serves, as text, as MLflow answers."""

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.content_type = falcon.MEDIA_TEXT
        resp.text = MLFLOW_UI_VERSION


class Telemetry:
    """The UI's telemetry switch: always off (Regista sends nothing anywhere), and records are declined."""

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.content_type, resp.data = falcon.MEDIA_JSON, TELEMETRY_OFF

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.content_type, resp.data = falcon.MEDIA_JSON, envelope.dumps({"status": "disabled"})


class ClearmlLink:
    """A ClearML web-app URL to the same task or project in the MLflow UI (a hash route of its page)."""

    def __init__(self, prefix: str):
        self._prefix = prefix

    def on_get(self, req: falcon.Request, resp: falcon.Response, project: str, task: str, rest: str = "") -> None:
        # "*" is the SDK's project of a task it knows no project of; the UI's /runs/<id> finds the experiment.
        route = f"/runs/{quote(task)}" if project == "*" else f"/experiments/{quote(project)}/runs/{quote(task)}"
        raise falcon.HTTPFound(f"{self._prefix}#{route}")

    def on_get_project(self, req: falcon.Request, resp: falcon.Response, project: str) -> None:
        raise falcon.HTTPFound(self._prefix if project == "*" else f"{self._prefix}#/experiments/{quote(project)}")
