"""Storing events: per-event refusals, replaced events, locked tasks, model events, latest values."""

from __future__ import annotations

from regista.services.tasks.documents import Task


def scalar(task, iteration, value, **more):
    return {"task": task, "type": "training_stats_scalar", "metric": "loss", "variant": "train", "iter": iteration, "value": value, **more}


def test_refused_events_are_counted_and_the_rest_stored(api, task_id):
    bad = [{"task": task_id, "type": "no such type"}, {"type": "plot", "metric": "m"}, {"task": "ghost", "type": "plot"}, {"task": task_id}]
    meta = api.error("events.add_batch", {"batched_data": bad})
    assert (meta["result_code"], meta["result_subcode"]) == (400, 131)
    assert meta["error_data"] == {
        "Invalid event type no_such_type": 1, "Event must have a 'task' field": 1, "Invalid task id ghost": 1,
        "Event must have a 'type' field": 1,
    }  # fmt: skip
    good = {"task": task_id, "type": "training_debug_image", "metric": "m", "variant": "v", "iter": 1, "url": "http://files/a.png"}
    result = api.call("events.add_batch", {"batched_data": [*bad, good]})
    assert (result["added"], result["errors"], len(result["errors_info"])) == (1, 4, 4)
    assert [e["url"] for e in api.call("events.get_task_events", {"task": task_id})["events"]] == ["http://files/a.png"]
    assert api.error("events.add_batch", {"batched_data": []})["result_subcode"] == 17


def test_an_event_reported_again_replaces_the_stored_one_but_log_lines_add_up(api, task_id, clean_db):
    image = {"task": task_id, "type": "training_debug_image", "metric": "m", "variant": "v", "iter": 3, "url": "first"}
    api.call("events.add", image)
    api.call("events.add", {**image, "url": "second"})
    api.call("events.add_batch", {"batched_data": [{"task": task_id, "type": "log", "msg": "same"}] * 2})
    assert clean_db["task_events"].count_documents({"task": task_id, "type": "training_debug_image"}) == 1
    assert api.call("events.get_task_events", {"task": task_id, "event_type": "training_debug_image"})["events"][0]["url"] == "second"
    assert api.call("events.get_task_log", {"task": task_id})["total"] == 2


def test_published_tasks_take_events_only_with_allow_locked(api, task_id):
    Task.objects(id=task_id).update(set__status="published")
    meta = api.error("events.add", {"task": task_id, "type": "log", "msg": "late"})
    assert meta["result_subcode"] == 131
    assert api.call("events.add", {"task": task_id, "type": "log", "msg": "late", "allow_locked": True}, version="2.22")["added"] == 1


def test_latest_values_keep_extremes_with_their_iterations_count_and_mean(api, task_id):
    api.call("events.add_batch", {"batched_data": [scalar(task_id, i, float((i * 7) % 10)) for i in range(10)]})
    api.call("events.add_batch", {"batched_data": [scalar(task_id, i, float(i), x_axis_label="epochs") for i in range(10, 12)]})
    entry = next(iter(next(iter(api.call("tasks.get_by_id", {"task": task_id})["task"]["last_metrics"].values())).values()))
    assert (entry["value"], entry["iter"]) == (11.0, 11)
    assert (entry["min_value"], entry["min_value_iteration"], entry["max_value"], entry["max_value_iteration"]) == (0.0, 0, 11.0, 11)
    assert (entry["first_value"], entry["first_value_iteration"], entry["count"]) == (0.0, 0, 12)
    assert entry["mean_value"] == round((45 + 21) / 12, 2) and entry["x_axis_label"] == "epochs"


def test_a_batch_sets_the_latest_value_even_for_an_earlier_iteration(api, task_id):
    single = -(2**31)
    api.call("events.add_batch", {"batched_data": [scalar(task_id, i, float(i)) for i in range(1, 5)]})
    api.call("events.add", scalar(task_id, single, 100.0))
    entry = next(iter(next(iter(api.call("tasks.get_by_id", {"task": task_id})["task"]["last_metrics"].values())).values()))
    assert entry["value"] == 100.0 and entry["max_value_iteration"] == single


def test_model_events(api, create_model, task_id):
    model = create_model(name="detector")
    log = {"task": model, "type": "log", "msg": "hello", "model_event": True}
    assert api.error("events.add", log, version="2.22")["error_data"] == {"Task log events are not supported for models": 1}
    events = [{**scalar(model, i, float(i), x_axis_label="step"), "model_event": True} for i in range(3)]
    result = api.call("events.add_batch", {"batched_data": [*events, {"task": task_id, "type": "log", "msg": "task line"}]}, version="2.22")
    assert result["added"] == 4
    histogram = api.call("events.scalar_metrics_iter_histogram", {"task": model, "model_events": True}, version="2.22")
    assert histogram["loss"]["train"] == {"name": "train", "x": [0, 1, 2], "y": [0.0, 1.0, 2.0], "x_axis_label": "step"}
    stored = api.call("models.get_all_ex", {"id": [model], "only_fields": ["last_metrics", "last_iteration"]}, version="2.20")["models"][0]
    entry = next(iter(next(iter(stored["last_metrics"].values())).values()))
    assert stored["last_iteration"] == 2 and (entry["value"], entry["max_value_iteration"]) == (2.0, 2)
    assert api.error("events.scalar_metrics_iter_histogram", {"task": model}, version="2.22")["result_subcode"] == 101
    assert api.call("events.delete_for_model", {"model": model}, version="2.22")["deleted"] == 1
    mixed = [{**events[0], "task": task_id}, {"task": task_id, "type": "log", "msg": "x"}]
    assert api.error("events.add_batch", {"batched_data": mixed}, version="2.22")["result_subcode"] == 12


def test_plots_keep_their_length_and_the_images_they_show(api, task_id):
    from regista.services.events.common import file_urls

    shown_image = '{"layout": {"images": [{"source": "https://files.example/plot/a.png"}]}}'
    api.call("events.add", {"task": task_id, "type": "plot", "iter": 1, "metric": "m", "plot_str": shown_image})
    api.call("events.add", {"task": task_id, "type": "training_debug_image", "iter": 1, "metric": "m", "url": "https://files.example/b.png"})
    stored = api.call("events.get_task_plots", {"task": task_id})["plots"][0]
    assert stored["plot_len"] == len(shown_image) and stored["source_urls"] == ["https://files.example/plot/a.png"]
    assert file_urls([task_id]) == ["https://files.example/b.png", "https://files.example/plot/a.png"]
