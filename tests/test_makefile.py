"""The Makefile's `make serve`, stopped as a person stops it: Ctrl-C in its terminal."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import requests

from regista.server.embedded_db import free_port
from tests.conftest import FIXTURES

ROOT = FIXTURES.parents[1]
# `make serve`'s prerequisites (the venv and the UI's files) are taken as made: the recipe is what runs.
MADE = (".venv/.installed-runtime", ".venv/share/regista/mlflow-ui/regista-mlflow-ui.json")


def test_ctrl_c_stops_make_serve_s_server_cleanly_and_make_reports_the_interrupt(tmp_path):
    """A terminal's Ctrl-C reaches make and the server alike (the foreground process group). The server
    finishes and exits 0; make waits for it, then ends itself by the same signal, which a shell reports as
    status 130, as the README says."""
    port = free_port("127.0.0.1")
    env = {
        **os.environ,
        "REGISTA__SERVER__PORT": str(port),
        "REGISTA__EMBEDDED_DB__DATA_DIR": str(tmp_path / "data"),
        "REGISTA__EMBEDDED_DB__PORT": str(free_port("127.0.0.1")),
        "REGISTA__API__SCHEMA_CACHE_DIR": str(tmp_path / "schema-cache"),
        "REGISTA__FILES__ROOT": str(tmp_path / "files"),
        "REGISTA__ARTIFACTS__ROOT": str(tmp_path / "artifacts"),
    }
    options = [argument for made in MADE for argument in ("-o", made)]
    with open(tmp_path / "make.log", "wb") as log:
        make = subprocess.Popen(["make", *options, "serve"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            while True:
                assert make.poll() is None, (tmp_path / "make.log").read_text()[-3000:]
                try:
                    if requests.post(f"http://127.0.0.1:{port}/api/debug.ping", timeout=1).status_code == 200:
                        break
                except requests.ConnectionError:
                    pass
                assert time.monotonic() < deadline, "make serve did not answer in 60 s"
                time.sleep(0.2)
            os.killpg(make.pid, signal.SIGINT)  # what a terminal's Ctrl-C does
            status = make.wait(60)
        finally:
            if make.poll() is None:
                os.killpg(make.pid, signal.SIGKILL)
    output = (tmp_path / "make.log").read_text()
    assert "stopped cleanly" in output and "Traceback" not in output, output[-3000:]
    assert status == -signal.SIGINT, output[-3000:]  # killed by SIGINT: status 130 in a shell
