"""The process-local copies of recently written tasks: bounded, least recently used first out."""

from __future__ import annotations

from regista.services.events.known_tasks import KnownTasks


def test_copies_are_per_company_and_the_least_recently_used_goes_first():
    known = KnownTasks(capacity=2)
    known.put("a", "t1", {"_rev": 1})
    known.put("a", "t2", {"_rev": 1})
    assert known.get("b", "t1") is None  # another company's task of that id is another task
    assert known.get("a", "t1") == {"_rev": 1}  # t1 used: t2 is now the oldest
    known.put("a", "t3", {"_rev": 1})
    assert known.get("a", "t2") is None and known.get("a", "t1") is not None and known.get("a", "t3") is not None
    known.forget("a", "t1")
    assert known.get("a", "t1") is None
