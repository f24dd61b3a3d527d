"""Artifact locations as MLflow reads them: local paths, proxied roots, and the checks on client paths.

A proxied root (`mlflow-artifacts:/...`, or an http(s) URL into /api/2.0/mlflow-artifacts/artifacts/) names
files Regista keeps in the company's artifact folder; every other root (a local path, s3://...) is the
client's own storage, which Regista records but never reads.
"""

from __future__ import annotations

import posixpath
import re
import urllib.parse
from pathlib import Path, PurePosixPath, PureWindowsPath

from regista.server.errors import ApiError

PROXY_ANCHOR = "/api/2.0/mlflow-artifacts/artifacts/"
PROXIED_SCHEMES = ("http", "https", "mlflow-artifacts")


def parse(uri: str) -> urllib.parse.ParseResult:
    """A client's URI taken apart, or invalid_parameter_value for one that is not a URI (`http://[::1`)."""
    try:
        return urllib.parse.urlparse(uri)
    except ValueError as exc:
        raise ApiError("invalid_parameter_value", f"Invalid URI {uri!r}: {exc}") from None


def is_local(uri: str) -> bool:
    """A path or file: URI on this machine; a file: URI naming another host is refused, as MLflow does."""
    parsed = parse(uri)
    if parsed.scheme == "":
        return True
    host = parsed.hostname or ""
    remote_host = bool(host) and host != "." and not host.startswith(("localhost", "127.0.0.1"))
    if parsed.scheme == "file":
        if remote_host:
            # MLflow answers this as an internal error (500), which clients retry; Regista refuses the request.
            raise ApiError(
                "invalid_parameter_value",
                f"{uri} is not a valid remote uri. For remote access on windows, please consider using a different "
                "scheme such as SMB (e.g. smb://<hostname>/<path>).",
            )
        return True
    return False


def local_path(uri: str) -> str:
    """The filesystem path of a local URI (a file: URI's path, percent-decoded)."""
    path = parse(uri).path if uri.startswith("file:") else uri
    return urllib.parse.unquote(path)


def resolve_if_local(uri: str) -> str:
    """A relative local location made absolute (against the server's working directory), as MLflow stores it."""
    if not uri or not is_local(uri):
        return uri
    path = local_path(uri)
    if Path(path).is_absolute():
        return uri
    absolute = (Path.cwd() / path).as_posix()
    if uri.startswith("file:"):
        parsed = parse(uri)
        return urllib.parse.urlunparse((parsed.scheme, "", absolute, parsed.params, parsed.query, parsed.fragment))
    return absolute


def append_path(uri: str, *parts: str) -> str:
    """`uri` with path parts appended (the query string, if any, kept at the end)."""
    parsed = parse(uri)
    if not parsed.scheme:
        return posixpath.join(uri, *parts)
    path = posixpath.join(parsed.path or "/", *parts) if parsed.path else "/" + posixpath.join(*parts)
    if parsed.scheme == "mlflow-artifacts" and not parsed.netloc and uri.startswith("mlflow-artifacts:/") and not uri.startswith("mlflow-artifacts://"):
        return f"mlflow-artifacts:{path}" + (f"?{parsed.query}" if parsed.query else "")
    return urllib.parse.urlunparse((parsed.scheme, parsed.netloc, path, parsed.params, parsed.query, parsed.fragment))


def proxied_path(root: str, relative: str | None = None) -> str | None:
    """Where a proxied root (and a path below it) is in the company's artifact folder; None if not proxied."""
    parsed = parse(root)
    if parsed.scheme not in PROXIED_SCHEMES:
        return None
    if parsed.scheme == "mlflow-artifacts":
        base = parsed.path.lstrip("/")
    elif PROXY_ANCHOR in parsed.path:
        base = parsed.path.split(PROXY_ANCHOR, 1)[1].lstrip("/")
    elif parsed.path.rstrip("/") == PROXY_ANCHOR.rstrip("/"):
        base = ""
    else:
        return None
    base = urllib.parse.unquote(base).strip("/")
    if relative:
        return posixpath.join(base, relative) if base else relative
    return base


def safe_relative_path(path: str) -> str:
    """A client's path below an artifact root: MLflow refuses '..', absolute paths, '#' and backslashes."""
    decoded = path
    for _ in range(10):  # percent-decoding until nothing changes, so %252E%252E is '..' too
        unquoted = urllib.parse.unquote(decoded)
        if unquoted == decoded:
            break
        decoded = unquoted
    if (
        decoded.startswith("file:")  # a local file's URI is no path below a root (MLflow refuses it too)
        or "#" in decoded
        or "\\" in decoded
        or "\x00" in decoded
        or ".." in decoded.split("/")
        or PurePosixPath(decoded).is_absolute()
        or PureWindowsPath(decoded).is_absolute()
        or (len(decoded) >= 2 and decoded[1] == ":")
    ):
        raise ApiError("invalid_parameter_value", "Invalid path")
    return decoded


def check_remote_source(source: str) -> None:
    """MLflow's refusal of model version sources that climb out of their location ('..', NUL, encodings)."""
    message = (
        f"Invalid model version source: '{source}'. If supplying a source as an http, https, local file path, ftp, "
        "objectstore, or mlflow-artifacts uri, an absolute path must be provided without relative path references "
        "present. Please provide an absolute path."
    )
    decoded = source
    while (unquoted := urllib.parse.unquote_plus(decoded)) != decoded:
        decoded = unquoted
    path = re.sub(r"/+", "/", parse(decoded).path.rstrip("/"))
    if "\x00" in path or any(part == ".." for part in decoded.split("/")):
        raise ApiError("invalid_parameter_value", message)
    # MLflow compares the path with itself resolved: a relative path resolves elsewhere. An empty path (a
    # whole bucket, s3://bucket) is accepted here; MLflow refuses it, resolving "" to its working directory.
    if path and (not path.startswith("/") or posixpath.normpath(path) != path):
        raise ApiError("invalid_parameter_value", message)


def contains(root: str, source: str) -> bool:
    """Whether local `source` is `root` or below it (both local locations, compared as absolute paths)."""
    root_path = Path(local_path(root)).resolve()
    source_path = Path(local_path(source)).resolve()
    return root_path == source_path or root_path in source_path.parents
