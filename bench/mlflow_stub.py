"""The limit the MLflow client sets: a server answering the benchmark's calls with fixed, minimal, valid
responses and doing no work, under the same gunicorn settings as Regista."""

from __future__ import annotations

import argparse

import falcon

from regista.server import envelope
from regista.server.config import load_config
from regista.server.runtime import gunicorn_options, run_gunicorn

INFO = {
    "run_id": "0" * 32, "run_uuid": "0" * 32, "experiment_id": "1", "run_name": "stub", "user_id": "bench",
    "status": "RUNNING", "start_time": 1, "artifact_uri": "mlflow-artifacts:/1/run/artifacts", "lifecycle_stage": "active",
}  # fmt: skip
EXPERIMENT = {"experiment_id": "1", "name": "stub", "artifact_location": "mlflow-artifacts:/1", "lifecycle_stage": "active"}
ANSWERS = {
    ("experiments", "create"): {"experiment_id": "1"},
    ("experiments", "get"): {"experiment": EXPERIMENT},
    ("experiments", "get-by-name"): {"experiment": EXPERIMENT},
    ("runs", "create"): {"run": {"info": INFO, "data": {}}},
    ("runs", "get"): {"run": {"info": INFO, "data": {}}},
    ("runs", "update"): {"run_info": INFO},
}


class Stub:
    def on_get(self, req: falcon.Request, resp: falcon.Response, group: str, action: str) -> None:
        req.bounded_stream.read()
        resp.content_type = falcon.MEDIA_JSON
        resp.data = envelope.dumps(ANSWERS.get((group, action), {}))

    on_post = on_patch = on_get


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    app = falcon.App()
    app.add_route("/api/2.0/mlflow/{group}/{action}", Stub())
    config = load_config().with_overrides({"server.port": args.port, "server.workers": args.workers})
    run_gunicorn(app, gunicorn_options(config))


if __name__ == "__main__":
    main()
