"""The real ClearML SDK reporting scalars to Regista and to a stub that stores nothing, in one run.

The same workload (bench/clearml_workload.py: `report_scalar` N times, then `flush(wait_for_uploads=True)`)
runs in a fresh SDK process against each. "of stub" is the stub's time over Regista's; "of limit" compares
Regista with the best a server storing each batch before it answers can do: the stub's time plus one
acknowledged database write (`db_write_ms`, measured on Regista's database in the same run) per
events.add_batch call the SDK made.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import requests

from bench import inprocess, processes
from bench.clearml_workload import SERIES

WORKLOAD = Path(__file__).with_name("clearml_workload.py")


def workload(url: str, home: Path, events: int) -> dict[str, Any]:
    """The workload against `url` from `home`, a folder outside any git repository: Task.init's repository
    detection then has nothing to inspect, and Task.close nothing to wait for."""
    home.mkdir(parents=True)
    script = shutil.copy(WORKLOAD, home)
    result = subprocess.run(
        [sys.executable, script, str(events)], env=processes.clearml_environment(url, home), cwd=home,
        capture_output=True, text=True, timeout=1800,
    )  # fmt: skip
    if result.returncode:
        raise RuntimeError(f"ClearML workload against {url} failed:\n{result.stdout[-2000:]}{result.stderr[-3000:]}")
    return orjson.loads(result.stdout.strip().splitlines()[-1])


def batches_answered(stub_log: Path) -> int:
    return sum(1 for line in stub_log.read_text(errors="replace").splitlines() if line.startswith("add_batch "))


def _check_stored(server: processes.ServerProcess, task_id: str, events: int) -> None:
    """Regista kept what the SDK reported (its last iteration is the workload's last), or the figures would lie."""
    task = requests.post(f"{server.url}/api/tasks.get_by_id", json={"task": task_id}, headers=server.auth, timeout=60)
    last = task.json()["data"]["task"].get("last_iteration")
    expected = (events - 1) // len(SERIES)
    if last != expected:
        raise RuntimeError(f"the reported task's last iteration is {last}, not {expected}: events were lost")


def compare(scratch: Path, events: int, log) -> dict[str, Any]:
    with processes.regista(scratch / "clearml-regista", scratch / "clearml-regista.log") as server:
        stub_log = scratch / "clearml-stub.log"
        with processes.clearml_stub(stub_log, server.url) as stub:
            log(f"ClearML SDK: {events:,} report_scalar calls against the stub")
            limit = workload(stub.url, scratch / "clearml-home-stub", events)
        log(f"ClearML SDK: {events:,} report_scalar calls against Regista")
        ours = workload(server.url, scratch / "clearml-home-regista", events)
        _check_stored(server, ours["task_id"], events)
        write_s = inprocess.db_round_trips(server.db_uri)["db_write_ms"] / 1000
    batches = batches_answered(stub_log)
    return {
        "clearml_report_scalar_s": round(ours["report_s"], 3),
        "clearml_report_scalar_events_per_s": round(ours["events_per_s"]),
        "clearml_report_scalar_stub_events_per_s": round(limit["events_per_s"]),
        "clearml_report_scalar_batches": batches,
        "clearml_report_scalar_of_stub": round(limit["report_s"] / ours["report_s"], 3),
        "clearml_report_scalar_of_limit": round((limit["report_s"] + batches * write_s) / ours["report_s"], 3),
    }
