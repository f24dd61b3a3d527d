"""What a transfer did, kind by kind: counts, throughput, a line on standard error at most once a second,
and the summary at the end (what was copied, what was there already, what failed and why)."""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass, field
from typing import TextIO

KINDS = ("experiments", "runs", "metric points", "params and tags", "artifact files", "artifact bytes",
         "registered models", "model versions", "prompts", "prompt versions", "logged models", "traces", "assessments",
         "evaluation datasets", "dataset records", "projects", "queues", "tasks", "models", "events", "files", "file bytes")  # fmt: skip
BYTE_KINDS = ("artifact bytes", "file bytes")
REPORT_EVERY_S = 1.0
MAX_FAILURES_SHOWN = 50


@dataclass
class Progress:
    out: TextIO = field(default_factory=lambda: sys.stderr)
    dry_run: bool = False
    copied: dict[str, int] = field(default_factory=dict)
    present: dict[str, int] = field(default_factory=dict)  # already in the target: left as they are
    failures: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)
    _last: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, kind: str, count: int = 1) -> None:
        with self._lock:
            self.copied[kind] = self.copied.get(kind, 0) + count
            self._maybe_report()

    def skip(self, kind: str, count: int = 1) -> None:
        with self._lock:
            self.present[kind] = self.present.get(kind, 0) + count

    def fail(self, what: str) -> None:
        with self._lock:
            self.failures.append(what)
            print(f"failed: {what}", file=self.out, flush=True)

    def _maybe_report(self) -> None:
        now = time.monotonic()
        if now - self._last < REPORT_EVERY_S:
            return
        self._last = now
        print(self._line(now), file=self.out, flush=True)

    def _line(self, now: float) -> str:
        elapsed = max(now - self.started, 1e-9)
        verb = "would copy" if self.dry_run else "copied"
        parts = [f"{kind} {_count(kind, n)} ({_count(kind, n / elapsed)}/s)" for kind, n in self._ordered(self.copied)]
        return f"[{elapsed:6.1f} s] {verb}: " + (", ".join(parts) or "nothing yet")

    def summary(self) -> str:
        elapsed = time.monotonic() - self.started
        verb = "Would copy" if self.dry_run else "Copied"
        lines = [f"{verb} in {elapsed:.1f} s:"]
        lines += [f"  {kind}: {_count(kind, n)}" for kind, n in self._ordered(self.copied)] or ["  nothing"]
        if self.present:
            lines.append("Already in the target (left as they are): " + ", ".join(f"{_count(k, n)} {k}" for k, n in self._ordered(self.present)))
        if self.failures:
            lines.append(f"Not copied ({len(self.failures)}):")
            lines += [f"  {what}" for what in self.failures[:MAX_FAILURES_SHOWN]]
            if len(self.failures) > MAX_FAILURES_SHOWN:
                lines.append(f"  ... and {len(self.failures) - MAX_FAILURES_SHOWN} more")
        return "\n".join(lines)

    @staticmethod
    def _ordered(counts: dict[str, int]) -> list[tuple[str, float]]:
        return sorted(counts.items(), key=lambda item: KINDS.index(item[0]) if item[0] in KINDS else len(KINDS))


def _count(kind: str, number: float) -> str:
    if kind in BYTE_KINDS:
        for unit in ("B", "KB", "MB", "GB"):
            if number < 1024 or unit == "GB":
                return f"{number:,.0f} {unit}" if unit == "B" else f"{number:,.1f} {unit}"
            number /= 1024
    return f"{number:,.0f}"
