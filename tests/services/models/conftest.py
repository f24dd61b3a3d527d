from __future__ import annotations

import pytest


@pytest.fixture
def create_model(api):
    """Create a model through the API; returns its id."""

    def create(name="resnet50", uri="s3://bucket/model.pt", labels=None, **fields) -> str:
        data = api.call("models.create", {"name": name, "uri": uri, "labels": labels or {}, **fields})
        assert data["created"] is True
        return data["id"]

    return create
