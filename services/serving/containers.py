"""Serving containers: register, report, unregister, and the endpoints their live instances serve.

As clearml-server: a status report from an unknown container registers it (serving.auto_register), and
unregistering an unknown one succeeds (serving.auto_unregister); an endpoint is summed up over its live
instances (longest uptime, total requests, average requests per minute and latency, last report).
"""

from __future__ import annotations

import time
from typing import Any

from regista.server.call import Call
from regista.server.errors import ApiError
from regista.services.common.values import new_id, utcnow
from regista.services.serving.documents import ServingContainer, ServingStats

INFO_FIELDS = (
    "endpoint_name", "endpoint_url", "model_name", "model_source", "model_version", "preprocess_artifact",
    "input_type", "input_size", "tags", "system_tags", "reference",
)  # fmt: skip
REPORT_FIELDS = ("uptime_sec", "requests_num", "requests_min", "latency_ms", "machine_stats")
STATS_FIELDS = ("requests_num", "requests_min", "uptime_sec", "latency_ms")


def register_container(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    _save(call, request, timeout_sec=int(request.get("timeout") or _default_timeout(call)), registered=None)
    return {}


def container_status_report(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    if not request.get("endpoint_url"):
        raise ApiError("validation_error", "Missing required field 'endpoint_url'", field="endpoint_url")
    known = _live(call, request["container_id"])
    if known is None and not call.config.get("serving.auto_register", True):
        raise ApiError("container_not_registered", "the container is not registered", container=request["container_id"])
    timeout_sec = int(known.timeout_sec) if known else _default_timeout(call)
    _save(call, request, timeout_sec=timeout_sec, registered=known)
    _record_stats(call, request)
    return {}


def unregister_container(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    # An expired container's document goes too; only a live one counts as registered.
    gone = ServingContainer._get_collection().find_one_and_delete({"_id": _key(call, request["container_id"])}, {"expires_at": 1})
    if not (gone and float(gone.get("expires_at") or 0) > time.time()) and not call.config.get("serving.auto_unregister", True):
        raise ApiError("container_not_registered", "the container is not registered", container=request["container_id"])
    return {}


def get_endpoints(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    by_url: dict[str, list[ServingContainer]] = {}
    for container in live_containers(call):
        if container.endpoint_url:
            by_url.setdefault(container.endpoint_url, []).append(container)
    return {"endpoints": [_summary(containers) for _, containers in sorted(by_url.items())]}


def get_loading_instances(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    now = utcnow()
    return {
        "instances": [
            {
                "id": c.container_id, "endpoint": c.info.get("endpoint_name"), "url": c.endpoint_url,
                "model": c.info.get("model_name"), **{k: c.info.get(k) for k in ("model_source", "model_version", "preprocess_artifact", "input_type", "input_size", "uptime_sec")},
                "age_sec": int((now - c.register_time).total_seconds()) if c.register_time else 0,
                "last_update": c.last_activity_time,
            }
            for c in live_containers(call) if not c.endpoint_url
        ]
    }  # fmt: skip


def get_endpoint_details(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    containers = [c for c in live_containers(call) if c.endpoint_url == request["endpoint_url"]]
    if not containers:
        raise ApiError("no_containers_for_url", "no live container serves this url", url=request["endpoint_url"])
    first = containers[0].info
    return {
        "endpoint": first.get("endpoint_name"), "model": first.get("model_name"), "url": request["endpoint_url"],
        **{k: first.get(k) for k in ("preprocess_artifact", "input_type", "input_size", "model_source", "model_version")},
        "uptime_sec": max((c.info.get("uptime_sec") or 0 for c in containers), default=0),
        "last_update": max(c.last_activity_time for c in containers),
        "instances": [_instance(c) for c in containers],
    }  # fmt: skip


def live_containers(call: Call) -> list[ServingContainer]:
    """The caller's company's registered containers whose timeout has not passed, in container id order."""
    found = ServingContainer.objects(company=call.company, expires_at__gt=time.time())
    return sorted(found, key=lambda c: c.container_id)


def remove_expired(config: Any) -> int:
    """The periodic pass: forget expired containers and statistics older than serving.stats_days."""
    removed = ServingContainer._get_collection().delete_many({"expires_at": {"$lte": time.time()}}).deleted_count
    cutoff_ms = int((time.time() - float(config.get("serving.stats_days")) * 86400) * 1000)
    return removed + ServingStats._get_collection().delete_many({"timestamp": {"$lt": cutoff_ms}}).deleted_count


def interval_sec(config: Any) -> float:
    return float(config.get("serving.cleanup_interval_sec"))


def _save(call: Call, request: dict[str, Any], timeout_sec: int, registered: ServingContainer | None) -> None:
    now = utcnow()
    info = {k: request[k] for k in (*INFO_FIELDS, *REPORT_FIELDS) if request.get(k) is not None}
    if isinstance(info.get("machine_stats"), dict):  # stored keys: the statistics' names, nothing a client invents
        info["machine_stats"] = {k: v for k, v in info["machine_stats"].items() if k.isidentifier()}
    ServingContainer(
        id=_key(call, request["container_id"]), company=call.company, container_id=request["container_id"],
        info=info, endpoint_url=request.get("endpoint_url") or None, ip=call.client_address or (registered.ip if registered else ""),
        register_time=registered.register_time if registered else now, last_activity_time=now, timeout_sec=timeout_sec,
        expires_at=time.time() + timeout_sec,
    ).save()  # fmt: skip


def _record_stats(call: Call, request: dict[str, Any]) -> None:
    """One statistics document per report: the counters, and the machine statistics averaged per device
    kind (cpu_usage, cpu_num = how many), memory used/free/total, network."""
    values: dict[str, float] = {k: request[k] for k in STATS_FIELDS if isinstance(request.get(k), (int, float))}
    stats = request.get("machine_stats") or {}
    for kind in ("cpu", "gpu"):
        usage = stats.get(f"{kind}_usage")
        usage = usage if isinstance(usage, list) else [usage] if isinstance(usage, (int, float)) else []
        if usage:
            values[f"{kind}_usage"], values[f"{kind}_num"] = sum(usage) / len(usage), len(usage)
    for kind in ("memory", "gpu_memory"):
        free, used = _average(stats.get(f"{kind}_free")), _average(stats.get(f"{kind}_used"))
        values.update({k: v for k, v in ((f"{kind}_free", free), (f"{kind}_used", used)) if v is not None})
        if free is not None or used is not None:
            values[f"{kind}_total"] = round((free or 0) + (used or 0), 3)
    values.update({k: stats[k] for k in ("network_rx", "network_tx", "disk_free_home") if isinstance(stats.get(k), (int, float))})
    ServingStats(
        id=new_id(), scope=stats_scope(call.company, request["endpoint_url"]), company=call.company,
        container_id=request["container_id"], timestamp=int(time.time() * 1000), values=values,
    ).save(force_insert=True)  # fmt: skip


def stats_scope(company: str, endpoint_url: str) -> str:
    return f"{company} {endpoint_url}"


def _average(value: Any) -> float | None:
    if isinstance(value, list):
        numbers = [v for v in value if isinstance(v, (int, float))]
        return sum(numbers) / len(numbers) if numbers else None
    return value if isinstance(value, (int, float)) else None


def _summary(containers: list[ServingContainer]) -> dict[str, Any]:
    def present(field: str) -> list[Any]:
        return [c.info[field] for c in containers if c.info.get(field) is not None]

    requests_min, latency = present("requests_min"), present("latency_ms")
    first = containers[0].info
    return {
        "endpoint": first.get("endpoint_name"), "model": first.get("model_name"), "url": containers[0].endpoint_url,
        "instances": len(containers), "uptime_sec": max(present("uptime_sec"), default=None),
        "requests": sum(present("requests_num")),
        "requests_min": round(sum(requests_min) / len(requests_min), 2) if requests_min else None,
        "latency_ms": round(sum(latency) / len(latency)) if latency else None,
        "last_update": max(c.last_activity_time for c in containers),
    }  # fmt: skip


def _instance(container: ServingContainer) -> dict[str, Any]:
    info, stats = container.info, container.info.get("machine_stats") or {}
    counts = {}
    for kind in ("cpu", "gpu"):
        usage = stats.get(f"{kind}_usage")
        counts[f"{kind}_count"] = len(usage) if isinstance(usage, list) else (0 if usage is None else 1)
    return {
        "id": container.container_id, "uptime_sec": info.get("uptime_sec"), "requests": info.get("requests_num"),
        "requests_min": info.get("requests_min"), "latency_ms": info.get("latency_ms"),
        "last_update": container.last_activity_time, "reference": info.get("reference") or [], **counts,
    }  # fmt: skip


def _live(call: Call, container_id: str) -> ServingContainer | None:
    return ServingContainer.objects(id=_key(call, container_id), expires_at__gt=time.time()).first()


def _key(call: Call, container_id: str) -> str:
    return f"{call.company}:{container_id}"


def _default_timeout(call: Call) -> int:
    return int(call.config.get("serving.default_container_timeout_sec"))

