"""One run copied from a source MLflow API to a target: its record, params, tags, every metric point,
dataset inputs and artifact files, resumably.

A copied run carries the tag SOURCE_TAG (where it came from) from its creation, and PARTIAL_TAG until
everything is copied. A run found complete is left alone; a partial one is continued: params and tags
are sent again (the same values), each metric's points already in the target are skipped (the source
answers a history in the same order each time), files already there with their size are not sent again.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from regista.client.transfer.progress import Progress
from regista.client.transfer.rest import MlflowRest, Refused

SOURCE_TAG = "regista.imported_from"
PARTIAL_TAG = "regista.import_partial"
PARENT_TAG = "mlflow.parentRunId"
HISTORY_PAGE = 25_000  # points read from the source at a time
READ_AHEAD = 2  # pages read while earlier ones are written
BATCH_METRICS, BATCH_PARAMS, BATCH_TAGS = 1000, 100, 100  # MLflow's log-batch limits
ARTIFACT_SCHEMES = ("mlflow-artifacts:",)


@dataclass
class RunMark:
    """A run of the target that came from the source: its id, and whether it is whole."""

    run_id: str
    partial: bool
    artifact_uri: str


def source_ref(source: MlflowRest, kind: str, entity_id: str) -> str:
    return f"{source.url}#{kind}/{entity_id}"


def copied_runs(target: MlflowRest, experiment_id: str) -> dict[str, RunMark]:
    """{source ref: mark} of the target experiment's runs that came from a source (deleted ones too)."""
    found = {}
    for run in target.pages("/runs/search", "runs", method="POST", experiment_ids=[experiment_id], run_view_type="ALL", max_results=1000):
        tags = {t["key"]: t.get("value") for t in run.get("data", {}).get("tags") or []}
        if SOURCE_TAG in tags:
            found[tags[SOURCE_TAG]] = RunMark(run["info"]["run_id"], PARTIAL_TAG in tags, run["info"].get("artifact_uri", ""))
    return found


