"""ClearML's workflows beyond the task, with the real SDK (clearml from PyPI, unpatched) against `regista serve`:
datasets through the SDK and the `clearml-data` command line, pipelines run locally, and hyperparameter
optimization watched by a trigger scheduler and a monitor."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.clearml_support import call, clearml_environment, run_sdk, server  # noqa: F401 (server: the module's fixture)

CLEARML_DATA = Path(sys.executable).with_name("clearml-data")


def test_dataset_versions_copies_listing_and_deletion(server, tmp_path):  # noqa: F811
    found = run_sdk(server, "datasets.py", str(tmp_path / "work"), home=tmp_path)
    first, second = found["first"], found["second"]
    assert (found["latest"], found["by_id"], found["by_version"]) == (second, first, first)
    assert found["parents"] == [first]
    assert found["files"] == ["c.txt", "sub/b.bin"]  # a.txt removed in the second version
    source = found["source"]
    assert found["copy"] == {name: source[name] for name in ("c.txt", "sub/b.bin")}  # byte for byte
    assert found["mutable"] == {name: source[name] for name in ("a.txt", "sub/b.bin")}
    assert found["listed"] == sorted([[first, "1.0.0"], [second, "1.1.0"]])
    assert found["after_delete"] == [first]
    assert not list(server.data_dir.glob(f"files/*/data sets/.datasets/images/images.{second}/**/*.zip"))  # no orphans
    assert list(server.data_dir.glob(f"files/*/data sets/.datasets/images/images.{first}/**/*.zip"))


def _clearml_data(server, home: Path, *args: str) -> str:  # noqa: F811
    result = subprocess.run([str(CLEARML_DATA), *args], env=clearml_environment(server, home), cwd=home,
                            capture_output=True, text=True, timeout=180)  # fmt: skip
    assert result.returncode == 0 and "Error" not in result.stdout, result.stdout[-2000:] + result.stderr[-2000:]
    return result.stdout


def test_the_clearml_data_command_line(server, tmp_path):  # noqa: F811
    home, files = tmp_path / "home", tmp_path / "files"
    (files / "sub").mkdir(parents=True)
    home.mkdir()
    (files / "x.txt").write_text("x\n")
    (files / "sub" / "y.bin").write_bytes(os.urandom(5000))
    created = _clearml_data(server, home, "create", "--project", "cli data", "--name", "set")
    first = re.search(r"id=(\w+)", created).group(1)
    assert "2 files added" in _clearml_data(server, home, "add", "--files", str(files))
    assert "finalized" in _clearml_data(server, home, "close")
    listed = _clearml_data(server, home, "list", "--id", first)
    assert "x.txt" in listed and "sub/y.bin" in listed
    _clearml_data(server, home, "get", "--id", first, "--copy", str(tmp_path / "copy"))
    assert (tmp_path / "copy" / "sub" / "y.bin").read_bytes() == (files / "sub" / "y.bin").read_bytes()
    second = re.search(r"id=(\w+)", _clearml_data(server, home, "create", "--project", "cli data", "--name", "set", "--parents", first)).group(1)
    assert "1 file removed" in _clearml_data(server, home, "remove", "--files", "x.txt")
    _clearml_data(server, home, "close")
    assert "x.txt" not in _clearml_data(server, home, "list", "--id", second)
    _clearml_data(server, home, "delete", "--id", first, "--force")
    searched = _clearml_data(server, home, "search", "--project", "cli data")
    assert second in searched and first not in searched


def test_pipelines_run_locally_with_their_steps_under_the_controller(server, tmp_path):  # noqa: F811
    found = run_sdk(server, "pipelines.py", home=tmp_path, timeout=400)
    assert found["results"] == ["10", "10"] and found["decorated"] == 42
    first_steps, second_steps = found["steps"]
    assert second_steps["make"] == first_steps["make"]  # cached: the second run reused the first's step
    assert second_steps["add"] != first_steps["add"]
    for controller, steps in zip(found["controllers"], found["steps"]):
        task = call(server, "tasks.get_by_id", task=controller)["task"]
        assert (task["type"], "pipeline" in task["system_tags"]) == ("controller", True)
        project = call(server, "projects.get_by_id", project=task["project"])["project"]
        assert project["name"] == "pipes/.pipelines/sums" and set(project["system_tags"]) >= {"pipeline", "hidden"}
        own = {t["id"] for t in call(server, "tasks.get_all", parent=controller, search_hidden=True, only_fields=["id"])["tasks"]}
        assert steps["add"] in own
    runs = call(server, "tasks.get_all", type=["controller"], search_hidden=True, only_fields=["id", "name", "status"])["tasks"]
    assert {t["status"] for t in runs} == {"completed"} and len(runs) == 3  # two runs of sums, one of doubling


def test_hyperparameter_optimization_with_a_trigger_and_a_monitor_watching(server, tmp_path):  # noqa: F811
    found = run_sdk(server, "hpo.py", str(tmp_path / "work"), home=tmp_path, timeout=400)
    assert len(found["trials"]) == 2 and found["best"]["x"] == "3"  # the grid's best: -(x - 3)^2 is 0 there
    assert set(found["fired"]) == set(found["trials"])  # the trigger ran on each completed trial
    assert set(found["trials"]) <= set(found["seen"])  # the monitor saw each complete
    controller = call(server, "tasks.get_by_id", task=found["controller"])["task"]
    assert controller["type"] == "optimizer"
    for trial in found["trials"]:
        task = call(server, "tasks.get_by_id", task=trial)["task"]
        assert (task["parent"], task["status"]) == (found["controller"], "completed")
        assert task["hyperparams"]["General"]["x"]["value"] in {"1", "3"}
