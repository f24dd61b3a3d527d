"""metrics/get-history: one metric of a run, from the scalar store, in pages."""

from __future__ import annotations

from typing import Any

from regista.server.call import Call
from regista.services.common import scroll
from regista.services.events import scalars
from regista.services.mlflow.common import find_run, run_id_of
from regista.services.mlflow.shapes import wire_value

MAX_HISTORY_PAGE = 25000


def get_history(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    run = find_run(call, run_id_of(request))
    key = request["metric_key"]
    metric, _, variant = key.partition("/")
    points = scalars.history(run["_id"], key, key)
    if not points and variant:  # a ClearML-style (metric, variant) series seen as metric/variant
        points = scalars.history(run["_id"], metric, variant)
    secret = str(call.config.get("auth.token_secret"))
    fingerprint = scroll.query_fingerprint({"run": run["_id"], "key": key})
    start = scroll.decode(secret, request["page_token"], fingerprint) if request.get("page_token") else 0
    limit = int(request.get("max_results") or MAX_HISTORY_PAGE)
    page = points[start : start + limit]
    result: dict[str, Any] = {}
    if page:
        result["metrics"] = [{"key": key, "value": wire_value(v), "timestamp": ts, "step": step} for step, v, ts in page]
    if start + limit < len(points):
        result["next_page_token"] = scroll.encode(secret, start + limit, fingerprint)
    return result
