"""The regista command."""

from __future__ import annotations

import subprocess
import sys

from regista.cli import main
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
        [sys.executable, "-m", "regista.cli", "--help"], capture_output=True, text=True, check=True
    ).stdout
    assert "serve" in out and "schema" in out and "REGISTA__SECTION__KEY" in out
    serve_help = subprocess.run(
        [sys.executable, "-m", "regista.cli", "serve", "--help"], capture_output=True, text=True, check=True
    ).stdout
    for flag in ("--host", "--port", "--workers", "--config"):
        assert flag in serve_help


def test_a_broken_config_is_reported_not_raised(tmp_path, capsys):
    bad = tmp_path / "bad.conf"
    bad.write_text("server {")
    assert main(["serve", "--config", str(bad)]) == 2
    assert "configuration error" in capsys.readouterr().err


def run_credentials_create(config_file, *args) -> dict[str, str]:
    result = subprocess.run(
        [sys.executable, "-m", "regista.cli", "credentials", "create", "--config", str(config_file), *args],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return dict(line.split(": ", 1) for line in result.stdout.splitlines())


def stored_credentials(uri: str, access_key: str) -> tuple[dict, dict]:
    import pymongo

    database = pymongo.MongoClient(uri).get_default_database()
    credentials = database["credentials"].find_one({"_id": access_key})
    return credentials, database["users"].find_one({"_id": credentials["user"]})


def test_credentials_create_alone_and_beside_a_running_database(tmp_path):
    import hashlib

    from regista.server.embedded_db import EmbeddedDatabase

    config_file = tmp_path / "regista.conf"
    config_file.write_text(f'embedded_db.data_dir: "{tmp_path / "data"}"\n')
    alone = run_credentials_create(config_file, "--user", "carol", "--company", "acme", "--role", "admin")
    with EmbeddedDatabase(tmp_path / "data") as running:  # as a server would hold it
        beside = run_credentials_create(config_file, "--user", "carol", "--company", "acme")
        for pair in (alone, beside):
            credentials, user = stored_credentials(running.uri, pair["access_key"])
            assert credentials["secret_sha256"] == hashlib.sha256(pair["secret_key"].encode()).hexdigest()
            assert (user["name"], user["role"]) == ("carol", "admin")  # the existing user keeps its role


def test_output_piped_into_head_ends_without_a_traceback():
    from regista.server.config import default_schema_dir

    command = f"'{sys.executable}' -m regista.cli schema diff '{default_schema_dir()}' --from 2.1 --to 2.20 | head -1"
    result = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=120)
    assert result.stdout.startswith("breaking") and result.stderr == ""


def test_the_operations_commands_explain_themselves():
    for command in (["db", "serve"], ["backup"], ["restore"]):
        shown = subprocess.run([sys.executable, "-m", "regista.cli", *command, "--help"], capture_output=True, text=True, check=True).stdout
        assert "--data-dir" in shown
    assert "mongodb.uri" in subprocess.run([sys.executable, "-m", "regista.cli", "db", "serve", "--help"], capture_output=True, text=True).stdout
