"""The files a ClearML server's entities point at (artifacts, models, debug images, the images of plots and
reports), copied from the source's files server to the target's, and the addresses rewritten to the copies.

Rewriting is a pure string change, done first (so that an entity can be written, and found again, before
its files move); `copy` then moves the files that a rewrite met, each once, streamed."""

from __future__ import annotations

import re
import tempfile
import threading
from urllib.parse import unquote

from regista.client.transfer.clearml_rest import ClearmlRest
from regista.client.transfer.progress import Progress
from regista.client.transfer.rest import CHUNK, Refused

URL_END = r"""[^\s"'<>()\[\]{}\\,]+"""  # a file's address inside text (JSON of plots, markdown of reports) ends there


class FileMover:
    def __init__(self, source: ClearmlRest, target: ClearmlRest, progress: Progress, dry_run: bool):
        self.source, self.target, self.progress, self.dry_run = source, target, progress, dry_run
        self._pattern = re.compile(re.escape(source.files_url) + "/" + URL_END)
        self._copied: set[str] = set()
        self._lock = threading.Lock()

    def rewrite(self, text: str, met: set[str]) -> str:
        """`text` with every address of a source file replaced by the target's; the addresses go to `met`."""
        if not isinstance(text, str) or self.source.files_url not in text:
            return text

        def moved(match: re.Match) -> str:
            met.add(match.group(0))
            return self.target.files_url + match.group(0)[len(self.source.files_url) :]

        return self._pattern.sub(moved, text)

    def copy(self, urls: set[str], owner: str) -> bool:
        """Copy each file (once per transfer); failures are reported against `owner`. Whether all came."""
        whole = True
        for url in sorted(urls):
            with self._lock:
                if url in self._copied:
                    continue
                self._copied.add(url)
            if self.dry_run:
                self.progress.add("files")
                continue
            try:
                self._copy_one(url)
            except Refused as error:
                with self._lock:
                    self._copied.discard(url)
                self.progress.fail(f"{owner}: file {url}: {error}")
                whole = False
        return whole

    def _copy_one(self, url: str) -> None:
        path = unquote(url[len(self.source.files_url) + 1 :].split("?", 1)[0])
        with self.source.download(url) as answer:
            size = answer.headers.get("Content-Length")
            if size is not None and answer.headers.get("Content-Encoding", "identity") == "identity":
                self.target.upload(path, answer.iter_content(CHUNK), int(size))
                sent = int(size)
            else:  # a length the target needs is not known: the file goes through a temporary one
                with tempfile.TemporaryFile() as spooled:
                    for chunk in answer.iter_content(CHUNK):
                        spooled.write(chunk)
                    sent = spooled.tell()
                    spooled.seek(0)
                    self.target.upload(path, iter(lambda: spooled.read(CHUNK), b""), sent)
        self.progress.add("files")
        self.progress.add("file bytes", sent)
