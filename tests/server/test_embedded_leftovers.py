"""Leftovers of a killed server: pid files of databases that are gone are cleared, live ones stopped."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from regista.server import embedded_leftovers as leftovers


def test_a_pid_file_naming_a_gone_or_foreign_process_is_removed(tmp_path):
    pid_file, db_dir = tmp_path / "nx-27017.pid", tmp_path / "db"
    finished = subprocess.Popen([sys.executable, "-c", "pass"])
    finished.wait()
    for pid in (finished.pid, os.getpid()):  # gone; alive but another program (a recycled pid)
        pid_file.write_text(str(pid))
        leftovers.clear_pid_file(pid_file, db_dir)
        assert not pid_file.exists()
    assert leftovers.is_database_of(os.getpid(), db_dir) is False


def test_a_zombie_database_counts_as_gone_and_a_live_one_is_stopped(tmp_path):
    db_dir = tmp_path / "db"
    # A stand-in with the database's command line, so that it is recognised as this folder's database.
    argv = [sys.executable, "-c", "import time; time.sleep(60)", "nx_27017.nx_27017", "--data-dir", str(db_dir)]
    live = subprocess.Popen(argv)
    try:
        deadline = time.monotonic() + 10  # until the child has exec'd: before, /proc shows the forked test
        while not leftovers.is_database_of(live.pid, db_dir) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert leftovers.is_database_of(live.pid, db_dir)
        assert not leftovers.is_database_of(live.pid, tmp_path / "other")
        pid_file = tmp_path / "nx-27017.pid"
        pid_file.write_text(str(live.pid))
        leftovers.clear_pid_file(pid_file, db_dir, grace_s=0.5)  # waited for, then SIGTERM
        assert not pid_file.exists()
        assert live.wait(10) is not None  # it was stopped (SIGTERM), not left running
    finally:
        live.kill()
        live.wait()
