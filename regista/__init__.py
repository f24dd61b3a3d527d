"""Regista: a schema-first API server for ML experiment tracking, model management and orchestration.

The installed distribution imports as `regista` only: `regista.server` (the engine), `regista.services`
(the API's handlers and documents), `regista.client` (a Python client). `regista.cli` is the composition
root that wires the services into the engine; `regista.schema` and `regista.config` are package data.
"""

__version__ = "0.1.0"
