"""Reliability campaigns: fuzzing, hostile input, concurrency, crash safety, cross-company isolation.

Each campaign is a module with `run(work_dir: Path, log=print, **sizes) -> dict`: it starts what it needs
(a real `regista serve` on a fresh data folder under work_dir), drives it, and returns its figures (plain
ints, floats and strings) plus `"problems"`, a list of one-line descriptions of everything that went wrong
(empty when the server held). The test suite runs each campaign with small sizes and asserts that
`problems` is empty; `python -m bench.reliability` (`make reliability`) runs them at full size and writes
the figures to bench/results/reliability.json.
"""
