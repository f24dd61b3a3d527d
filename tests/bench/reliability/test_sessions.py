"""The sessions campaign at small size: forged cookie calls to every endpoint refused, nothing changed;
concurrent guessing from several addresses throttled per address and per key, others untouched."""

from __future__ import annotations

from bench.reliability import sessions


def test_forged_cookie_calls_and_concurrent_guessing(tmp_path):
    figures = sessions.run(tmp_path, log=lambda message: None, threads=6, addresses=3, guesses_per_thread=10)
    assert figures["problems"] == []
    assert figures["forged_refused"] == figures["forged_calls"] > 1000 and figures["forged_changes"] == 0
    assert figures["own_page_calls_reached"] == figures["endpoints_forged"]
    assert figures["guesses_429"] > 0 and figures["guesses_401"] <= sessions.PER_KEY
    assert figures["untouched_address_login"] == 200 and figures["server_errors"] == 0
