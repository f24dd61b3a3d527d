"""Failed logins, counted in the database per client address and per access key, so that every worker and
node refuses the same guesser (auth.login_throttle; the engine's LoginThrottle).

A failure increments its address's and its key's counts over a window (`window_s` from the first failure).
Past its threshold, a count refuses further logins for `first_delay_s`, doubled with each further failure
up to `max_delay_s`; the answer is 429 with Retry-After. An address's count holds its own failures only,
so other addresses keep logging in; a key's count holds failures from anywhere, with a higher threshold,
against guessing spread over many addresses.

Each process remembers the refusals it learnt (`blocked_for`: no read of the database on the path of a
good login); a process that has not learnt of one yet checks the secret, and the failure it counts then
refuses it too.
"""

from __future__ import annotations

import time
from typing import Any

from regista.server.config import Config
from regista.services.auth.documents import LoginFailures

SETTINGS = "auth.login_throttle"
MAX_KNOWN = 10_000  # refusals one process remembers; an attacker cycling addresses cannot grow it further


class DatabaseLoginThrottle:
    def __init__(self, config: Config):
        def setting(name: str) -> float:
            return float(config.get(f"{SETTINGS}.{name}"))

        self._limits = {"address": int(setting("max_failures_per_address")), "key": int(setting("max_failures_per_key"))}
        self._window_s = setting("window_s")
        self._first_delay = setting("first_delay_s")
        self._max_delay = setting("max_delay_s")
        self._refused_until: dict[tuple[str, str], float] = {}

    def blocked_for(self, address: str, access_key: str) -> float:
        now = time.time()
        until = max(self._refused_until.get(("address", address), 0.0), self._refused_until.get(("key", access_key), 0.0))
        return max(0.0, until - now)

    def failed(self, address: str, access_key: str) -> float:
        wait = 0.0
        for kind, value in (("address", address), ("key", access_key)):
            if not value:
                continue
            failures = self._count(f"{kind}:{value}")
            delay = self.delay(failures, self._limits[kind])
            if delay > 0:
                self._remember((kind, value), time.time() + delay)
            wait = max(wait, delay)
        return wait

    def delay(self, failures: int, limit: int) -> float:
        """Seconds refused after the `failures`-th failure: none up to the limit, then doubling."""
        if failures <= limit:
            return 0.0
        return min(self._first_delay * 2 ** min(failures - limit - 1, 40), self._max_delay)

    def _count(self, counter: str) -> int:
        """This failure counted: the failures of the counter's window, this one included. Each failure is
        one atomic increment, so failures counted at once by many workers are each counted; reading the
        count after it may see others' too, which only refuses sooner. Times are seconds since the epoch
        (the embedded database keeps a datetime an upsert writes as text)."""
        collection = LoginFailures._get_collection()
        now = time.time()
        found = _increment(collection, counter, now)
        if found["first"] < now - self._window_s:  # the window is over: this failure starts the next one
            restarted = collection.update_one({"_id": counter, "first": found["first"]}, {"$set": {"failures": 1, "first": now}})
            # Not restarted here: another process restarted it meanwhile, without this failure.
            found = {"failures": 1} if restarted.modified_count else _increment(collection, counter, now)
        return int(found["failures"])

    def _remember(self, key: tuple[str, str], until: float) -> None:
        if len(self._refused_until) >= MAX_KNOWN:
            now = time.time()
            self._refused_until = {k: v for k, v in self._refused_until.items() if v > now}
            if len(self._refused_until) >= MAX_KNOWN:
                self._refused_until.clear()
        self._refused_until[key] = until


def _increment(collection: Any, counter: str, now: float) -> dict[str, Any]:
    # $min sets the window's start once (the embedded database drops $setOnInsert in an upsert).
    collection.update_one({"_id": counter}, {"$inc": {"failures": 1}, "$set": {"last": now}, "$min": {"first": now}}, upsert=True)
    return collection.find_one({"_id": counter})


def forget_old_failures(config: Config) -> int:
    """A periodic pass: counters whose window ended long ago are deleted (a new failure starts a new one)."""
    cutoff = time.time() - float(config.get(f"{SETTINGS}.window_s")) - float(config.get(f"{SETTINGS}.max_delay_s"))
    return LoginFailures._get_collection().delete_many({"last": {"$lt": cutoff}}).deleted_count


def sweep_interval_s(config: Config) -> float:
    return float(config.get(f"{SETTINGS}.window_s")) if config.get(f"{SETTINGS}.enabled") else 0.0


def build(config: Config) -> Any:
    """The throttle the engine uses, or None when auth.login_throttle.enabled is false."""
    return DatabaseLoginThrottle(config) if config.get(f"{SETTINGS}.enabled") else None
