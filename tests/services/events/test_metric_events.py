"""Plots and debug images by iteration: pages back and forth, refresh, recycled image urls, comparisons."""

from __future__ import annotations


def plot(task, iteration, metric="loss curve", variant="v", **more):
    return {"task": task, "type": "plot", "iter": iteration, "metric": metric, "variant": variant, "plot_str": f"{metric}/{variant}@{iteration}", **more}


def image(task, iteration, variant, url, metric="samples"):
    return {"task": task, "type": "training_debug_image", "iter": iteration, "metric": metric, "variant": variant, "url": url}


def page(api, endpoint, task, scroll_id=None, iters=3, **more):
    data = api.call(f"events.{endpoint}", {"metrics": [{"task": task}], "iters": iters, "scroll_id": scroll_id, **more}, version="2.22")
    (entry,) = data["metrics"]
    assert entry["task"] == task
    return [it["iter"] for it in entry["iterations"]], entry["iterations"], data["scroll_id"]


def test_plot_pages_go_back_from_the_latest_iteration_and_forward_again(api, task_id):
    api.call("events.add_batch", {"batched_data": [plot(task_id, i, variant=v) for i in range(7) for v in ("a", "b")]})
    first, iterations, scroll = page(api, "plots", task_id)
    assert first == [6, 5, 4] and all([e["variant"] for e in it["events"]] == ["a", "b"] for it in iterations)
    second, _, scroll = page(api, "plots", task_id, scroll)
    assert second == [3, 2, 1]
    third, _, scroll = page(api, "plots", task_id, scroll)
    assert third == [0]
    assert page(api, "plots", task_id, scroll)[0] == []
    forward, _, scroll = page(api, "plots", task_id, scroll, navigate_earlier=False)
    assert forward == [3, 2, 1]  # after the earliest page shown (0), newest first within the page


def test_refresh_takes_in_new_metrics_and_restarts_from_the_latest(api, task_id):
    api.call("events.add_batch", {"batched_data": [plot(task_id, 1, "a"), plot(task_id, 1, "b")]})
    assert page(api, "plots", task_id, iters=1)[0] == [1]
    _, _, scroll = page(api, "plots", task_id, iters=1)
    api.call("events.add_batch", {"batched_data": [plot(task_id, 2, "b"), plot(task_id, 2, "c")]})
    assert page(api, "plots", task_id, scroll, iters=1)[0] == []  # the scroll moves on from iteration 1
    refreshed, iterations, _ = page(api, "plots", task_id, scroll, iters=1, refresh=True)
    assert refreshed == [2] and {e["metric"] for e in iterations[0]["events"]} == {"b", "c"}


def test_recycled_image_urls_hide_the_iterations_they_overwrote(api, task_id):
    # variant x cycles through 3 urls, y through 2: the images of x before iteration 7, of y before 8, are gone
    events = [image(task_id, i, v, f"{v}-{i % n}") for i in range(10) for v, n in (("x", 3), ("y", 2))]
    no_url = {"task": task_id, "type": "training_debug_image", "iter": 10, "metric": "samples", "variant": "x"}
    api.call("events.add_batch", {"batched_data": [*events, no_url]})  # an image without a url is not shown
    iterations, found, scroll = page(api, "debug_images", task_id, iters=5)
    assert iterations == [9, 8, 7]
    assert [[e["variant"] for e in it["events"]] for it in found] == [["x", "y"], ["x", "y"], ["x"]]
    assert page(api, "debug_images", task_id, scroll, iters=5)[0] == []


def test_an_empty_task_answers_no_iterations(api, task_id):
    iterations, _, scroll = page(api, "debug_images", task_id)
    assert iterations == [] and page(api, "debug_images", task_id, scroll, refresh=True)[0] == []
    assert api.error("events.plots", {"metrics": [{"task": task_id}], "scroll_id": "forged.sig"}, version="2.22")["result_subcode"] == 1104


def test_task_plots_keep_the_latest_iterations_of_each_plot(api, task_id):
    api.call("events.add_batch", {"batched_data": [plot(task_id, i, m) for i in range(3) for m in ("a", "b")]})
    plots = api.call("events.get_task_plots", {"task": task_id, "iters": 2})["plots"]
    assert [(p["metric"], p["iter"]) for p in plots] == [("a", 2), ("a", 1), ("b", 2), ("b", 1)]
    only_b = api.call("events.get_task_plots", {"task": task_id, "metrics": [{"metric": "b"}]}, version="2.14")["plots"]
    assert [(p["metric"], p["iter"]) for p in only_b] == [("b", 2)]
    api.call("tasks.reset", {"task": task_id})
    assert api.call("events.get_task_plots", {"task": task_id})["plots"] == []


def test_multi_task_plots_by_metric_variant_task_and_iteration(api, task_id):
    other = api.call("tasks.create", {"name": "second run", "type": "training"})["id"]
    api.call("events.add_batch", {"batched_data": [plot(task_id, 1, "a"), plot(task_id, 2, "a"), plot(task_id, 1, "b"), plot(other, 5, "a")]})
    found = api.call("events.get_multi_task_plots", {"tasks": [task_id, other]}, version="2.28")["plots"]
    assert set(found) == {"a", "b"} and set(found["a"]["v"]) == {task_id, other}
    assert list(found["a"]["v"][task_id]) == ["2"] and found["a"]["v"][task_id]["2"]["name"] == "training"
    assert found["a"]["v"][other]["5"]["plots"][0]["plot_str"] == "a/v@5"
    assert list(found["b"]["v"][task_id]) == ["1"]  # the latest iteration of each task metric
    whole_task = api.call("events.get_multi_task_plots", {"tasks": [task_id], "last_iters_per_task_metric": False}, version="2.28")
    assert set(whole_task["plots"]) == {"a"}  # the task's latest iteration only
    filtered = api.call("events.get_multi_task_plots", {"tasks": [task_id, other], "metrics": [{"metric": "b"}]}, version="2.28")
    assert set(filtered["plots"]) == {"b"}
