"""The real ClearML agent (clearml-agent from PyPI, unpatched) runs queued tasks from `regista serve`.

Each agent is `clearml-agent daemon --queue Q` in a subprocess, running every task with the tests' own Python
(CLEARML_AGENT_SKIP_PYTHON_ENV_INSTALL): no virtualenv, no pip, no repository, no docker. The tasks are
tests/fixtures/clearml/agent_job.py, stored in the task by the SDK (Task.create, or execute_remotely).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

from tests.clearml_support import SCRIPTS, call, clearml_environment, run_sdk, server  # noqa: F401 (a fixture)

POLL_S = 0.5  # the agents' queue poll and task-monitoring period
CONFIG = SCRIPTS / "clearml.conf"  # the agents' and the SDK scripts' configuration


class Agent:
    """`clearml-agent daemon --queue <queue> --foreground` as worker `worker_id`, its output in a file."""

    def __init__(self, server, queue: str, worker_id: str, workdir: Path):
        home = workdir / worker_id.replace(":", "-")
        (home / "tmp").mkdir(parents=True)
        self.worker_id = worker_id
        self.log_path = home / "agent.log"
        env = clearml_environment(server, home, config=CONFIG)
        env.update({
            "CLEARML_AGENT_SKIP_PYTHON_ENV_INSTALL": "1",  # run tasks with this Python, install nothing
            "CLEARML_AGENT_QUEUE_POLL_FREQ_SEC": str(POLL_S),
            "CLEARML_AGENT_STATUS_REPORT_FREQ_SEC": "1",
            "CLEARML_WORKER_ID": worker_id,
            "TMPDIR": str(home / "tmp"),  # the agent's instance registry (pid files) and temporary logs
        })  # fmt: skip
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "clearml_agent", "daemon", "--queue", queue, "--foreground"],
                env=env, cwd=home, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def __enter__(self) -> "Agent":
        return self

    def __exit__(self, *exc) -> None:
        # SIGTERM: the daemon unregisters its worker; then the whole group, in case a task still runs
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait()


def wait_for(condition, what: str, agents=(), timeout_s: float = 90):
    """Poll `condition` until it answers something true; that answer (failing with the agents' output)."""
    deadline = time.monotonic() + timeout_s
    while True:
        answer = condition()
        if answer:
            return answer
        if time.monotonic() > deadline:
            outputs = "\n".join(f"--- {agent.worker_id}:\n{agent.output()[-4000:]}" for agent in agents)
            raise AssertionError(f"timed out waiting for {what}\n{outputs}")
        time.sleep(0.2)


def new_queue(server) -> tuple[str, str]:
    name = f"queue-{uuid.uuid4().hex[:8]}"
    return name, call(server, "queues.create", name=name)["id"]


def create_jobs(server, home: Path, queue: str, *jobs: dict) -> list[str]:
    """Task.create of agent_job.py with each job's parameters, each enqueued on `queue`; the task ids."""
    return run_sdk(server, "create_job.py", queue, *map(json.dumps, jobs), home=home, config=CONFIG)["task_ids"]


def status(server, task_id: str) -> str:
    return call(server, "tasks.get_all", id=[task_id], only_fields=["status"])["tasks"][0]["status"]


def statuses(server, task_ids: list[str]) -> dict[str, str]:
    tasks = call(server, "tasks.get_all", id=task_ids, only_fields=["status"])["tasks"]
    return {task["id"]: task["status"] for task in tasks}


def console(server, task_id: str) -> list[str]:
    """The task's console log (what the agent shipped), oldest first, one entry per reported line."""
    events = call(server, "events.get_task_log", task=task_id, batch_size=10000, navigate_earlier=False)["events"]
    return [line for event in events for line in event["msg"].splitlines()]


def scalars(server, task_id: str) -> dict:
    histogram = call(server, "events.scalar_metrics_iter_histogram", task=task_id)
    return {
        (metric, variant): series["y"]
        for metric, variants in histogram.items() for variant, series in variants.items()
    }  # fmt: skip


def workers(server) -> dict[str, dict]:
    return {worker["id"]: worker for worker in call(server, "workers.get_all")["workers"]}


def assert_unregistered(server, registered: dict) -> None:
    """The stopped daemon ended the registration it ran under.

    Its resource-monitor thread is still reporting while the daemon unregisters, and a report from an
    unregistered worker registers it afresh (the server's auto_register, as ClearML's does): the worker may
    be listed again, but never under the registration it had while it ran.
    """
    listed = workers(server).get(registered["id"])
    assert listed is None or listed["register_time"] != registered["register_time"], listed


def running_on(server, worker_id: str) -> str | None:
    """The id of the task that workers.get_all says `worker_id` runs (None when it runs none)."""
    return (workers(server).get(worker_id, {}).get("task") or {}).get("id")


def test_a_created_task_runs_to_completion_with_its_scalars_and_console(server, tmp_path):
    queue, queue_id = new_queue(server)
    (task_id,) = create_jobs(server, tmp_path / "sdk", queue, {"marker": "created", "steps": 4, "sleep": 0.5})
    assert status(server, task_id) == "queued"
    with Agent(server, queue, "tests:created", tmp_path) as agent:
        # while it runs, the agent is listed as the worker running it
        wait_for(lambda: running_on(server, "tests:created") == task_id, "the worker to run the task", [agent])
        wait_for(lambda: status(server, task_id) == "completed", "the task to complete", [agent])
        wait_for(lambda: running_on(server, "tests:created") is None, "the worker to be idle again", [agent])
        registered = workers(server)["tests:created"]
        assert [entry["id"] for entry in registered["queues"]] == [queue_id]
    assert_unregistered(server, registered)
    lines = console(server, task_id)
    assert [line for line in lines if line.startswith("created ")] == [
        "created step 0", "created step 1", "created step 2", "created step 3", "created done",
    ]  # fmt: skip
    assert f"task {task_id} pulled from {queue_id} by worker tests:created" in lines
    assert scalars(server, task_id) == {("progress", "step"): [0, 10, 20, 30]}
    task = call(server, "tasks.get_by_id", task=task_id)["task"]
    assert task["last_worker"] == "tests:created"


def test_a_script_that_enqueues_itself_runs_remotely(server, tmp_path):
    queue, _ = new_queue(server)
    home = tmp_path / "sdk"
    home.mkdir()
    shutil.copy(SCRIPTS / "agent_job.py", home)  # outside any git repository: the task stores the script itself
    local = subprocess.run(
        [sys.executable, str(home / "agent_job.py"), "--enqueue", queue, "--marker", "remote"],
        env=clearml_environment(server, home, config=CONFIG), cwd=home, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert local.returncode == 0, local.stdout[-2000:] + local.stderr[-4000:]
    (task_id,) = [line.split()[-1] for line in local.stdout.splitlines() if line.startswith("task id: ")]
    assert "remote step" not in local.stdout  # execute_remotely left the process before the work
    assert status(server, task_id) == "queued"
    with Agent(server, queue, "tests:remote", tmp_path) as agent:
        wait_for(lambda: status(server, task_id) == "completed", "the task to complete", [agent])
    lines = console(server, task_id)
    assert [line for line in lines if line.startswith("remote ")] == [
        "remote step 0", "remote step 1", "remote step 2", "remote done",
    ]  # fmt: skip
    assert scalars(server, task_id) == {("progress", "step"): [0, 10, 20]}


def test_stopping_a_running_task_aborts_it_and_the_agent_takes_the_next(server, tmp_path):
    queue, _ = new_queue(server)
    long_job, next_job = {"marker": "long", "steps": 1000, "sleep": 0.1}, {"marker": "next", "steps": 1}
    long_id, next_id = create_jobs(server, tmp_path / "sdk", queue, long_job, next_job)
    with Agent(server, queue, "tests:stopper", tmp_path) as agent:
        wait_for(lambda: "long step 5" in console(server, long_id), "the long task to run", [agent])
        assert statuses(server, [long_id, next_id]) == {long_id: "in_progress", next_id: "queued"}
        # a task that a worker runs is not stopped by the server: it asks the agent to, with "stopping"
        fields = call(server, "tasks.stop", task=long_id)["fields"]
        assert fields["status_message"] == "stopping" and fields.get("status") in (None, "in_progress")
        wait_for(lambda: status(server, long_id) == "stopped", "the agent to stop the long task", [agent], 30)
        wait_for(lambda: status(server, next_id) == "completed", "the next task to complete", [agent])
    stopped = call(server, "tasks.get_by_id", task=long_id)["task"]
    assert stopped["status_reason"] == "task was stopped by tasks.stop"  # the agent's tasks.stopped
    long_lines = console(server, long_id)
    assert "Process aborted by user" in long_lines
    assert "long done" not in long_lines and "long step 999" not in long_lines
    assert "next done" in console(server, next_id)


def test_two_agents_on_one_queue_run_each_task_once(server, tmp_path):
    queue, queue_id = new_queue(server)
    task_ids = create_jobs(server, tmp_path / "sdk", queue, *({"marker": f"job-{i}", "steps": 1} for i in range(10)))
    worker_ids = ("tests:first", "tests:second")
    with Agent(server, queue, worker_ids[0], tmp_path) as first, Agent(server, queue, worker_ids[1], tmp_path) as other:
        wait_for(
            lambda: set(statuses(server, task_ids).values()) == {"completed"}, "every task to complete",
            [first, other], timeout_s=180,
        )  # fmt: skip
    ran_by = {}
    for i, task_id in enumerate(task_ids):
        lines = console(server, task_id)
        pulls = [line for line in lines if line.startswith(f"task {task_id} pulled from {queue_id} by worker ")]
        assert len(pulls) == 1, (task_id, pulls)  # pulled once: no task started twice
        ran_by[task_id] = pulls[0].rsplit(" ", 1)[-1]
        assert [line for line in lines if line.startswith(f"job-{i} ")] == [f"job-{i} step 0", f"job-{i} done"]
        assert scalars(server, task_id) == {("progress", "step"): [0]}
    assert set(ran_by.values()) == set(worker_ids)  # both agents took tasks from the queue
    assert call(server, "queues.get_by_id", queue=queue_id)["queue"]["entries"] == []


def test_pipeline_steps_and_optimizer_trials_run_by_agents_from_the_queue(server, tmp_path):
    """The controller and the optimizer run in the user's process; their steps and trials are queued and
    run by two agents, as a team runs them on its machines."""
    from concurrent.futures import ThreadPoolExecutor

    queue, queue_id = new_queue(server)
    with Agent(server, queue, "tests:steps-a", tmp_path) as first, Agent(server, queue, "tests:steps-b", tmp_path) as other:
        with ThreadPoolExecutor(2) as pool:
            piped = pool.submit(run_sdk, server, "agent_pipeline.py", "pipeline", queue, home=tmp_path / "pipe", config=CONFIG, timeout=400)
            tuned = pool.submit(run_sdk, server, "agent_pipeline.py", "tuning", queue, str(tmp_path / "work"),
                                home=tmp_path / "tune", config=CONFIG, timeout=400)  # fmt: skip
            try:
                pipeline, tuning = piped.result(), tuned.result()
            except AssertionError as failure:
                raise AssertionError(f"{failure}\n" + "\n".join(f"--- {a.worker_id}:\n{a.output()[-3000:]}" for a in (first, other))) from None
    assert pipeline["result"] == str(sum(n * n for n in range(4)))
    pulled = {f"task {{}} pulled from {queue_id} by worker {worker}" for worker in ("tests:steps-a", "tests:steps-b")}
    for name, step in pipeline["steps"].items():
        task = call(server, "tasks.get_by_id", task=step)["task"]
        assert (task["parent"], task["status"]) == (pipeline["controller"], "completed"), name
        assert {line.format(step) for line in pulled} & set(console(server, step)), name  # an agent ran it
    assert "squaring 4 numbers" in console(server, pipeline["steps"]["square"])
    assert len(tuning["trials"]) == 2
    for trial in tuning["trials"]:
        task = call(server, "tasks.get_by_id", task=trial)["task"]
        assert (task["parent"], task["status"]) == (tuning["optimizer"], "completed")
        lines = console(server, trial)
        assert f"trial with x={task['hyperparams']['General']['x']['value']}" in lines
        assert {line.format(trial) for line in pulled} & set(lines)
    best = call(server, "tasks.get_by_id", task=tuning["best"])["task"]
    assert best["hyperparams"]["General"]["x"]["value"] == "3"  # -(x - 3)^2 is highest there
    assert call(server, "queues.get_by_id", queue=queue_id)["queue"]["entries"] == []
