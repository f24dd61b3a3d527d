"""`python -m bench.reliability [--quick] [--only NAME ...] [--out DIR]` (or `make reliability`).

Runs every reliability campaign against real servers, prints its figures, and writes them all to
DIR/reliability.json (default bench/results); with --only, the campaigns run replace theirs in that file
and the others are kept. Exit status 1 when any campaign run reports a problem.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from bench.reliability import concurrency, corpus, crash, fuzz, isolation, sessions

# Campaign name -> (module, full-size arguments, quick arguments).
CAMPAIGNS: dict[str, tuple[Any, dict[str, Any], dict[str, Any]]] = {
    "fuzz": (fuzz, {"max_examples": 25, "distinct_only": False, "workers": 1}, {"max_examples": 5, "distinct_only": True, "workers": 1}),
    "corpus": (corpus, {}, {}),
    "concurrency": (concurrency, {}, {"requests_per_client": 12, "race_rounds": 1}),
    "crash": (crash, {}, {"writers": 3, "seconds_per_phase": 1.5, "inflight": 3, "slow_events": 1500, "selection_timeout_ms": 1500}),
    "isolation": (isolation, {}, {"copies": 1, "values_per_kind": 1}),
    "sessions": (sessions, {"threads": 16, "addresses": 8, "guesses_per_thread": 30}, {"threads": 6, "addresses": 3, "guesses_per_thread": 10}),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.reliability", description=__doc__.split("\n\n")[1])
    parser.add_argument("--quick", action="store_true", help="small sizes (a few minutes), as in the test suite")
    parser.add_argument("--only", nargs="+", choices=sorted(CAMPAIGNS), help="run only these campaigns")
    parser.add_argument("--out", default=str(Path(__file__).parent.parent / "results"), help="folder of reliability.json")
    args = parser.parse_args(argv)
    names = args.only or list(CAMPAIGNS)
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="regista-reliability-") as scratch:
        for name in names:
            module, full, quick = CAMPAIGNS[name]
            print(f"== {name}", flush=True)
            started = time.monotonic()
            figures = module.run(Path(scratch) / name, log=lambda *parts: print("  ", *parts, flush=True), **(quick if args.quick else full))
            figures["seconds"] = round(time.monotonic() - started, 1)
            results[name] = figures
            _print(name, figures)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    previous = out / "reliability.json"
    campaigns = json.loads(previous.read_text())["campaigns"] if args.only and previous.exists() else {}
    campaigns.update(results)
    report = {
        "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "mode": "quick" if args.quick else "full",
        "machine": f"{platform.node()} {platform.machine()}, Python {platform.python_version()}",
        "summary": summary(campaigns),
        "campaigns": campaigns,
    }
    previous.write_text(json.dumps(report, indent=2, default=str) + "\n")
    print("== summary")
    for key, value in report["summary"].items():
        print(f"  {key}: {value}")
    print(f"written to {out / 'reliability.json'}")
    return 1 if any(figures.get("problems") for figures in results.values()) else 0


def summary(results: dict[str, Any]) -> dict[str, Any]:
    """The headline figures the issue asks for, from whichever campaigns ran."""
    def figure(campaign: str, key: str) -> Any:
        return results.get(campaign, {}).get(key)

    return {
        "requests_fuzzed": figure("fuzz", "requests_answered"),
        "fuzz_test_cases": figure("fuzz", "test_cases"),
        "server_errors_5xx": sum(r.get("server_errors", 0) or 0 for r in results.values()),
        "hostile_inputs_tried": figure("corpus", "inputs_tried"),
        "concurrent_writes_acknowledged": figure("concurrency", "acknowledged"),
        "concurrent_lost_writes": figure("concurrency", "lost_writes"),
        "crash_writes_acknowledged": figure("crash", "writes_acknowledged"),
        "crash_writes_found": figure("crash", "writes_found"),
        "crash_lost_writes": figure("crash", "lost_writes"),
        "isolation_calls": figure("isolation", "calls"),
        "isolation_leaks": figure("isolation", "leaks"),
        "cross_company_writes": figure("isolation", "cross_company_writes"),
        "forged_session_calls_refused": figure("sessions", "forged_refused"),
        "login_guesses_throttled": figure("sessions", "guesses_429"),
        "problems": sum(len(r.get("problems", [])) for r in results.values()),
    }


def _print(name: str, figures: dict[str, Any]) -> None:
    for key, value in figures.items():
        if key != "problems":
            print(f"  {key}: {value}")
    for problem in figures.get("problems", []):
        print(f"  PROBLEM: {problem}")
    print(f"  {name}: {'OK' if not figures.get('problems') else str(len(figures['problems'])) + ' problems'}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
