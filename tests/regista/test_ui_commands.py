"""`regista ui install` and `regista ui status`: MLflow's built UI unpacked from a wheel, checked file by file."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import tomllib
import zipfile
from pathlib import Path

import pytest

from regista.cli import main
from regista.server.ui_assets import MARKER, MLFLOW_UI_VERSION, installed_ui

REPOSITORY = Path(__file__).resolve().parents[2]
BUILD = "mlflow/server/js/build/"


def record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def make_wheel(path: Path, files: dict[str, bytes], damaged: str | None = None) -> Path:
    """A wheel shaped like mlflow's: the files, a licence, and a RECORD of their hashes (`damaged`'s wrong)."""
    files = {**files, "mlflow-9.9.9.dist-info/licenses/LICENSE.txt": b"Apache License 2.0 (test copy)"}
    rows = [f"{name},{record_hash(b'other bytes' if name == damaged else data)},{len(data)}" for name, data in files.items()]
    rows.append("mlflow-9.9.9.dist-info/RECORD,,")
    with zipfile.ZipFile(path, "w") as wheel:
        for name, data in files.items():
            wheel.writestr(name, data)
        wheel.writestr("mlflow-9.9.9.dist-info/RECORD", "\n".join(rows) + "\n")
    return path


UI_FILES = {
    BUILD + "index.html": b"<!doctype html><title>MLflow</title>",
    BUILD + "static/js/main.abc123.js": b"console.log('ui')",
    BUILD + "favicon.ico": b"\x00\x00\x01\x00",
    "mlflow/__init__.py": b"# not part of the UI",
}


@pytest.fixture
def ui_dir(tmp_path, monkeypatch):
    folder = tmp_path / "share" / "mlflow-ui"
    monkeypatch.setenv("REGISTA__UI__DIR", str(folder))
    return folder


def test_the_ui_release_is_the_one_of_the_pinned_client_and_of_the_baseline_server():
    tests_extra = tomllib.loads((REPOSITORY / "pyproject.toml").read_text())["project"]["optional-dependencies"]["test"]
    (client,) = [pin.split("==")[1] for pin in tests_extra if pin.startswith("mlflow-skinny==")]
    (makefile,) = re.findall(r"^MLFLOW_VERSION := (\S+)$", (REPOSITORY / "Makefile").read_text(), re.M)
    assert client == makefile == MLFLOW_UI_VERSION


def test_install_unpacks_only_the_build_with_the_licence_and_a_marker(tmp_path, ui_dir, capsys):
    wheel = make_wheel(tmp_path / "mlflow-9.9.9-py3-none-any.whl", UI_FILES)
    assert main(["ui", "status"]) == 1
    assert main(["ui", "install", "--wheel", str(wheel), "--version", "9.9.9"]) == 0
    assert "installed in" in capsys.readouterr().out
    files = sorted(str(p.relative_to(ui_dir)) for p in ui_dir.rglob("*") if p.is_file())
    assert files == sorted(["MLFLOW-LICENSE.txt", MARKER, "favicon.ico", "index.html", "static/js/main.abc123.js"])
    assert (ui_dir / "static/js/main.abc123.js").read_bytes() == UI_FILES[BUILD + "static/js/main.abc123.js"]
    assert json.loads((ui_dir / MARKER).read_text()) == {"version": "9.9.9", "source": wheel.name}
    assert installed_ui(ui_dir).index_html == UI_FILES[BUILD + "index.html"]
    assert main(["ui", "status"]) == 0
    assert "MLflow web UI 9.9.9 in" in capsys.readouterr().out


def test_installing_the_same_release_again_changes_nothing_unless_forced(tmp_path, ui_dir, capsys):
    wheel = make_wheel(tmp_path / "mlflow.whl", UI_FILES)
    assert main(["ui", "install", "--wheel", str(wheel), "--version", "9.9.9"]) == 0
    (ui_dir / "index.html").write_text("edited")
    assert main(["ui", "install", "--wheel", str(wheel), "--version", "9.9.9"]) == 0
    assert "is installed in" in capsys.readouterr().out and (ui_dir / "index.html").read_text() == "edited"
    assert main(["ui", "install", "--wheel", str(wheel), "--version", "9.9.9", "--force"]) == 0
    assert (ui_dir / "index.html").read_bytes() == UI_FILES[BUILD + "index.html"]
    assert not list(ui_dir.parent.glob(".*"))  # no staging or old folder left behind


def test_a_file_that_does_not_match_the_record_is_refused_and_the_installed_ui_kept(tmp_path, ui_dir, capsys):
    assert main(["ui", "install", "--wheel", str(make_wheel(tmp_path / "good.whl", UI_FILES)), "--version", "9.9.9"]) == 0
    damaged = make_wheel(tmp_path / "bad.whl", UI_FILES, damaged=BUILD + "static/js/main.abc123.js")
    assert main(["ui", "install", "--wheel", str(damaged), "--version", "9.9.10"]) == 1
    assert "does not match the wheel's RECORD" in capsys.readouterr().err
    assert installed_ui(ui_dir).version == "9.9.9"
    assert not list(ui_dir.parent.glob(".*"))


@pytest.mark.parametrize(
    "files, problem",
    [
        ({"mlflow/__init__.py": b""}, "has no mlflow/server/js/build/index.html"),
        ({**UI_FILES, BUILD + "../../../../evil.txt": b"x"}, "unsafe path in the wheel"),
    ],
)
def test_wheels_without_a_ui_or_with_unsafe_paths_are_refused(tmp_path, ui_dir, capsys, files, problem):
    wheel = make_wheel(tmp_path / "mlflow.whl", files)
    assert main(["ui", "install", "--wheel", str(wheel)]) == 1
    assert problem in capsys.readouterr().err
    assert installed_ui(ui_dir) is None and not (tmp_path / "evil.txt").exists()


def test_a_file_that_is_not_a_wheel_is_refused(tmp_path, ui_dir, capsys):
    (tmp_path / "notes.whl").write_text("not a zip")
    assert main(["ui", "install", "--wheel", str(tmp_path / "notes.whl")]) == 1
    assert "is not a readable wheel" in capsys.readouterr().err
