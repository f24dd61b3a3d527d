"""MLflow 3's GenAI entities copied from one MLflow API to another: traces (their info, spans and
assessments) and evaluation datasets (with their records).

Trace ids are kept (an OpenTelemetry trace id is unique everywhere), so a trace already in the target is
left alone; one being copied carries PARTIAL_TAG until its spans and assessments are there, and is redone
from its spans if a copy stopped in between. Its run (metadata `mlflow.sourceRun`) and logged model
(`mlflow.modelId`) are mapped to the copies. The spans travel as MLflow's traces.json file, uploaded to
the artifact location the target gives the trace: what MLflow's client does when a server does not take
OpenTelemetry spans, so both Regista and MLflow's server read them back.

Evaluation datasets carry SOURCE_TAG in their tags; their records are merged (MLflow upserts them by their
inputs), so merging them again after an interruption changes nothing.
"""

from __future__ import annotations

import io
import json
from typing import Any, Callable

from regista.client.transfer.progress import Progress
from regista.client.transfer.rest import MlflowRest, Refused
from regista.client.transfer.runs import PARTIAL_TAG, SOURCE_TAG, proxied, source_ref

SERVER_TAGS = ("mlflow.artifactLocation", "mlflow.trace.spansLocation")  # where the source kept it: the target says its own
TRACES_PAGE, DATASETS_PAGE, RECORDS_PAGE = 500, 1000, 1000
RECORD_FIELDS = ("inputs", "outputs", "expectations", "source", "tags")
ASSESSMENT_DROPPED = ("assessment_id", "trace_id", "overrides")


