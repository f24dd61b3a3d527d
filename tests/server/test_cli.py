"""The regista command."""

from __future__ import annotations

import subprocess
import sys

from server.cli import main
from tests.conftest import FIXTURES


def test_schema_check_accepts_the_repository_schema(capsys):
    assert main(["schema", "check"]) == 0
    assert "OK" in capsys.readouterr().out


def test_schema_check_lists_problems_and_fails(capsys):
    assert main(["schema", "check", str(FIXTURES / "schemas" / "broken_ref")]) == 1
    err = capsys.readouterr().err
    assert "svc.conf: svc.act v2.1: request: $ref '#/definitions/missing' does not resolve" in err


def test_schema_check_needs_no_handlers(capsys):
    assert main(["schema", "check", str(FIXTURES / "schemas" / "dialect")]) == 0


def test_help_explains_the_commands():
    out = subprocess.run(
        [sys.executable, "-m", "server.cli", "--help"], capture_output=True, text=True, check=True
    ).stdout
    assert "serve" in out and "schema" in out and "REGISTA__SECTION__KEY" in out
    serve_help = subprocess.run(
        [sys.executable, "-m", "server.cli", "serve", "--help"], capture_output=True, text=True, check=True
    ).stdout
    for flag in ("--host", "--port", "--workers", "--config"):
        assert flag in serve_help


def test_a_broken_config_is_reported_not_raised(tmp_path, capsys):
    bad = tmp_path / "bad.conf"
    bad.write_text("server {")
    assert main(["serve", "--config", str(bad)]) == 2
    assert "configuration error" in capsys.readouterr().err
