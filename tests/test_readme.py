"""The README's examples, run as a reader runs them against `regista serve`: the first calls (curl) answer
what the README shows, and the ClearML and MLflow examples run one after the other in one folder."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import requests

from bench import processes
from tests.clearml_support import call, clearml_environment, server  # noqa: F401 (server: the module's fixture)

README = Path(__file__).resolve().parents[1] / "README.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
PLACEHOLDER_KEYS = {"id", "trx", "..."}  # ids differ on every run; "..." stands for what the README leaves out


def section(heading: str) -> str:
    """The README's text under `heading` (a line of #s and the title), up to the next heading of its level
    (a line of a code block that starts with # is a shell comment, no heading)."""
    level = len(heading.partition(" ")[0])
    lines, inside, fenced = [], False, False
    for line in README.read_text().splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and re.match(rf"#{{1,{level}}} ", line):
            if inside:
                break
            inside = line == heading
        if inside:
            lines.append(line)
    assert lines, f"no {heading!r} in the README"
    return "\n".join(lines) + "\n"


def blocks(text: str) -> list[tuple[str, str]]:
    return [(match.group(1), match.group(2)) for match in FENCE.finditer(text)]


def assert_shaped_like(answer, sample, path="") -> None:
    """Every key the sample shows is in the answer with the same value, but for ids and left-out parts."""
    if isinstance(sample, dict):
        assert isinstance(answer, dict), path
        for key, value in sample.items():
            if key in PLACEHOLDER_KEYS:
                continue
            assert key in answer, f"{path}.{key} is in the README but not in the answer {answer}"
            assert_shaped_like(answer[key], value, f"{path}.{key}")
    elif isinstance(sample, list):
        assert isinstance(answer, list) and len(answer) == len(sample), (path, answer)
        for index, (got, shown) in enumerate(zip(answer, sample)):
            assert_shaped_like(got, shown, f"{path}[{index}]")
    else:
        assert answer == sample, f"{path}: the README shows {sample!r}, the server answers {answer!r}"


def test_the_first_calls_answer_what_the_readme_shows(server):  # noqa: F811
    shell = {"PATH": "/usr/bin:/bin", "KEY": processes.BENCH_KEY, "SECRET": processes.BENCH_SECRET}
    found = blocks(section("### A first call"))
    compared = 0
    for index, (language, code) in enumerate(found):
        if language != "sh":
            continue
        # The reader's own key pair, printed by the first start, takes the place of the README's.
        code = "\n".join(line for line in code.splitlines() if not line.startswith("export KEY="))
        code = code.replace("localhost:8008", f"127.0.0.1:{server.port}")
        if code.lstrip().startswith("TOKEN="):
            code += '\nprintf %s "$TOKEN"'
        result = subprocess.run(["bash", "-c", code], env=shell, capture_output=True, text=True, timeout=30)
        assert result.returncode == 0, (code, result.stderr)
        if code.lstrip().startswith("TOKEN="):
            shell["TOKEN"] = result.stdout.strip()
            assert requests.post(f"{server.url}/api/users.get_current_user", headers={"Authorization": f"Bearer {shell['TOKEN']}"},
                                 timeout=10).status_code == 200  # fmt: skip
            continue
        following = found[index + 1] if index + 1 < len(found) else ("", "")
        if following[0] == "json":
            assert_shaped_like(json.loads(result.stdout), json.loads(following[1]))
            compared += 1
    assert compared == 3  # models.create, models.get_all, the refused request


def test_the_clearml_and_mlflow_examples_run_as_written_into_one_project(server, tmp_path):  # noqa: F811
    clearml_code = next(code for language, code in blocks(section("## Using the ClearML SDK")) if language == "python")
    mlflow_code = next(code for language, code in blocks(section("## Using the MLflow client")) if language == "python")
    environment = {
        **clearml_environment(server, tmp_path / "home"),
        "MLFLOW_TRACKING_URI": server.url,
        "MLFLOW_TRACKING_USERNAME": processes.BENCH_KEY,
        "MLFLOW_TRACKING_PASSWORD": processes.BENCH_SECRET,
    }
    folder = tmp_path / "work"
    folder.mkdir()
    for name, code in (("clearml_example.py", clearml_code), ("mlflow_example.py", mlflow_code)):
        (folder / name).write_text(code)
        result = subprocess.run([sys.executable, name], cwd=folder, env=environment, capture_output=True, text=True, timeout=180)
        output = result.stdout + result.stderr
        assert result.returncode == 0, output[-4000:]
        assert "Failed" not in output and "Traceback" not in output, output[-4000:]
    project = call(server, "projects.get_all", name="^vision$")["projects"]
    assert len(project) == 1
    tasks = call(server, "tasks.get_all", project=[project[0]["id"]], only_fields=["name", "status"])["tasks"]
    assert sorted((t["name"], t["status"]) for t in tasks) == [("clearml baseline", "completed"), ("mlflow baseline", "completed")]
    models = call(server, "models.get_all", project=[project[0]["id"]], only_fields=["name", "uri", "ready"])["models"]
    assert len(models) == 1 and models[0]["uri"].startswith(f"{server.url}/files/")
    assert requests.get(models[0]["uri"], headers=server.auth, timeout=10).content == b"weights"
    runs = requests.post(f"{server.url}/api/2.0/mlflow/runs/search", json={"experiment_ids": [project[0]["id"]]}, headers=server.auth,
                         timeout=10).json()["runs"]  # fmt: skip
    by_name = {run["info"]["run_name"]: run for run in runs}
    assert set(by_name) == {"clearml baseline", "mlflow baseline"}
    for run in runs:  # both carry what every MLflow run carries
        tags = {tag["key"]: tag["value"] for tag in run["data"]["tags"]}
        assert tags["mlflow.user"] == "bench" and tags["mlflow.source.type"] == "LOCAL", tags
    artifacts = requests.get(f"{server.url}/api/2.0/mlflow/artifacts/list", params={"run_id": by_name["mlflow baseline"]["info"]["run_id"]},
                             headers=server.auth, timeout=10).json()  # fmt: skip
    assert [f["path"] for f in artifacts["files"]] == ["model.pt"]
