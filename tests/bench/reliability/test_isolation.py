"""The isolation campaign at small size: every endpoint of both schemas, native and MLflow, attacked by
another company with the victim's ids, names and forged tokens; nothing leaks and nothing of the
victim's changes."""

from __future__ import annotations

from bench.reliability import isolation
from regista.server.config import default_schema_dir
from regista.server.schema.loader import load_schema


def test_another_company_sees_and_changes_nothing(tmp_path):
    figures = isolation.run(tmp_path, log=lambda message: None, copies=1, values_per_kind=1)
    assert figures["problems"] == []
    assert figures["leaks"] == 0 and figures["oracles"] == 0
    assert figures["cross_company_writes"] == 0 and figures["cross_company_references"] == 0
    assert figures["server_errors"] == 0
    # Counted here from the schema, not taken from the campaign: a new endpoint must be attacked or exempt.
    endpoints = {f"native:{name}" for name in load_schema(default_schema_dir()).endpoints}
    endpoints |= {f"mlflow:{name}" for name in load_schema(default_schema_dir() / "mlflow").endpoints}
    assert set(isolation.EXEMPT) <= endpoints
    assert figures["endpoints"] == len(endpoints)
    assert figures["endpoints_covered"] == len(endpoints) - len(isolation.EXEMPT)
    assert figures["uncovered"] == 0
    assert figures["calls_native"] > 0 and figures["calls_mlflow"] > 0 and figures["calls_route"] > 0 and figures["calls_forged"] > 0
    assert figures["victim_snapshot_entries"] > 0
