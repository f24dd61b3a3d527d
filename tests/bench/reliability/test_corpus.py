"""The hostile-input corpus against a real server: clear errors, no data changed, no file escaped."""

from __future__ import annotations

from bench.reliability import corpus


def test_the_corpus_against_a_served_server(tmp_path):
    figures = corpus.run(tmp_path, log=lambda *_: None)
    assert figures["problems"] == [], "\n".join(figures["problems"])
    assert figures["inputs_tried"] == len(corpus.HOSTILE) + len(corpus.TRAVERSALS) + 1
