"""`regista ui install` and `regista ui status`: the MLflow web UI's built files, from MLflow's wheel.

The `mlflow` package cannot share Regista's environment (it pins other versions of Regista's own
dependencies), so only its built UI is taken: the wheel is downloaded without dependencies by pip (or
given as a file), each file of `mlflow/server/js/build/` is checked against the wheel's RECORD hashes and
unpacked, unmodified, into ui.dir with MLflow's licence beside it. Nothing is imported from it.
"""

from __future__ import annotations

import argparse
import base64
import csv
import hashlib
import io
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any

from regista.server.config import Config
from regista.server.ui_assets import MLFLOW_UI_VERSION, installed_ui, ui_folder, write_marker

BUILD = "mlflow/server/js/build/"
LICENCE_NAME = "MLFLOW-LICENSE.txt"


class UiInstallError(Exception):
    pass


def add_parsers(commands: Any) -> None:
    ui = commands.add_parser("ui", help="the MLflow web UI's files", description="The MLflow web UI Regista serves.")
    ui_commands = ui.add_subparsers(dest="ui_command", required=True, metavar="SUBCOMMAND")
    install = ui_commands.add_parser(
        "install",
        help="download MLflow's built web UI into ui.dir",
        description="Put the web UI built into the `mlflow` wheel (its mlflow/server/js/build folder, "
        "unmodified) into ui.dir (default: <python environment>/share/regista/mlflow-ui). The wheel is "
        "downloaded by pip without dependencies, or read from --wheel. Does nothing when that release is "
        "installed already (unless --force).",
    )
    install.add_argument("--version", default=MLFLOW_UI_VERSION, help="MLflow release (default: %(default)s)")
    install.add_argument("--wheel", metavar="FILE", help="an mlflow-*.whl already downloaded (no network)")
    install.add_argument("--force", action="store_true", help="install again even if that release is there")
    install.add_argument("--config", metavar="PATH", help="HOCON file or folder merged over the defaults")
    status = ui_commands.add_parser("status", help="say whether and where the web UI is installed")
    status.add_argument("--config", metavar="PATH", help="HOCON file or folder merged over the defaults")


def run(args: argparse.Namespace, load: Callable[[str | None], Config | None]) -> int:
    config = load(args.config)
    if config is None:
        return 2
    folder = ui_folder(config)
    present = installed_ui(folder)
    if args.ui_command == "status":
        print(f"MLflow web UI {present.version} in {folder}" if present else f"not installed in {folder}")
        return 0 if present else 1
    if present and present.version == args.version and not args.force:
        print(f"MLflow web UI {present.version} is installed in {folder}")
        return 0
    try:
        with tempfile.TemporaryDirectory(prefix="regista-ui-") as scratch:
            wheel = Path(args.wheel) if args.wheel else download_wheel(args.version, Path(scratch))
            count = install_from_wheel(wheel, folder, args.version)
    except UiInstallError as exc:
        print(f"regista: {exc}", file=sys.stderr)
        return 1
    print(f"MLflow web UI {args.version} installed in {folder} ({count} files)")
    return 0


def download_wheel(version: str, into: Path) -> Path:
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:", "--quiet",
               "--dest", str(into), f"mlflow=={version}"]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise UiInstallError(f"pip could not download mlflow=={version}:\n{(result.stderr or result.stdout)[-2000:]}")
    wheels = sorted(into.glob("mlflow-*.whl"))
    if not wheels:
        raise UiInstallError(f"pip downloaded no mlflow wheel into {into}")
    return wheels[0]


def install_from_wheel(wheel: Path, folder: Path, version: str) -> int:
    """Unpack the wheel's UI build into `folder` (replacing what is there); the number of files."""
    try:
        archive = zipfile.ZipFile(wheel)
    except (OSError, zipfile.BadZipFile) as exc:
        raise UiInstallError(f"{wheel} is not a readable wheel: {exc}") from None
    with archive:
        hashes = _record_hashes(archive)
        members = [m for m in archive.infolist() if m.filename.startswith(BUILD) and not m.is_dir()]
        if not any(m.filename == BUILD + "index.html" for m in members):
            raise UiInstallError(f"{wheel.name} has no {BUILD}index.html: not a wheel with MLflow's built UI")
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".mlflow-ui-", dir=folder.parent))
        staging.chmod(0o755)  # mkdtemp's 0700 would hide the files from a server running as another user
        try:
            for member in members:
                _extract(archive, member, staging, hashes)
            licence = next((n for n in archive.namelist() if n.endswith(".dist-info/licenses/LICENSE.txt")), None)
            if licence:
                (staging / LICENCE_NAME).write_bytes(archive.read(licence))
            write_marker(staging, version, wheel.name)
            _replace(folder, staging)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    return len(members)


def _record_hashes(archive: zipfile.ZipFile) -> dict[str, str]:
    record = next((n for n in archive.namelist() if n.endswith(".dist-info/RECORD")), None)
    if record is None:
        raise UiInstallError("the wheel has no RECORD: its files cannot be checked")
    rows = csv.reader(io.TextIOWrapper(archive.open(record), encoding="utf-8"))
    return {row[0]: row[1] for row in rows if len(row) >= 2 and row[1]}


def _extract(archive: zipfile.ZipFile, member: zipfile.ZipInfo, staging: Path, hashes: dict[str, str]) -> None:
    relative = PurePosixPath(member.filename[len(BUILD) :])
    if relative.is_absolute() or ".." in relative.parts:
        raise UiInstallError(f"unsafe path in the wheel: {member.filename}")
    data = archive.read(member)
    algorithm, _, expected = hashes.get(member.filename, "").partition("=")
    if algorithm != "sha256":
        raise UiInstallError(f"{member.filename} has no sha256 in the wheel's RECORD")
    actual = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    if actual != expected:
        raise UiInstallError(f"{member.filename} does not match the wheel's RECORD (damaged download?)")
    target = staging.joinpath(*relative.parts)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)


def _replace(folder: Path, staging: Path) -> None:
    # A running server keeps serving the old files until the rename: never a half-written folder.
    old = None
    if folder.exists():
        old = folder.with_name(f".{folder.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        folder.rename(old)
    staging.rename(folder)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
