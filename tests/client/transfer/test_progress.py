"""The transfer's progress lines and summary."""

from __future__ import annotations

import io

from regista.client.transfer.progress import Progress


def test_summary_says_what_was_copied_what_was_there_and_what_failed():
    out = io.StringIO()
    progress = Progress(out=out)
    progress.add("runs", 3)
    progress.add("artifact bytes", 3 * 1024 * 1024)
    progress.skip("experiments", 2)
    progress.fail("run r1: refused")
    summary = progress.summary()
    assert "runs: 3" in summary and "artifact bytes: 3.0 MB" in summary
    assert "Already in the target (left as they are): 2 experiments" in summary
    assert "Not copied (1):\n  run r1: refused" in summary
    assert "failed: run r1: refused" in out.getvalue()
    assert "Would copy" in Progress(out=out, dry_run=True).summary()
