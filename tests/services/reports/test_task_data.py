"""reports.get_task_data: tasks by get_all_ex's criteria, with the data of the widgets asked for."""

from __future__ import annotations


def _events(task_id, model=False):
    extra = {"model_event": True} if model else {}
    events = []
    for m in range(2):
        for v in range(2):
            key = {"task": task_id, "iter": 1, "metric": f"M{m}", "variant": f"V{v}", "timestamp": 1_700_000_000_000, **extra}
            events += [
                {**key, "type": "training_debug_image", "url": f"http://files/{m}_{v}.png"},
                {**key, "type": "plot", "plot_str": '{"data": []}'},
                {**key, "type": "training_stats_scalar", "value": m * v},
                {**key, "type": "training_stats_scalar", "value": m + v, "iter": -(2**31)},
            ]
    return events


def test_widgets_read_what_the_events_calls_read(api, make_task):
    task = make_task(name="source")
    make_task(name="other")
    api.call("events.add_batch", {"batched_data": _events(task.id)}, version="2.24")
    bare = api.call("reports.get_task_data", {"id": [task.id], "only_fields": ["name"]}, version="2.24")
    assert bare == {"tasks": [{"id": task.id, "name": "source"}]}
    answer = api.call("reports.get_task_data", {
        "id": [task.id], "only_fields": ["name"], "debug_images": {"metrics": []}, "plots": {"metrics": [{"metric": "M1"}]},
        "scalar_metrics_iter_histogram": {}, "single_value_metrics": {},
    }, version="2.24")  # fmt: skip
    [images] = answer["debug_images"]
    assert images["task"] == task.id and len(images["iterations"][0]["events"]) == 4
    assert set(answer["plots"]) == {"M1"} and set(answer["plots"]["M1"]["V0"]) == {task.id}
    assert answer["plots"]["M1"]["V0"][task.id]["1"]["name"] == "source"
    assert set(answer["scalar_metrics_iter_histogram"]) == {"M0", "M1"}
    assert list(answer["scalar_metrics_iter_histogram"]["M1"]["V1"]) == [task.id]
    [values] = answer["single_value_metrics"]
    assert values["task_name"] == "source"
    assert {(v["metric"], v["variant"], v["value"]) for v in values["values"]} == {(f"M{m}", f"V{v}", m + v) for m in range(2) for v in range(2)}


def test_model_events_and_no_match(api, create_model):
    model = create_model(name="weights")
    api.call("events.add_batch", {"batched_data": _events(model, model=True)}, version="2.24")
    answer = api.call("reports.get_task_data", {"id": [model], "model_events": True, "single_value_metrics": {}}, version="2.24")
    assert [m["id"] for m in answer["tasks"]] == [model] and answer["single_value_metrics"][0]["task"] == model
    nothing = api.call("reports.get_task_data", {"id": ["nope"], "plots": {}, "debug_images": {}}, version="2.24")
    assert nothing == {"tasks": [], "plots": {}, "debug_images": []}


def test_another_companys_tasks_are_not_read(api, make_task):
    task = make_task(name="secret")
    api.call("events.add_batch", {"batched_data": _events(task.id)}, version="2.24")
    other = api.as_user(company="elsewhere", name="intruder")
    answer = other.call("reports.get_task_data", {"id": [task.id], "single_value_metrics": {}, "plots": {}}, version="2.24")
    assert answer == {"tasks": [], "single_value_metrics": [], "plots": {}}
