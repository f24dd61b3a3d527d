"""The MLflow web UI's built files: where they are installed, which release they are, and reading them.

They are MLflow's own build (the `mlflow/server/js/build` folder of the `mlflow` wheel), never part of
Regista's repository or wheel: `regista ui install` (regista/ui_commands.py) unpacks them into ui.dir,
unmodified, with a marker file naming the release. The server only reads that folder.
"""

from __future__ import annotations

import json
import mimetypes
import sys
from dataclasses import dataclass
from pathlib import Path

from regista.server.config import Config

# The MLflow release whose UI Regista serves: the one of the MLflow client the tests drive (pyproject.toml's
# mlflow-skinny pin) and of the Makefile's MLflow baseline server. tests/regista/test_ui_commands.py keeps
# the three equal.
MLFLOW_UI_VERSION = "3.17.2"
MARKER = "regista-mlflow-ui.json"  # written last by the installer: its presence means a complete install
INSTALL_HINT = "regista ui install"


def ui_folder(config: Config) -> Path:
    """ui.dir, or by default the data folder of the Python environment Regista runs in."""
    configured = str(config.get("ui.dir", "") or "")
    return Path(configured) if configured else default_ui_folder()


def default_ui_folder() -> Path:
    # <venv>/share/regista/mlflow-ui: beside the environment's other data files, so every virtualenv (a
    # checkout's .venv, or one a wheel was installed into) has its own copy and `rm -rf .venv` removes it.
    return Path(sys.prefix) / "share" / "regista" / "mlflow-ui"


def ui_prefix(config: Config) -> str:
    """ui.prefix as a path that starts and ends with "/" ("/" itself, or e.g. "/mlflow/")."""
    inner = str(config.get("ui.prefix", "/") or "/").strip("/")
    return f"/{inner}/" if inner else "/"


@dataclass(frozen=True)
class InstalledUi:
    folder: Path
    version: str
    index_html: bytes

    def static_file(self, relative: str) -> Path | None:
        """A file of the build by its path under static-files/; None when absent or outside the build."""
        candidate = (self.folder / relative).resolve()
        root = self.folder.resolve()
        if candidate == root or root not in candidate.parents or not candidate.is_file():
            return None
        return candidate


def installed_ui(folder: Path) -> InstalledUi | None:
    """The UI installed in `folder`, or None when nothing (or an interrupted install) is there."""
    try:
        marker = json.loads((folder / MARKER).read_text())
        return InstalledUi(folder, str(marker["version"]), (folder / "index.html").read_bytes())
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_marker(folder: Path, version: str, source: str) -> None:
    (folder / MARKER).write_text(json.dumps({"version": version, "source": source}, indent=2) + "\n")


def content_type(path: Path) -> str:
    # The build has .js, .css, .json, .svg, .woff2, .ttf, .png, .ico, .map, .txt files; the standard
    # table knows all but a few on minimal systems, hence the fallbacks.
    guessed, _ = mimetypes.guess_type(path.name)
    fallback = {".js": "text/javascript", ".woff2": "font/woff2", ".map": "application/json"}
    return guessed or fallback.get(path.suffix, "application/octet-stream")
