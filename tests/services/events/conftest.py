"""What the event services' tests share."""

from __future__ import annotations

import pytest

from regista.services.events import compaction, scalars, series_pages


@pytest.fixture
def foreground_compactor(monkeypatch) -> compaction.Compactor:
    """The passes the writes and reads ask for, run only when the test drains them: a test that runs its
    own passes sees no background pass race them."""
    compactor = compaction.Compactor(background=False)
    monkeypatch.setattr(scalars, "COMPACTOR", compactor)
    monkeypatch.setattr(series_pages, "COMPACTOR", compactor)
    return compactor
