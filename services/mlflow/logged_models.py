"""MLflow 3 logged models: none are kept yet, so every search answers an empty result."""

from __future__ import annotations

from typing import Any

from regista.server.call import Call


def search(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    return {}
