"""MLflow 3's logged models (`models:/m-...`) copied from one MLflow API to another: name, type, params,
tags, status, their run, and their artifact files. The target gives each copy its own id; SOURCE_TAG says
which model it came from, and a copy not yet finalized (its files were being copied) is continued."""

from __future__ import annotations

from typing import Any, Callable

from regista.client.transfer.progress import Progress
from regista.client.transfer.rest import MlflowRest, Refused
from regista.client.transfer.runs import SOURCE_TAG, copy_artifact, proxied, source_ref

PAGE = 100
READY = "LOGGED_MODEL_READY"


class LoggedModelCopier:
    def __init__(self, source: MlflowRest, target: MlflowRest, progress: Progress, dry_run: bool, run_of: Callable[[str], str | None]):
        self.source, self.target, self.progress, self.dry_run, self.run_of = source, target, progress, dry_run, run_of
        self.models: dict[str, str] = {}  # source model id -> the copy's

    def copy_experiment(self, source_experiment: str, target_experiment: str | None) -> None:
        present: dict[str, dict[str, Any]] = {}
        if target_experiment:
            for model in self.target.pages("/logged-models/search", "models", method="POST", experiment_ids=[target_experiment], max_results=PAGE):
                tags = {t["key"]: t.get("value") for t in model["info"].get("tags") or []}
                if SOURCE_TAG in tags:
                    present[tags[SOURCE_TAG]] = model["info"]
        for model in self.source.pages("/logged-models/search", "models", method="POST", experiment_ids=[source_experiment], max_results=PAGE):
            try:
                self._copy(model, target_experiment, present.get(source_ref(self.source, "logged-models", model["info"]["model_id"])))
            except Refused as error:
                self.progress.fail(f"logged model {model['info'].get('model_id')} ({model['info'].get('name', '')}): {error}")

    def _copy(self, model: dict[str, Any], target_experiment: str | None, copy: dict[str, Any] | None) -> None:
        info, data = model["info"], model.get("data") or {}
        if copy is not None:
            self.models[info["model_id"]] = copy["model_id"]
            if copy.get("status") == info.get("status") or copy.get("status") == READY:
                self.progress.skip("logged models")
                return
        if self.dry_run:
            self.progress.add("logged models")
            return
        if copy is None:
            tags = [t for t in info.get("tags") or [] if t["key"] != SOURCE_TAG]
            tags.append({"key": SOURCE_TAG, "value": source_ref(self.source, "logged-models", info["model_id"])})
            body = {"experiment_id": target_experiment, "name": info.get("name", ""), "tags": tags,
                    "params": info.get("params") or data.get("params") or []}  # fmt: skip
            if info.get("model_type"):
                body["model_type"] = info["model_type"]
            run = self.run_of(info.get("source_run_id") or "")
            if run:
                body["source_run_id"] = run
            copy = self.target.post("/logged-models", body)["model"]["info"]
            self.models[info["model_id"]] = copy["model_id"]
        self._copy_files(info, copy)
        if info.get("status") == READY:
            self.target.request("PATCH", f"/logged-models/{copy['model_id']}", {"model_id": copy["model_id"], "status": READY})
        self.progress.add("logged models")

    def _copy_files(self, info: dict[str, Any], copy: dict[str, Any]) -> None:
        source_root, target_root = proxied(info.get("artifact_uri", "")), proxied(copy.get("artifact_uri", ""))
        if source_root is None or target_root is None:
            self.progress.fail(f"logged model {info['model_id']}: its files are not served through the server ({info.get('artifact_uri')})")
            return
        present = dict(self.target.proxied_files(target_root))
        for path, size in self.source.proxied_files(source_root):
            if path in present and present[path] == size:
                continue
            copy_artifact(self.source, self.target, f"{source_root}/{path}", f"{target_root}/{path}", size, self.progress)
