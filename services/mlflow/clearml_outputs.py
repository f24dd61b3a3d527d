"""A ClearML task's outputs as the artifacts of its MLflow run, generated on read from what is stored.

The MLflow UI shows a run's artifacts; a task reported by the ClearML SDK keeps its outputs elsewhere: the
files it uploaded (artifacts, output models, debug images) on Regista's file server, its console and plots as
events. Nothing is copied: the run's artifact tree gains, beside what was logged through MLflow,

- `artifacts/<name>/<file>` and `models/<name>/<file>`: the files behind the task's output artifacts and
  models, when they are on this server's file server (a url elsewhere is not fetched);
- `console.txt`: the console lines, oldest first;
- `debug_images/<metric>/<variant>/<file>`: the file each debug image points to (its latest of a name);
- `plots/<metric>/<variant>.html`: a page drawing the plot's latest Plotly figure with plotly.js, taken
  from the `plotly` package installed beside Regista and inlined, so the page needs nothing from elsewhere
  (the UI shows it in a sandboxed frame, from a blob: address where no relative link resolves).
"""

from __future__ import annotations

import json
import posixpath
from functools import cache
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from regista.server.call import Call
from regista.server.errors import ApiError
from regista.services.artifacts import store
from regista.services.events.documents import TaskEvent
from regista.services.models.documents import Model
from regista.services.tasks import external_files

CONSOLE, PLOTS, IMAGES = "console.txt", "plots", "debug_images"
LOG, PLOT, IMAGE = "log", "plot", "training_debug_image"


def tree(call: Call, raw: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """{path in the run's artifacts: what it is}: {"file": path in the file server's folder, "size"} or
    {"console": task id} or {"plot": event id}."""
    found: dict[str, dict[str, Any]] = {}
    root = files_root(call)
    for artifact in (raw.get("execution") or {}).get("artifacts") or []:
        if artifact.get("mode", "output") == "output":
            _add_file(found, root, call, f"artifacts/{_part(artifact.get('key'))}", artifact.get("uri"))
    outputs = [item.get("model") for item in ((raw.get("models") or {}).get("output") or []) if item.get("model")]
    names = {item.get("model"): item.get("name") for item in ((raw.get("models") or {}).get("output") or [])}
    if outputs:
        for model in Model._get_collection().find({"_id": {"$in": outputs}, "company": call.company}, {"uri": 1, "name": 1}):
            _add_file(found, root, call, f"models/{_part(model.get('name') or names.get(model['_id']))}", model.get("uri"))
    events = TaskEvent._get_collection()
    scope = {"task": raw["_id"], "company": call.company}
    if events.find_one({**scope, "type": LOG}, {"_id": 1}) is not None:
        found[CONSOLE] = {"console": raw["_id"]}
    for event in events.find({**scope, "type": IMAGE}, {"metric": 1, "variant": 1, "iter": 1, "payload": 1}).sort([("iter", 1)]):
        folder = f"{IMAGES}/{_part(event.get('metric'))}/{_part(event.get('variant'))}"
        _add_file(found, root, call, folder, (event.get("payload") or {}).get("url"))
    for event in events.find({**scope, "type": PLOT}, {"metric": 1, "variant": 1, "iter": 1}).sort([("iter", 1), ("timestamp", 1)]):
        found[f"{PLOTS}/{_part(event.get('metric'))}/{_part(event.get('variant'))}.html"] = {"plot": event["_id"]}
    return found


def listing(entries: dict[str, dict[str, Any]], folder: str | None) -> list[dict[str, Any]]:
    """The files and folders right below `folder` (None: the top), as MLflow lists them."""
    prefix = f"{folder.strip('/')}/" if folder else ""
    shown: dict[str, dict[str, Any]] = {}
    for path, entry in entries.items():
        if not path.startswith(prefix):
            continue
        head, _, rest = path[len(prefix):].partition("/")
        item = {"path": prefix + head, "is_dir": bool(rest)}
        if not rest and "size" in entry:
            item["file_size"] = entry["size"]
        shown.setdefault(prefix + head, item)
    return [shown[key] for key in sorted(shown)]


def content(call: Call, entry: dict[str, Any], name: str) -> str:
    """The text of a generated file: the console, or a plot's page."""
    if "console" in entry:
        lines = TaskEvent._get_collection().find(
            {"task": entry["console"], "company": call.company, "type": LOG}, {"payload": 1}
        ).sort([("timestamp", 1), ("_id", 1)])
        return "".join(_line((raw.get("payload") or {}).get("msg")) for raw in lines)
    raw = TaskEvent._get_collection().find_one({"_id": entry["plot"], "company": call.company}, {"payload": 1}) or {}
    return plot_page(name, (raw.get("payload") or {}).get("plot_str") or "{}")


def plot_page(title: str, plot_str: str) -> str:
    try:
        figure = json.loads(plot_str)
    except ValueError:
        figure = {}
    figure = figure if isinstance(figure, dict) else {}
    data = json.dumps({"data": figure.get("data") or [], "layout": figure.get("layout") or {}}).replace("<", "\\u003c")
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>'
        + _html_text(title)
        + "</title><script>"
        + plotly_js()
        + '</script></head><body style="margin:0"><div id="plot" style="width:100%;height:100vh"></div><script>'
        + f'var figure = {data}; Plotly.newPlot("plot", figure.data, figure.layout, {{responsive: true}});'
        + "</script></body></html>\n"
    )


@cache
def plotly_js() -> str:
    """plotly.min.js of the installed `plotly` package (read once per process, without importing plotly)."""
    spec = find_spec("plotly")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the plotly package is missing: `make install` installs it")
    script = Path(list(spec.submodule_search_locations)[0]) / "package_data" / "plotly.min.js"
    return script.read_text(encoding="utf-8").replace("</script", "<\\/script")


def files_root(call: Call) -> Path:
    return store.company_root(str(call.config.get("files.root")), call.company)


def _add_file(found: dict[str, dict[str, Any]], root: Path, call: Call, folder: str, url: Any) -> None:
    relative = external_files.relative_path(call.config, url) if isinstance(url, str) else None
    if relative is None:
        return
    try:
        path = store.safe_path(root, relative)
    except ApiError:  # a url that leads out of the folder names no file of the task's
        return
    if path.is_file():
        found[f"{folder}/{_part(posixpath.basename(relative))}"] = {"file": relative, "size": path.stat().st_size}


def _part(name: Any) -> str:
    """A metric, variant or artifact name as one path part: no slashes, never '.' or '..'."""
    text = str(name if name is not None else "").replace("/", "_").replace("\\", "_").strip()
    return text if text not in ("", ".", "..") else "_"


def _line(message: Any) -> str:
    text = "" if message is None else str(message)
    return text if text.endswith("\n") else text + "\n"


def _html_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
