"""Validator choice: fastjsonschema (compiled once) against jsonschema on the models endpoints.

Run: .venv/bin/python -m bench.validators [--rounds N]. Prints microseconds per validation of a typical
request to each endpoint, measured side by side in one run, and the ratio.
"""

from __future__ import annotations

import argparse
import copy
import time

from jsonschema.validators import Draft7Validator

from regista.server.config import default_schema_dir
from regista.server.schema.loader import load_schema
from regista.server.schema.validators import compile_schema

TYPICAL_REQUESTS = {
    "models.get_all": {
        "name": "^resnet", "tags": ["prod", "-archived"], "project": ["p1", "p2"], "ready": True,
        "only_fields": ["id", "name", "uri", "created"], "order_by": ["-created", "name"],
        "page": 2, "page_size": 50, "_any_": {"fields": ["name", "comment"], "pattern": "net"},
    },
    "models.create": {
        "name": "resnet50", "uri": "s3://bucket/model.pt", "labels": {"cat": 1, "dog": 2},
        "tags": ["prod"], "framework": "PyTorch", "design": {"layers": [64, 128]}, "project": "p1",
    },
    "models.edit": {"model": "m1", "name": "renamed", "tags": ["a", "b"], "iteration": 10},
    "models.get_by_id": {"model": "m1"},
    "models.set_ready": {"model": "m1", "publish_task": True},
}  # fmt: skip


def per_call_us(function, data, rounds: int) -> float:
    samples = [copy.deepcopy(data) for _ in range(rounds)]  # defaults are filled in place: fresh input each time
    started = time.perf_counter()
    for sample in samples:
        function(sample)
    return (time.perf_counter() - started) / rounds * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=20000)
    args = parser.parse_args()
    api = load_schema(default_schema_dir())
    print(f"{'endpoint':<20} {'fastjsonschema':>15} {'jsonschema':>12} {'ratio':>7}   (us per request)")
    for name, data in TYPICAL_REQUESTS.items():
        schema = api.endpoints[name].latest.request
        fast = compile_schema(schema)
        prebuilt = Draft7Validator(schema)
        fast_us = per_call_us(fast, data, args.rounds)
        slow_us = per_call_us(prebuilt.validate, data, args.rounds)
        print(f"{name:<20} {fast_us:>15.2f} {slow_us:>12.2f} {slow_us / fast_us:>6.1f}x")


if __name__ == "__main__":
    main()
