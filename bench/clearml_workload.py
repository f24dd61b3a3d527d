"""The ClearML SDK's reporting, timed in a fresh process: `python -m bench.clearml_workload N`.

Task.init (not timed), then N `Logger.report_scalar` calls and `Task.flush(wait_for_uploads=True)`: the
time until the server has acknowledged every event. The server and the credentials come from the
CLEARML_* variables. Prints JSON: the seconds, and the events reported per second.
"""

from __future__ import annotations

import sys
import time
import uuid

import orjson

SERIES = (("loss", "train"), ("loss", "val"), ("accuracy", "val"), ("lr", "lr"))  # a training loop's scalars


def main() -> None:
    from clearml import Task

    events = int(sys.argv[1])
    task = Task.init(
        project_name="bench", task_name=f"report {uuid.uuid4().hex[:8]}", reuse_last_task_id=False,
        auto_connect_frameworks=False, auto_resource_monitoring=False, auto_connect_streams=False,
        auto_connect_arg_parser=False,
    )  # fmt: skip
    logger = task.get_logger()
    started = time.perf_counter()
    for number in range(events):
        title, series = SERIES[number % len(SERIES)]
        logger.report_scalar(title, series, value=1.0 / (number + 1), iteration=number // len(SERIES))
    task.flush(wait_for_uploads=True)
    report_s = time.perf_counter() - started
    task.close()
    print(orjson.dumps({"report_s": report_s, "events_per_s": events / report_s, "task_id": task.id}).decode())


if __name__ == "__main__":
    main()
