"""The scalar store at scale: how long a run's metric takes to read back as the run grows.

Runs of each size are logged over HTTP as the MLflow client logs them (`runs/log-batch` of 1000 points),
plus one run logged point by point (`runs/log-metric`), so that how a run was written shows in how it
reads. Then, per run: the full history (`metrics/get-history`, every page), and the reads charts make on
every page view, which must not grow with the run: `get-history-bulk-interval` (the MLflow UI),
`events.scalar_metrics_iter_histogram` (ClearML's scalars tab) and `events.get_task_metrics`.
"""

from __future__ import annotations

import statistics
import time
import uuid
from collections.abc import Callable
from typing import Any

import requests

BATCH = 1000  # points per runs/log-batch, MLflow's limit
PAGE = 25000  # points per metrics/get-history page, MLflow's maximum
CHART_POINTS = 320  # what the MLflow UI asks for
SPIKE = 1000.0  # one point of each run logged in batches (the others are at most 1): every chart must show it


class ScalarRuns:
    """Runs of one metric, `loss`, on the MLflow API of a server at `url`."""

    def __init__(self, url: str, headers: dict[str, str]):
        self.url = url.rstrip("/")
        self.session = requests.Session()
        self.session.headers.update(headers)
        name = f"scale-{uuid.uuid4().hex[:8]}"
        self.experiment_id = self._post("experiments/create", {"name": name})["experiment_id"]

    def _post(self, action: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self.session.post(f"{self.url}/api/2.0/mlflow/{action}", json=body, timeout=600)
        response.raise_for_status()
        return response.json()

    def new_run(self) -> str:
        run = self._post("runs/create", {"experiment_id": self.experiment_id, "start_time": int(time.time() * 1000)})
        return run["run"]["info"]["run_id"]

    def log_in_batches(self, run_id: str, points: int) -> None:
        now, spike = int(time.time() * 1000), points * 37 // 100
        for start in range(0, points, BATCH):
            metrics = [{"key": "loss", "value": SPIKE if step == spike else 1.0 / (step + 1), "timestamp": now + step, "step": step}
                       for step in range(start, min(points, start + BATCH))]  # fmt: skip
            self._post("runs/log-batch", {"run_id": run_id, "metrics": metrics})

    def log_point_by_point(self, run_id: str, points: int) -> None:
        now = int(time.time() * 1000)
        for step in range(points):
            self._post("runs/log-metric", {"run_id": run_id, "key": "loss", "value": 1.0 / (step + 1), "timestamp": now + step, "step": step})

    def full_history(self, run_id: str) -> int:
        return history_count(self.session, self.url, run_id)

    def sampled(self, run_id: str) -> list[float]:
        """The values the MLflow UI's chart of the run draws."""
        params = {"run_ids": run_id, "metric_key": "loss", "max_results": CHART_POINTS}
        url = f"{self.url}/ajax-api/2.0/mlflow/metrics/get-history-bulk-interval"
        response = self.session.get(url, params=params, timeout=600)
        response.raise_for_status()
        return [m["value"] for m in response.json()["metrics"]]

    def clearml(self, endpoint: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self.session.post(f"{self.url}/api/{endpoint}", json=body, timeout=600)
        response.raise_for_status()
        return response.json()["data"]


def history_count(session: requests.Session, url: str, run_id: str) -> int:
    """Every point of the run's metric `loss`, page by page, as the MLflow client reads it; how many."""
    count, token = 0, None
    while True:
        params = {"run_id": run_id, "metric_key": "loss", "max_results": PAGE, **({"page_token": token} if token else {})}
        response = session.get(f"{url}/api/2.0/mlflow/metrics/get-history", params=params, timeout=600)
        response.raise_for_status()
        page = response.json()
        count += len(page.get("metrics", []))
        token = page.get("next_page_token")
        if not token:
            return count


def _median_s(read: Callable[[], Any], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        read()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def measure(url: str, headers: dict[str, str], sizes: tuple[int, ...], point_by_point: int, repeats: int, log) -> dict[str, Any]:
    runs = ScalarRuns(url, headers)
    written: dict[str, tuple[str, int]] = {}
    for size in sizes:
        log(f"logging a run of {size:,} points in batches of {BATCH}")
        run_id = runs.new_run()
        runs.log_in_batches(run_id, size)
        written[str(size)] = (run_id, size)
    log(f"logging a run of {point_by_point:,} points one call each")
    single = runs.new_run()
    started = time.perf_counter()
    runs.log_point_by_point(single, point_by_point)
    figures: dict[str, Any] = {"scalar_log_metric_ms": round((time.perf_counter() - started) * 1000 / point_by_point, 2)}
    history, sampled, histogram, task_metrics = {}, {}, {}, {}
    for label, (run_id, size) in written.items():
        log(f"reading the run of {size:,} points")
        counted = runs.full_history(run_id)
        if counted != size:
            raise RuntimeError(f"get-history returned {counted} of {size} points: the figures would lie")
        history[label] = round(_median_s(lambda: runs.full_history(run_id), repeats), 3)
        chart_repeats = repeats * 3
        drawn = runs.clearml("events.scalar_metrics_iter_histogram", {"task": run_id, "samples": CHART_POINTS})["loss"]["loss"]["y"]
        if max(runs.sampled(run_id)) != SPIKE or max(drawn) != SPIKE:
            raise RuntimeError(f"a chart of the run of {size:,} points hid its spike: the figures would hide it too")
        sampled[label] = round(_median_s(lambda: runs.sampled(run_id), chart_repeats) * 1000, 1)
        body = {"task": run_id, "samples": CHART_POINTS}
        histogram[label] = round(_median_s(lambda: runs.clearml("events.scalar_metrics_iter_histogram", body), chart_repeats) * 1000, 1)
        body = {"tasks": [run_id], "event_type": "training_stats_scalar"}
        task_metrics[label] = round(_median_s(lambda: runs.clearml("events.get_task_metrics", body), chart_repeats) * 1000, 1)
    figures["scalar_history_s"] = history
    figures["scalar_sampled_p50_ms"] = sampled
    figures["scalar_histogram_p50_ms"] = histogram
    figures["scalar_task_metrics_p50_ms"] = task_metrics
    figures["scalar_history_point_by_point_s"] = {str(point_by_point): round(_median_s(lambda: runs.full_history(single), repeats), 3)}
    return figures


def history_against(url: str, headers: dict[str, str], size: int, repeats: int) -> float:
    """Seconds for a full history read of a run of `size` points logged in batches (another server)."""
    runs = ScalarRuns(url, headers)
    run_id = runs.new_run()
    runs.log_in_batches(run_id, size)
    if runs.full_history(run_id) != size:
        raise RuntimeError(f"{url} did not return the {size} points logged")
    return _median_s(lambda: runs.full_history(run_id), repeats)
