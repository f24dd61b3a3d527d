"""What other services read about queues: names (workers service) and the workers listening (get_all_ex)."""

from __future__ import annotations

from regista.services.queues.lookup import queue_names, queue_workers
from tests.services.queues.test_handlers import V, new_queue


class FakeCall:
    def __init__(self, company: str):
        self.company = company


def test_queue_names_of_the_callers_company(api):
    queue = new_queue(api, "gpu", display_name="GPU farm")
    plain = new_queue(api, "cpu")
    other = new_queue(api.as_user(company="other"), "gpu")
    names = queue_names(FakeCall(api.company), [queue, plain, other, "missing"])
    assert names == {
        queue: {"id": queue, "name": "gpu", "display_name": "GPU farm"},
        plain: {"id": plain, "name": "cpu", "display_name": None},
    }


def test_queue_workers_map_every_queue(api):
    queue = new_queue(api)
    workers = queue_workers(FakeCall(api.company), [queue, "other"])
    assert set(workers) == {queue, "other"} and all(isinstance(found, list) for found in workers.values())
    assert api.call("queues.get_all_ex", {"id": [queue]}, version=V)["queues"][0]["workers"] == workers[queue]
