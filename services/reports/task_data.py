"""reports.get_task_data: what a report's widgets show, in one call.

The tasks (or models, with model_events) are listed as their get_all_ex lists them; each widget asked for
(debug images, plots, scalar charts, single values) is then answered for those tasks exactly as the events
service's multi-task call answers it, so a report reads the same data as the pages it embeds. An empty
widget object asks for its defaults; a widget left out is not answered.
"""

from __future__ import annotations

from typing import Any

from regista.server.call import Call
from regista.services.events import metric_events, scalar_reads
from regista.services.models import handlers as models
from regista.services.tasks import queueing

WIDGETS = ("debug_images", "plots", "scalar_metrics_iter_histogram", "single_value_metrics")


def get_task_data(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    model_events = bool(request.get("model_events"))
    criteria = {k: v for k, v in request.items() if k not in (*WIDGETS, "model_events")}
    if model_events:
        entities = models.get_all_ex(call, criteria)["models"]
    else:
        entities = queueing.get_all_ex(call, criteria)["tasks"]
    answer: dict[str, Any] = {"tasks": entities}
    ids = [entity["id"] for entity in entities]
    if not any(request.get(widget) is not None for widget in WIDGETS):
        return answer
    common = {"model_events": model_events}
    if (images := request.get("debug_images")) is not None:
        wanted = images.get("metrics") or [{}]
        metrics = [{"task": task_id, **_metric(m)} for task_id in ids for m in wanted]
        answer["debug_images"] = metric_events.debug_images(call, {**common, "metrics": metrics, "iters": images.get("iters") or 1})["metrics"] if ids else []
    if (plots := request.get("plots")) is not None:
        answer["plots"] = metric_events.get_multi_task_plots(call, {**common, **plots, "tasks": ids})["plots"] if ids else {}
    if (charts := request.get("scalar_metrics_iter_histogram")) is not None:
        answer["scalar_metrics_iter_histogram"] = (
            scalar_reads.multi_task_scalar_metrics_iter_histogram(call, {**common, **charts, "tasks": ids})["metrics"] if ids else {}
        )
    if (values := request.get("single_value_metrics")) is not None:
        answer["single_value_metrics"] = scalar_reads.get_task_single_value_metrics(call, {**common, **values, "tasks": ids})["tasks"] if ids else []
    return answer


def _metric(entry: dict[str, Any]) -> dict[str, Any]:
    """A widget's {metric, variants} as events.debug_images takes it (no metric: all of the task's)."""
    if not entry.get("metric"):
        return {}
    return {"metric": entry["metric"], "variants": entry.get("variants") or []}
