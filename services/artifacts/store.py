"""Saving, listing and reading artifact files under `artifacts.root/<company>/`.

Paths come from clients: every one is checked to stay inside the company's folder (no '..', no absolute
paths, no NUL bytes) before any file is touched, and files are written to a temporary name first and then
renamed, so a reader never sees half a file.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path, PurePosixPath
from typing import BinaryIO
from urllib.parse import unquote_plus

from regista.server.errors import ApiError

CHUNK = 1 << 20


def company_root(root: str | os.PathLike, company: str) -> Path:
    return Path(root).resolve() / company


def safe_path(root: Path, relative: str) -> Path:
    """`relative` inside `root`, or invalid_parameter_value."""
    parts = PurePosixPath(relative.strip("/")).parts if relative else ()
    if "\0" in relative or relative.startswith("/") or any(part in ("..", ".") for part in parts) or "\\" in relative:
        raise ApiError("invalid_parameter_value", f"Invalid artifact path {relative!r}: relative paths only, no '..'")
    path = root.joinpath(*parts)
    if os.path.commonpath([path, root]) != str(root):
        raise ApiError("invalid_parameter_value", f"Invalid artifact path {relative!r}")
    return path


def save(root: Path, relative: str, stream: BinaryIO, length: int | None, max_bytes: int) -> int:
    path = safe_path(root, relative)
    if not relative or relative.endswith("/"):
        raise ApiError("invalid_parameter_value", "An artifact upload needs a file path")
    path.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with tempfile.NamedTemporaryFile(dir=path.parent, delete=False, prefix=".upload-") as handle:
        try:
            remaining = length
            while remaining is None or remaining > 0:
                block = stream.read(CHUNK if remaining is None else min(CHUNK, remaining))
                if not block:
                    break
                written += len(block)
                if written > max_bytes:
                    raise ApiError("request_too_large", f"artifacts are limited to {max_bytes} bytes")
                handle.write(block)
                if remaining is not None:
                    remaining -= len(block)
            handle.flush()
            os.fsync(handle.fileno())  # acknowledged uploads survive a crash
        except BaseException:
            Path(handle.name).unlink(missing_ok=True)
            raise
    os.replace(handle.name, path)
    return written


def listing(root: Path, relative: str) -> list[dict]:
    folder = safe_path(root, relative)
    if not folder.is_dir():
        return []
    files = []
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith(".upload-"):
            continue
        item = {"path": entry.name, "is_dir": entry.is_dir()}  # relative to the listed folder, as MLflow
        if not entry.is_dir():
            item["file_size"] = entry.stat().st_size
        files.append(item)
    return files


def open_file(root: Path, relative: str) -> BinaryIO:
    """The file to send, in MLflow's words when it is none."""
    path = safe_path(root, relative)
    if path.is_dir():
        raise ApiError("invalid_parameter_value", f"Artifact path refers to a directory, not a file: '{relative}'")
    if not path.is_file():
        raise ApiError("resource_does_not_exist", f"No such artifact: '{relative}'")
    return open(path, "rb")


def delete(root: Path, relative: str) -> None:
    path = safe_path(root, relative)
    if not path.is_file():
        raise ApiError("resource_does_not_exist", f"File {relative!r} does not exist")
    path.unlink()


def delete_many(root: Path, paths: list[str]) -> tuple[dict[str, str], dict[str, list[str]]]:
    """Delete files and folders (with their contents): ({path given: path deleted}, {reason: [paths]}).
    An empty path would name the whole company folder, so it is refused rather than obeyed."""
    deleted: dict[str, str] = {}
    errors: dict[str, list[str]] = {}
    for given in dict.fromkeys(paths):
        relative = unquote_plus(given).strip("/")
        try:
            if not relative:
                raise ApiError("invalid_parameter_value", "Empty path not allowed")
            path = safe_path(root, relative)
            if path.is_dir():
                shutil.rmtree(path)
            elif path.is_file():
                path.unlink()
            else:
                raise ApiError("resource_does_not_exist", "Not found")
            deleted[given] = relative
        except ApiError as error:
            errors.setdefault(error.message or error.name, []).append(given)
        except OSError as error:
            errors.setdefault(error.strerror or "I/O error", []).append(given)
    return deleted, errors
