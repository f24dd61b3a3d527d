"""The distribution as users install it: a wheel in a fresh virtualenv, served from an empty folder."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import requests

from bench.processes import ServerProcess
from regista.server.embedded_db import free_port

ROOT = Path(__file__).resolve().parent.parent


def build(out: Path) -> tuple[Path, Path]:
    """sdist and wheel, as a release builds them (the wheel from the sdist)."""
    subprocess.run([sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)], check=True, capture_output=True, timeout=600)
    return next(out.glob("regista-*.tar.gz")), next(out.glob("regista-*.whl"))


def test_a_wheel_in_a_fresh_venv_serves_from_an_empty_folder(tmp_path):
    sdist, wheel = build(tmp_path / "dist")
    names = zipfile.ZipFile(wheel).namelist()
    top_level = {name.split("/")[0] for name in names if not name.startswith("regista-")}
    assert top_level == {"regista"}  # no generic `server`, `services` or `client` of ours in site-packages
    for data in ("regista/config/default.conf", "regista/schema/errors.conf", "regista/schema/services/models.conf",
                 "regista/schema/mlflow/services/runs.conf"):  # fmt: skip
        assert data in names
    assert sdist.stat().st_size > 0

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    # Dependencies come from this machine's venv (no second download); the wheel itself installs whole.
    site = next(Path(sys.prefix, "lib").glob("python3.*/site-packages"))
    (next((venv / "lib").glob("python3.*/site-packages")) / "from-test-venv.pth").write_text(f"{site}\n")
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", str(wheel)]
    subprocess.run(pip, check=True, capture_output=True, timeout=300)

    empty = tmp_path / "anywhere"
    empty.mkdir()
    port = free_port("127.0.0.1")
    env = {key: value for key, value in os.environ.items() if not key.startswith("REGISTA")}
    env.update({"REGISTA__AUTH__TOKEN_SECRET": "packaging-test-" + "s" * 32, "PYTHONSAFEPATH": "1"})
    probe = "import regista.server, json; print(regista.server.__file__)"
    where = subprocess.run([str(venv / "bin" / "python"), "-c", probe], cwd=empty, env=env, capture_output=True, text=True)
    assert where.stdout.startswith(str(venv)), where  # the installed copy, not this checkout
    command = [str(venv / "bin" / "regista"), "serve", "--port", str(port), "--workers", "1"]
    with ServerProcess(command, env, tmp_path / "server.log", "/api/debug.ping", port, cwd=empty) as server:
        info = requests.get(f"{server.url}/api/server.info", timeout=10).json()["data"]
        assert info["database"] == "embedded"
        root = requests.get(f"{server.url}/", timeout=10).text
        assert "Regista" in root and "regista ui install" in root  # a bare wheel has no UI files: how to get them
        assert server.stop() == 0
    assert (empty / "data" / "db").is_dir()  # its data went where it was started
