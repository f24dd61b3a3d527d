"""Compare-and-swap writes under contention."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from mongoengine import IntField, ListField, StringField

from regista.server.errors import ApiError
from regista.services.common.atomic import modify
from regista.services.common.documents import RevisionedDocument


class Counter(RevisionedDocument):
    meta = {"collection": "test_counters"}
    id = StringField(primary_key=True)
    value = IntField(default=0)
    seen = ListField(IntField())


def test_concurrent_increments_are_all_kept(clean_db):
    Counter(id="c").save(force_insert=True)

    def bump(n: int) -> None:
        def change(counter: Counter) -> None:
            counter.value += 1
            counter.seen.append(n)

        modify(Counter, {"_id": "c"}, change)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(bump, range(80)))
    counter = Counter.objects.get(id="c")
    assert counter.value == 80
    assert sorted(counter.seen) == list(range(80))
    assert counter.revision == 80


def test_changes_are_reported_and_no_op_writes_skipped(clean_db):
    Counter(id="c", value=1).save(force_insert=True)
    document, changed = modify(Counter, {"_id": "c"}, lambda c: setattr(c, "value", 2))
    assert changed == {"value": 2} and document.revision == 1
    document, changed = modify(Counter, {"_id": "c"}, lambda c: setattr(c, "value", 2))
    assert changed == {} and Counter.objects.get(id="c").revision == 1
    assert modify(Counter, {"_id": "missing"}, lambda c: None) == (None, {})


def test_a_refusal_leaves_the_document_alone(clean_db):
    Counter(id="c", value=1).save(force_insert=True)

    def refuse(counter: Counter) -> None:
        counter.value = 99
        raise ApiError("bad_request", "no")

    with pytest.raises(ApiError):
        modify(Counter, {"_id": "c"}, refuse)
    assert Counter.objects.get(id="c").value == 1