class GenaiCopier:
    def __init__(self, source: MlflowRest, target: MlflowRest, progress: Progress, dry_run: bool,
                 run_of: Callable[[str], str | None], model_of: Callable[[str], str | None]):  # fmt: skip
        """`run_of`, `model_of`: the copy's id of a source run or logged model (None if not copied)."""
        self.source, self.target, self.progress, self.dry_run = source, target, progress, dry_run
        self.run_of, self.model_of = run_of, model_of

    # --- traces ---------------------------------------------------------------------------------------

    def copy_traces(self, source_experiment: str, target_experiment: str | None) -> None:
        location = {"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": source_experiment}}
        for info in self.source.pages3("/traces/search", "traces", locations=[location], max_results=TRACES_PAGE):
            try:
                self._copy_trace(info, target_experiment)
            except Refused as error:
                self.progress.fail(f"trace {info.get('trace_id')}: {error}")

    def _copy_trace(self, info: dict[str, Any], target_experiment: str | None) -> None:
        trace_id = info["trace_id"]
        present = self.target.get_or_none3(f"/traces/{trace_id}") if target_experiment else None
        partial = present is not None and PARTIAL_TAG in ((present.get("trace") or {}).get("trace_info") or {}).get("tags", {})
        if present is not None and not partial:
            self.progress.skip("traces")
            return
        if self.dry_run:
            self.progress.add("traces")
            self.progress.add("assessments", len(info.get("assessments") or []))
            return
        spans = self.source.spans(trace_id)
        copied = {key: value for key, value in info.items() if key not in ("assessments", "trace_location")}
        copied["trace_location"] = {"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": target_experiment}}
        copied["tags"] = {**{k: v for k, v in (info.get("tags") or {}).items() if k not in SERVER_TAGS}, PARTIAL_TAG: "true"}
        metadata = dict(info.get("trace_metadata") or {})
        for key, mapped in (("mlflow.sourceRun", self.run_of), ("mlflow.modelId", self.model_of)):
            if metadata.get(key):
                metadata[key] = mapped(metadata[key]) or metadata[key]
        copied["trace_metadata"] = metadata
        answer = self.target.post3("/traces", {"trace": {"trace_info": copied}})["trace"]["trace_info"]
        root = proxied(answer.get("tags", {}).get("mlflow.artifactLocation", ""))
        if root is None:
            raise Refused(f"trace {trace_id}", 0, "the target gave it no artifact location its proxy serves")
        body = json.dumps({"spans": spans}).encode()
        self.target.upload(f"{root}/traces.json", io.BytesIO(body), len(body))
        if partial:  # a copy stopped halfway: its assessments go again, from none
            for old in (present["trace"]["trace_info"].get("assessments") or []):
                self.target.request3("DELETE", f"/traces/{trace_id}/assessments/{old['assessment_id']}",
                                     {"trace_id": trace_id, "assessment_id": old["assessment_id"]})  # fmt: skip
        self._copy_assessments(trace_id, info.get("assessments") or [])
        self.target.request3("DELETE", f"/traces/{trace_id}/tags", {"key": PARTIAL_TAG})
        self.progress.add("traces")

    def _copy_assessments(self, trace_id: str, assessments: list[dict[str, Any]]) -> None:
        mapped: dict[str, str] = {}
        overridden = {a["overrides"] for a in assessments if a.get("overrides")}  # made invalid by their overrides' copies
        for assessment in sorted(assessments, key=lambda a: (a.get("create_time") or "", a.get("assessment_id") or "")):
            body = {k: v for k, v in assessment.items() if k not in ASSESSMENT_DROPPED}
            if assessment.get("overrides") in mapped:
                body["overrides"] = mapped[assessment["overrides"]]
            body["trace_id"] = trace_id
            created = self.target.post3(f"/traces/{trace_id}/assessments", {"assessment": body})["assessment"]
            mapped[assessment["assessment_id"]] = created["assessment_id"]
            if assessment.get("valid") is False and created.get("valid") is not False and assessment["assessment_id"] not in overridden:
                self.target.request3("PATCH", f"/traces/{trace_id}/assessments/{created['assessment_id']}",
                                     {"assessment": {"valid": False}, "update_mask": "valid"})  # fmt: skip
            self.progress.add("assessments")

    # --- evaluation datasets --------------------------------------------------------------------------

    def copy_datasets(self, experiments: dict[str, str | None]) -> None:
        """`experiments`: {source experiment id: its copy's id}; the datasets of those experiments."""
        if not experiments:
            return
        found = {d["dataset_id"]: d for d in self.source.pages3("/datasets/search", "datasets", experiment_ids=list(experiments),
                                                                 max_results=DATASETS_PAGE)}  # fmt: skip
        targets = [e for e in experiments.values() if e]
        present = {}
        if targets:
            for dataset in self.target.pages3("/datasets/search", "datasets", experiment_ids=targets, max_results=DATASETS_PAGE):
                tags = _json_tags(dataset)
                if SOURCE_TAG in tags:
                    present[tags[SOURCE_TAG]] = (dataset["dataset_id"], PARTIAL_TAG in tags)
        for dataset in found.values():
            try:
                self._copy_dataset(dataset, experiments, present.get(source_ref(self.source, "datasets", dataset["dataset_id"])))
            except Refused as error:
                self.progress.fail(f"evaluation dataset {dataset.get('name')!r}: {error}")

    def _copy_dataset(self, dataset: dict[str, Any], experiments: dict[str, str | None], present: tuple[str, bool] | None) -> None:
        if present is not None and not present[1]:
            self.progress.skip("evaluation datasets")
            return
        records = list(self._records(self.source, dataset["dataset_id"]))
        if self.dry_run:
            self.progress.add("evaluation datasets")
            self.progress.add("dataset records", len(records))
            return
        if present is None:
            source_ids = self.source.get3(f"/datasets/{dataset['dataset_id']}/experiment-ids").get("experiment_ids") or []
            tags = {**_json_tags(dataset), SOURCE_TAG: source_ref(self.source, "datasets", dataset["dataset_id"]), PARTIAL_TAG: "true"}
            body = {"name": dataset["name"], "experiment_ids": [experiments[e] for e in source_ids if experiments.get(e)], "tags": json.dumps(tags)}
            body.update({k: dataset[k] for k in ("source_type", "source", "schema", "profile") if dataset.get(k)})
            target_id = self.target.post3("/datasets/create", body)["dataset"]["dataset_id"]
        else:
            target_id = present[0]
        for start in range(0, len(records), RECORDS_PAGE):
            page = [{k: r[k] for k in RECORD_FIELDS if r.get(k) is not None} for r in records[start : start + RECORDS_PAGE]]
            self.target.post3(f"/datasets/{target_id}/records", {"records": json.dumps(page)})
        self.target.request3("DELETE", f"/datasets/{target_id}/tags/{PARTIAL_TAG}", None)
        self.progress.add("evaluation datasets")
        self.progress.add("dataset records", len(records))

    @staticmethod
    def _records(server: MlflowRest, dataset_id: str):
        token = None
        while True:
            page = server.get3(f"/datasets/{dataset_id}/records", max_results=RECORDS_PAGE, **({"page_token": token} if token else {}))
            records = page.get("records") or "[]"
            yield from (json.loads(records) if isinstance(records, str) else records)
            token = page.get("next_page_token")
            if not token:
                return


def _json_tags(dataset: dict[str, Any]) -> dict[str, str]:
    tags = dataset.get("tags") or {}
    if isinstance(tags, str):
        try:
            tags = json.loads(tags)
        except ValueError:
            return {}
    return tags if isinstance(tags, dict) else {}
