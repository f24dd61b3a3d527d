"""Browsing one debug image or one metric's plots at a time, across variants, metrics and iterations."""

from __future__ import annotations


def image(task, iteration, variant, url, metric="samples"):
    return {"task": task, "type": "training_debug_image", "iter": iteration, "metric": metric, "variant": variant, "url": url}


def plot(task, iteration, metric, variant):
    return {"task": task, "type": "plot", "iter": iteration, "metric": metric, "variant": variant, "plot_str": f"{metric}.{variant}@{iteration}"}


def shown(result):
    event = result["event"]
    return None if event is None else (event["iter"], event["variant"])


def test_an_image_sample_knows_the_iterations_its_url_still_holds(api, task_id):
    empty = api.call("events.get_debug_image_sample", {"task": task_id, "metric": "samples", "variant": "a"}, version="2.12")
    assert (empty["event"], empty["min_iteration"], empty["max_iteration"]) == (None, None, None)
    api.call("events.add_batch", {"batched_data": [image(task_id, i, "a", f"slot{i % 3}") for i in range(8)]})
    latest = api.call("events.get_debug_image_sample", {"task": task_id, "metric": "samples", "variant": "a"}, version="2.12")
    assert (shown(latest), latest["min_iteration"], latest["max_iteration"]) == ((7, "a"), 5, 7)
    request = {"task": task_id, "metric": "samples", "variant": "a", "scroll_id": latest["scroll_id"]}
    assert shown(api.call("events.get_debug_image_sample", {**request, "iteration": 6}, version="2.12")) == (6, "a")
    assert shown(api.call("events.get_debug_image_sample", {**request, "iteration": 2}, version="2.12")) is None  # overwritten
    other_metric = {**request, "metric": "other"}
    assert api.error("events.get_debug_image_sample", other_metric, version="2.12")["result_subcode"] == 1104


def test_next_image_goes_through_variants_then_iterations(api, task_id):
    api.call("events.add_batch", {"batched_data": [image(task_id, i, v, f"{v}{i}") for i in range(2) for v in ("a", "b")]})
    result = api.call("events.get_debug_image_sample", {"task": task_id, "metric": "samples", "variant": "a"}, version="2.12")
    seen = [shown(result)]
    for earlier in (False, False, True, True, True, True):
        result = api.call("events.next_debug_image_sample", {"task": task_id, "scroll_id": result["scroll_id"], "navigate_earlier": earlier}, version="2.12")
        seen.append(shown(result))
    assert seen == [(1, "a"), (1, "b"), None, (1, "a"), (0, "b"), (0, "a"), None]
    jump = api.call("events.next_debug_image_sample", {"task": task_id, "scroll_id": result["scroll_id"], "navigate_earlier": False, "next_iteration": True}, version="2.22")
    assert shown(jump) == (1, "a")


def test_plot_samples_by_metric_and_iteration(api, task_id):
    api.call("events.add_batch", {"batched_data": [plot(task_id, i, m, v) for i in range(3) for m, v in (("m1", "x"), ("m1", "y"), ("m2", "z"))]})
    first = api.call("events.get_plot_sample", {"task": task_id, "metric": "m1"}, version="2.20")
    assert [(e["iter"], e["variant"]) for e in first["events"]] == [(2, "x"), (2, "y")] and (first["min_iteration"], first["max_iteration"]) == (0, 2)

    def step(result, **more):
        return api.call("events.next_plot_sample", {"task": task_id, "scroll_id": result["scroll_id"], **more}, version="2.22")

    back = step(first)
    assert [(e["iter"], e["metric"]) for e in back["events"]] == [(1, "m1"), (1, "m1")]  # this metric only
    everything = api.call("events.get_plot_sample", {"task": task_id, "metric": "m1", "navigate_current_metric": False}, version="2.20")
    ahead = step(everything, navigate_earlier=False)
    assert {(e["iter"], e["metric"]) for e in ahead["events"]} == {(2, "m2")}
    assert step(ahead, navigate_earlier=False)["events"] == []
    previous = step(ahead, next_iteration=True)
    assert {(e["iter"], e["metric"]) for e in previous["events"]} == {(1, "m2")}
