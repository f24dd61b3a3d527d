"""The concurrency campaign at a small size: 16 clients on one task and one model, then every race once.

It asserts what the server must hold (no lost write, consistent races, no 5xx), never how fast it is.
"""

from __future__ import annotations

from bench.reliability import concurrency

CLIENTS = 16
REQUESTS_PER_CLIENT = 12  # two of each kind of hammer request per client
RACES = 7  # set_ready, two deletes, two mixes, MLflow run delete, events against reset


def test_concurrent_clients_lose_nothing_and_races_end_consistent(tmp_path):
    figures = concurrency.run(tmp_path, log=lambda message: None, clients=CLIENTS, requests_per_client=REQUESTS_PER_CLIENT, race_rounds=1)

    assert figures["problems"] == []
    assert figures["server_errors"] == 0
    assert figures["lost_writes"] == 0
    assert figures["points_found"] == figures["points_acknowledged"] > 0
    assert figures["races"] == RACES and figures["inconsistent_races"] == 0
    # Every hammer request plus 16 contenders per race; the losers of each race are refused.
    assert figures["requests"] == CLIENTS * REQUESTS_PER_CLIENT + RACES * CLIENTS
    assert figures["acknowledged"] + figures["refused"] == figures["requests"]
    assert figures["refused"] >= 3 * (CLIENTS - 1)  # set_ready, models.delete and tasks.delete losers at least