class RunCopier:
    def __init__(self, source: MlflowRest, target: MlflowRest, progress: Progress, dry_run: bool):
        self.source, self.target, self.progress, self.dry_run = source, target, progress, dry_run

    def copy(self, run: dict[str, Any], target_experiment: str, mark: RunMark | None) -> RunMark | None:
        """The run in the target (created or continued); None in a dry run."""
        info, data = run["info"], run.get("data") or {}
        if mark is not None and not mark.partial:
            self.progress.skip("runs")
            return mark
        if self.dry_run:
            self._count_dry(run)
            return None
        tags = {t["key"]: t.get("value", "") for t in data.get("tags") or []}
        if mark is None:
            created = self.target.post("/runs/create", {
                "experiment_id": target_experiment, "run_name": info.get("run_name") or tags.get("mlflow.runName", ""),
                "start_time": info.get("start_time"),
                "tags": [{"key": SOURCE_TAG, "value": source_ref(self.source, "runs", info["run_id"])}, {"key": PARTIAL_TAG, "value": "true"}],
            })["run"]["info"]  # fmt: skip
            mark = RunMark(created["run_id"], True, created.get("artifact_uri", ""))
        own_tags = [{"key": k, "value": v} for k, v in tags.items() if k not in (PARENT_TAG, SOURCE_TAG, PARTIAL_TAG)]
        params = [{"key": p["key"], "value": p.get("value", "")} for p in data.get("params") or []]
        for start in range(0, len(params), BATCH_PARAMS):
            self.target.post("/runs/log-batch", {"run_id": mark.run_id, "params": params[start:start + BATCH_PARAMS]})
        for start in range(0, len(own_tags), BATCH_TAGS):
            self.target.post("/runs/log-batch", {"run_id": mark.run_id, "tags": own_tags[start:start + BATCH_TAGS]})
        self.progress.add("params and tags", len(params) + len(own_tags))
        for key in sorted({m["key"] for m in data.get("metrics") or []}):
            self._copy_metric(info["run_id"], mark.run_id, key)
        datasets = (run.get("inputs") or {}).get("dataset_inputs") or []
        if datasets:
            self.target.post("/runs/log-inputs", {"run_id": mark.run_id, "datasets": datasets})
        self._copy_artifacts(info, mark)
        update = {"run_id": mark.run_id, "status": info.get("status", "FINISHED")}
        if info.get("end_time"):
            update["end_time"] = info["end_time"]
        self.target.post("/runs/update", update)
        return mark

    def finish(self, run: dict[str, Any], mark: RunMark, parent: str | None) -> None:
        """After every run of the experiment exists: its parent, its lifecycle, and the end of PARTIAL_TAG."""
        if parent:
            self.target.post("/runs/set-tag", {"run_id": mark.run_id, "key": PARENT_TAG, "value": parent})
        self.target.post("/runs/delete-tag", {"run_id": mark.run_id, "key": PARTIAL_TAG})  # a deleted run is read-only
        if run["info"].get("lifecycle_stage") == "deleted":
            self.target.post("/runs/delete", {"run_id": mark.run_id})
        self.progress.add("runs")

    def _copy_metric(self, source_run: str, target_run: str, key: str) -> None:
        already = sum(1 for _ in self._history(self.target, target_run, key))
        batch: list[dict[str, Any]] = []
        for index, point in enumerate(_read_ahead(self._history(self.source, source_run, key))):
            if index < already:
                continue
            batch.append({"key": key, "value": point["value"], "timestamp": point.get("timestamp", 0), "step": point.get("step", 0)})
            if len(batch) == BATCH_METRICS:
                self._log_points(target_run, batch)
                batch = []
        if batch:
            self._log_points(target_run, batch)
        if already:
            self.progress.skip("metric points", already)

    def _log_points(self, run_id: str, points: list[dict[str, Any]]) -> None:
        self.target.post("/runs/log-batch", {"run_id": run_id, "metrics": points})
        self.progress.add("metric points", len(points))

    @staticmethod
    def _history(server: MlflowRest, run_id: str, key: str) -> Iterator[dict[str, Any]]:
        return server.pages("/metrics/get-history", "metrics", run_id=run_id, metric_key=key, max_results=HISTORY_PAGE)

    def _copy_artifacts(self, info: dict[str, Any], mark: RunMark) -> None:
        files = list(self._files(self.source, info["run_id"], ""))
        if not files:
            return
        source_root, target_root = proxied(info.get("artifact_uri", "")), proxied(mark.artifact_uri)
        if source_root is None or target_root is None:
            uri = info.get("artifact_uri") if source_root is None else mark.artifact_uri
            self.progress.fail(f"run {info['run_id']}: {len(files)} artifact files not copied: {uri} is not served "
                               "through the server (only mlflow-artifacts: roots are)")  # fmt: skip
            return
        present = {path: size for path, size in self._files(self.target, mark.run_id, "")}
        for path, size in files:
            if present.get(path) == size:
                self.progress.skip("artifact files")
                continue
            copy_artifact(self.source, self.target, f"{source_root}/{path}", f"{target_root}/{path}", size, self.progress)

    def _files(self, server: MlflowRest, run_id: str, path: str) -> Iterator[tuple[str, int | None]]:
        listed = server.get("/artifacts/list", run_id=run_id, **({"path": path} if path else {}))
        for entry in listed.get("files") or []:
            if entry.get("is_dir"):
                yield from self._files(server, run_id, entry["path"])
            else:
                yield entry["path"], int(entry["file_size"]) if entry.get("file_size") is not None else None

    def _count_dry(self, run: dict[str, Any]) -> None:
        data = run.get("data") or {}
        self.progress.add("runs")
        self.progress.add("params and tags", len(data.get("params") or []) + len(data.get("tags") or []))
        for key in sorted({m["key"] for m in data.get("metrics") or []}):
            self.progress.add("metric points", sum(1 for _ in self._history(self.source, run["info"]["run_id"], key)))
        try:
            files = list(self._files(self.source, run["info"]["run_id"], ""))
        except Refused as error:
            self.progress.fail(f"run {run['info']['run_id']}: its artifacts cannot be listed: {error}")
            return
        self.progress.add("artifact files", len(files))
        self.progress.add("artifact bytes", sum(size or 0 for _, size in files))


def _read_ahead(points: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """The points, read by a thread of their own up to READ_AHEAD pages ahead of the writes, so that reading
    the source and writing the target overlap (memory stays bounded by those pages)."""
    pages: queue.Queue = queue.Queue(maxsize=READ_AHEAD)
    done = object()
    stop = threading.Event()

    def read() -> None:
        page: list[dict[str, Any]] = []
        try:
            for point in points:
                page.append(point)
                if len(page) == HISTORY_PAGE:
                    while not stop.is_set():
                        try:
                            pages.put(page, timeout=0.5)
                            break
                        except queue.Full:
                            continue
                    page = []
            pages.put(page)
            pages.put(done)
        except BaseException as error:  # handed to the writer, which raises it
            pages.put(error)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        while (page := pages.get()) is not done:
            if isinstance(page, BaseException):
                raise page
            yield from page
    finally:
        stop.set()


def copy_artifact(source: MlflowRest, target: MlflowRest, source_path: str, target_path: str, size: int | None, progress: Progress) -> None:
    """One file from the source's artifact proxy to the target's, streamed."""
    with source.download(source_path) as answer:
        answer.raw.decode_content = True
        target.upload(target_path, answer.raw, size)
    progress.add("artifact files")
    progress.add("artifact bytes", size or 0)


def proxied(artifact_uri: str) -> str | None:
    """The path under the server's artifact proxy of an `mlflow-artifacts:` root (with or without a host)."""
    if not artifact_uri.startswith(ARTIFACT_SCHEMES):
        return None
    rest = artifact_uri.split(":", 1)[1]
    if rest.startswith("//"):
        rest = rest[2:].split("/", 1)[1] if "/" in rest[2:] else ""
    return rest.strip("/")
