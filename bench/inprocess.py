"""Figures measured without HTTP: schema start-up, request validation, the database's own speed."""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time

import jsonschema
import orjson
import pymongo

from bench.validators import TYPICAL_REQUESTS, per_call_us
from regista.server.config import default_schema_dir
from regista.server.schema.loader import load_schema
from regista.server.schema.validators import compile_schema

# Run in a fresh interpreter so that nothing is warm but what a real start-up would find.
_TIME_LOAD = """
import sys, time
from pathlib import Path
import orjson
from regista.server.schema import compiled
started = time.perf_counter()
schema = compiled.load(Path(sys.argv[1]), Path(sys.argv[2]))
print(orjson.dumps({"ms": (time.perf_counter() - started) * 1000, "endpoints": len(schema.api.endpoints)}).decode())
"""


def _time_load(cache_dir: str) -> float:
    output = subprocess.run(
        [sys.executable, "-c", _TIME_LOAD, str(default_schema_dir()), cache_dir],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return orjson.loads(output)["ms"]


def schema_load_figures(warm_runs: int = 3) -> dict[str, float]:
    """Cold: parse, check and compile with an empty cache. Warm: a start-up with nothing changed."""
    with tempfile.TemporaryDirectory() as cache_dir:
        cold = _time_load(cache_dir)
        warm = statistics.median(_time_load(cache_dir) for _ in range(warm_runs))
    return {"schema_parse_cold_ms": round(cold, 1), "schema_load_ms": round(warm, 1)}


def validation_figures(rounds: int = 20000, naive_rounds: int = 30) -> dict[str, float]:
    """One typical models.get_all request: the compiled validator against plain jsonschema.validate."""
    schema = load_schema(default_schema_dir()).endpoints["models.get_all"].latest.request
    data = TYPICAL_REQUESTS["models.get_all"]
    return {
        "validate_us": round(per_call_us(compile_schema(schema), data, rounds), 2),
        "validate_us_naive": round(per_call_us(lambda d: jsonschema.validate(d, schema), data, naive_rounds), 1),
    }


def db_find_one_rps(uri: str, model_id: str, seconds: float) -> float:
    """pymongo find_one by id from one client, as fast as it goes: the database's own limit."""
    client = pymongo.MongoClient(uri)
    try:
        collection = client.get_default_database()["models"]
        count, deadline = 0, time.perf_counter() + seconds
        started = time.perf_counter()
        while time.perf_counter() < deadline:
            collection.find_one({"_id": model_id})
            count += 1
        return round(count / (time.perf_counter() - started), 1)
    finally:
        client.close()


def db_round_trips(uri: str, calls: int = 500) -> dict[str, float]:
    """One acknowledged insert and one find_one by id on the server's own database, from one pymongo
    client: the floor under any call that stores (or reads) before it answers. Mean ms of `calls` each."""
    client = pymongo.MongoClient(uri)
    try:
        collection = client.get_default_database()["bench_round_trips"]
        ids = [f"probe-{i}" for i in range(calls)]
        started = time.perf_counter()
        for probe_id in ids:
            collection.insert_one({"_id": probe_id, "task": "probe", "iters": [1], "values": [0.5]})
        write_ms = (time.perf_counter() - started) * 1000 / calls
        started = time.perf_counter()
        for probe_id in ids:
            collection.find_one({"_id": probe_id})
        read_ms = (time.perf_counter() - started) * 1000 / calls
        collection.drop()
        return {"db_write_ms": round(write_ms, 3), "db_read_ms": round(read_ms, 3)}
    finally:
        client.close()
