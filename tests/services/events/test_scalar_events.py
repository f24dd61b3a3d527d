"""events.get_task_events with event_type training_stats_scalar: every point of every scalar, in pages."""

from __future__ import annotations

import orjson


def test_every_scalar_point_comes_back_as_events_page_by_page(api, make_task):
    task = make_task(status="in_progress")
    lines = [{"task": task.id, "type": "training_stats_scalar", "metric": metric, "variant": "train", "iter": i,
              "value": i * scale, "timestamp": 1_700_000_000_000 + i} for metric, scale in (("loss", 0.5), ("acc", 2.0)) for i in range(30)]  # fmt: skip
    lines.append({**lines[3], "value": 99.0, "timestamp": 1_700_000_009_999})  # an iteration reported twice
    api.call("events.add_batch", None, body=b"\n".join(orjson.dumps(line) for line in lines), headers={"Content-Type": "application/json-lines"})
    seen, scroll_id = [], None
    while True:
        page = api.call("events.get_task_events", {"task": task.id, "event_type": "training_stats_scalar", "batch_size": 7,
                                                   **({"scroll_id": scroll_id} if scroll_id else {})})  # fmt: skip
        if not page["events"]:
            break
        assert page["returned"] == len(page["events"]) <= 7
        seen += page["events"]
        scroll_id = page["scroll_id"]
    found = sorted((e["metric"], e["iter"], e["value"], e["timestamp"]) for e in seen)
    assert found == sorted((e["metric"], e["iter"], e["value"], e["timestamp"]) for e in lines)
    assert {(e["type"], e["task"], e["variant"]) for e in seen} == {("training_stats_scalar", task.id, "train")}
