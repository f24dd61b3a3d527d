"""serving.get_endpoint_metrics_history: an endpoint's statistics per time interval, as clearml-server draws them.

Each interval (aligned to the epoch, at least serving.min_chart_interval_sec long) gets one sample per
instance, the average of its reports there (for the request count, the largest: it only grows), and a total:
the sum of the instances' samples, or their average for latency and utilisation. Intervals without reports
are drawn as zeros, except for the request count, which leaves them out; an interval still running at
to_date (more than a tenth of it missing) is left out too.
"""

from __future__ import annotations

from typing import Any

from regista.server.call import Call
from regista.server.errors import ApiError
from regista.services.serving.containers import stats_scope
from regista.services.serving.documents import ServingStats

MB_TO_GB = 1 / 1024
# metric type: (stored value, title, how instances add up, factor)
CHARTS = {
    "requests": ("requests_num", "Number of Requests", "sum", None),
    "requests_min": ("requests_min", "Requests per Minute", "sum", None),
    "latency_ms": ("latency_ms", "Average Latency (ms)", "avg", None),
    "cpu_count": ("cpu_num", "CPU Count", "sum", None),
    "gpu_count": ("gpu_num", "GPU Count", "sum", None),
    "cpu_util": ("cpu_usage", "Average CPU Load (%)", "avg", None),
    "gpu_util": ("gpu_usage", "Average GPU Utilization (%)", "avg", None),
    "ram_total": ("memory_total", "RAM Total (GB)", "sum", MB_TO_GB),
    "ram_used": ("memory_used", "RAM Used (GB)", "sum", MB_TO_GB),
    "ram_free": ("memory_free", "RAM Free (GB)", "sum", MB_TO_GB),
    "gpu_ram_total": ("gpu_memory_total", "GPU RAM Total (GB)", "sum", MB_TO_GB),
    "gpu_ram_used": ("gpu_memory_used", "GPU RAM Used (GB)", "sum", MB_TO_GB),
    "gpu_ram_free": ("gpu_memory_free", "GPU RAM Free (GB)", "sum", MB_TO_GB),
    "network_rx": ("network_rx", "Network Throughput RX (MBps)", "sum", None),
    "network_tx": ("network_tx", "Network Throughput TX (MBps)", "sum", None),
}


def get_endpoint_metrics_history(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    from_date, to_date = float(request["from_date"]), float(request["to_date"])
    if from_date >= to_date:
        raise ApiError("fields_value_error", "from_date must be less than to_date", field="from_date")
    metric = request.get("metric_type") or "requests"
    field, title, total_of, factor = CHARTS[metric]
    interval = max(int(request["interval"]), int(call.config.get("serving.min_chart_interval_sec")))
    answer: dict[str, Any] = {"computed_interval": interval, "total": {"title": title, "dates": [], "values": []}, "instances": {}}
    step = interval * 1000
    reports = ServingStats._get_collection().find(
        {"scope": stats_scope(call.company, request["endpoint_url"]), "timestamp": {"$gte": int(from_date * 1000), "$lte": int(to_date * 1000)}},
        {"container_id": 1, "timestamp": 1, "values": 1},
    )  # fmt: skip
    samples: dict[int, dict[str, list[float]]] = {}  # interval start -> container -> values
    instances: set[str] = set()
    for report in reports:
        instances.add(report["container_id"])
        bucket = samples.setdefault(report["timestamp"] // step * step, {}).setdefault(report["container_id"], [])
        value = (report.get("values") or {}).get(field)
        if isinstance(value, (int, float)):
            bucket.append(value)
    if not instances:
        return answer
    if metric == "requests":
        starts = sorted(samples)
    else:
        starts = list(range(int(from_date * 1000) // step * step, int(to_date * 1000) + 1, step))
    last_complete = (to_date - 0.9 * interval) * 1000
    starts = [start for start in starts if start <= last_complete]
    total, per_instance = [], {container: [] for container in instances}
    for start in starts:
        present = samples.get(start, {})
        values = {c: _sample(v, metric) for c, v in present.items()}
        known = [v for v in values.values() if v is not None]
        total.append((sum(known) / len(known) if total_of == "avg" else sum(known)) if known else 0)
        for container in instances:
            per_instance[container].append(values.get(container) or 0)
    answer["total"].update(dates=starts, values=_rounded(total, factor))
    if request.get("instance_charts", True):
        answer["instances"] = {
            container: {"title": container, "dates": starts, "values": _rounded(values, factor)}
            for container, values in sorted(per_instance.items())
        }
    return answer


def _sample(values: list[float], metric: str) -> float | None:
    if not values:
        return None
    return max(values) if metric == "requests" else sum(values) / len(values)


def _rounded(values: list[float], factor: float | None) -> list[float]:
    return [round(v * (factor or 1.0), 2) if v else 0 for v in values]
