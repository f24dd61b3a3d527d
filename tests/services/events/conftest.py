"""What the event services' tests share."""

from __future__ import annotations

import pytest

from regista.services.events import compaction, scalar_tail, scalars, series_pages


@pytest.fixture
def foreground_compactor(monkeypatch) -> compaction.Compactor:
    """The passes the writes and reads ask for, run only when the test drains them: a test that runs its
    own passes sees no background pass race them."""
    compactor = compaction.Compactor(background=False)
    monkeypatch.setattr(scalars, "COMPACTOR", compactor)
    monkeypatch.setattr(series_pages, "COMPACTOR", compactor)
    return compactor


@pytest.fixture
def chunks_at_once(monkeypatch) -> None:
    """Every scalar write stores its raw chunks at once, none held by the task document (scalar_tail): for
    tests of what happens to raw chunks after they are written."""
    monkeypatch.setattr(scalar_tail, "TAIL_POINTS", 0)


@pytest.fixture
def settled_at_once(monkeypatch) -> None:
    """Raw chunks fold the moment they are written (compaction leaves chunks younger than SETTLE)."""
    monkeypatch.setattr(compaction, "SETTLE", compaction.timedelta(0))


@pytest.fixture
def task_id(api) -> str:
    """A new training task of the `api` caller."""
    return api.call("tasks.create", {"name": "training", "type": "training"})["id"]
