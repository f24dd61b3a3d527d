"""The serving service: containers register and report; endpoints, details and charts read what they sent."""

from __future__ import annotations

import time

import pytest

from regista.services.serving import containers
from regista.services.serving.documents import ServingContainer, ServingStats

V = "2.31"
URL = "http://serve.example/model"


def _info(container_id, url=URL, **extra):
    return {"container_id": container_id, "endpoint_name": "classify", "model_name": "resnet", "endpoint_url": url, **extra}


def _report(api, container_id, n, **extra):
    stats = {"cpu_usage": [10 * n, 20 * n], "memory_used": 1024 * n, "memory_free": 1024}
    api.call("serving.container_status_report", {**_info(container_id), "uptime_sec": 100 * n, "requests_num": 10 * n, "requests_min": 2.5 * n, "latency_ms": 40 * n, "machine_stats": stats, **extra}, version=V)  # fmt: skip


def test_endpoints_sum_up_their_instances(api):
    api.call("serving.register_container", {**_info("c1"), "reference": [{"type": "model", "value": "m1"}]}, version=V)
    _report(api, "c1", 1, reference=[{"type": "model", "value": "m1"}])  # a report replaces what the last call said
    _report(api, "c2", 2)  # never registered: a report registers it
    [endpoint] = api.call("serving.get_endpoints", {}, version=V)["endpoints"]
    assert {k: endpoint[k] for k in ("endpoint", "model", "url", "instances", "uptime_sec", "requests", "requests_min", "latency_ms")} == {
        "endpoint": "classify", "model": "resnet", "url": URL, "instances": 2, "uptime_sec": 200, "requests": 30,
        "requests_min": 3.75, "latency_ms": 60,
    }  # fmt: skip
    details = api.call("serving.get_endpoint_details", {"endpoint_url": URL}, version=V)
    assert details["uptime_sec"] == 200
    assert [(i["id"], i["requests"], i["cpu_count"], i["gpu_count"], i["reference"]) for i in details["instances"]] == [
        ("c1", 10, 2, 0, [{"type": "model", "value": "m1"}]), ("c2", 20, 2, 0, []),
    ]  # fmt: skip


def test_loading_instances_and_unregistering(api):
    api.call("serving.register_container", _info("loader", url=None), version=V)
    [loading] = api.call("serving.get_loading_instances", {}, version=V)["instances"]
    assert (loading["id"], loading["url"], loading["model"]) == ("loader", None, "resnet")
    assert api.call("serving.get_endpoints", {}, version=V)["endpoints"] == []
    api.call("serving.unregister_container", {"container_id": "loader"}, version=V)
    assert api.call("serving.get_loading_instances", {}, version=V)["instances"] == []
    api.call("serving.unregister_container", {"container_id": "never"}, version=V)  # auto_unregister


def test_a_report_needs_its_url_and_an_unknown_url_has_no_details(api):
    assert api.error("serving.container_status_report", _info("c1", url=None), version=V)["result_subcode"] == 12
    assert api.error("serving.get_endpoint_details", {"endpoint_url": "http://nowhere"}, version=V)["result_subcode"] == 1052


def test_expired_containers_are_gone_everywhere(api, test_config):
    _report(api, "c1", 1)
    ServingContainer.objects(container_id="c1").update(expires_at=time.time() - 1)
    assert api.call("serving.get_endpoints", {}, version=V)["endpoints"] == []
    assert api.error("serving.get_endpoint_details", {"endpoint_url": URL}, version=V)["result_subcode"] == 1052
    ServingStats.objects.update(timestamp=int((time.time() - 31 * 86400) * 1000))
    assert containers.remove_expired(test_config) == 2  # the container and its one report
    assert ServingContainer.objects.count() == ServingStats.objects.count() == 0


def test_charts_add_up_the_instances_per_interval(api):
    for n in (1, 2):
        _report(api, f"c{n}", n)
    to_date = int(time.time()) + 40
    expected = {None: 30, "requests_min": 7.5, "latency_ms": 60, "cpu_count": 4, "cpu_util": 22.5, "ram_used": 3.0, "ram_total": 5.0}
    for metric, value in expected.items():
        chart = api.call("serving.get_endpoint_metrics_history", {
            "endpoint_url": URL, "from_date": to_date - 100, "to_date": to_date, "interval": 1, **({"metric_type": metric} if metric else {}),
        }, version=V)  # fmt: skip
        assert chart["computed_interval"] == 40
        assert value in chart["total"]["values"], (metric, chart)
        assert set(chart["instances"]) == {"c1", "c2"}
        assert all(series["dates"] == chart["total"]["dates"] for series in chart["instances"].values())
    error = api.error("serving.get_endpoint_metrics_history", {"endpoint_url": URL, "from_date": 10, "to_date": 5, "interval": 40}, version=V)
    assert error["result_subcode"] == 16


def test_another_company_sees_nothing(api):
    _report(api, "c1", 1)
    other = api.as_user(company="elsewhere", name="intruder")
    assert other.call("serving.get_endpoints", {}, version=V)["endpoints"] == []
    assert other.error("serving.get_endpoint_details", {"endpoint_url": URL}, version=V)["result_subcode"] == 1052
    chart = other.call("serving.get_endpoint_metrics_history", {"endpoint_url": URL, "from_date": 1, "to_date": time.time() + 60, "interval": 40}, version=V)
    assert chart["total"]["values"] == [] and chart["instances"] == {}
    other.call("serving.unregister_container", {"container_id": "c1"}, version=V)
    assert ServingContainer.objects(container_id="c1").count() == 1  # its own container id names nothing of ours


@pytest.mark.parametrize("stats", [{"a.b": 1, "$x": 2, "cpu_usage": [5]}])
def test_odd_statistics_names_are_not_stored(api, stats):
    api.call("serving.container_status_report", {**_info("c1"), "machine_stats": stats}, version=V)
    assert ServingContainer.objects.get(container_id="c1").info["machine_stats"] == {"cpu_usage": [5]}
