"""The model registry copied: registered models (description, tags, aliases) and every version (tags,
stage, description, its source and run mapped to the copies). A version that came from the source carries
SOURCE_TAG; one already there is left alone, so a second copy adds only new versions."""

from __future__ import annotations

from typing import Any

from regista.client.transfer.progress import Progress
from regista.client.transfer.rest import MlflowRest, Refused
from regista.client.transfer.runs import SOURCE_TAG, RunMark, source_ref

NO_STAGE = "None"


class RegistryCopier:
    def __init__(self, source: MlflowRest, target: MlflowRest, progress: Progress, dry_run: bool,
                 runs: dict[str, tuple[str, RunMark]]):  # fmt: skip
        """`runs`: {source run id: (its artifact uri, its copy)}, to map each version's run and source."""
        self.source, self.target, self.progress, self.dry_run, self.runs = source, target, progress, dry_run, runs

    def copy_all(self) -> None:
        for model in self.source.pages("/registered-models/search", "registered_models", max_results=100):
            try:
                self.copy(model)
            except Refused as error:
                self.progress.fail(f"registered model {model['name']!r}: {error}")

    def copy(self, model: dict[str, Any]) -> None:
        name = model["name"]
        existing = self.target.get_or_none("/registered-models/get", name=name)
        if self.dry_run:
            self.progress.add("registered models") if existing is None else self.progress.skip("registered models")
        elif existing is None:
            self.target.post("/registered-models/create", {"name": name, "description": model.get("description", ""),
                                                            "tags": model.get("tags") or []})  # fmt: skip
            self.progress.add("registered models")
        else:
            self.progress.skip("registered models")
            for tag in model.get("tags") or []:
                self.target.post("/registered-models/set-tag", {"name": name, **tag})
        present = self._copied_versions(name) if existing is not None else {}
        mapping: dict[str, str] = {}
        versions = sorted(self.source.pages("/model-versions/search", "model_versions", filter=f"name='{_quoted(name)}'", max_results=1000),
                          key=lambda v: int(v["version"]))  # fmt: skip
        for version in versions:
            ref = source_ref(self.source, "model-versions", f"{name}/{version['version']}")
            if ref in present:
                mapping[version["version"]] = present[ref]
                self.progress.skip("model versions")
                continue
            if self.dry_run:
                self.progress.add("model versions")
                continue
            mapping[version["version"]] = self._copy_version(name, version, ref)
        for alias in model.get("aliases") or []:
            if alias.get("version") in mapping and not self.dry_run:
                self.target.post("/registered-models/alias", {"name": name, "alias": alias["alias"], "version": mapping[alias["version"]]})

    def _copy_version(self, name: str, version: dict[str, Any], ref: str) -> str:
        run_id, source = version.get("run_id") or "", version.get("source") or ""
        if run_id in self.runs:
            artifact_uri, mark = self.runs[run_id]
            source = _mapped_source(source, run_id, artifact_uri, mark)
            run_id = mark.run_id
        elif run_id:
            run_id = ""  # its run was not copied: the version keeps its source only
        tags = [*(version.get("tags") or []), {"key": SOURCE_TAG, "value": ref}]
        request = {"name": name, "source": source, "tags": tags, "description": version.get("description", "")}
        if run_id:
            request["run_id"] = run_id
        created = self.target.post("/model-versions/create", request)["model_version"]["version"]
        stage = version.get("current_stage") or NO_STAGE
        if stage != NO_STAGE:
            self.target.post("/model-versions/transition-stage", {"name": name, "version": created, "stage": stage,
                                                                  "archive_existing_versions": False})  # fmt: skip
        self.progress.add("model versions")
        return created

    def _copied_versions(self, name: str) -> dict[str, str]:
        found = {}
        for version in self.target.pages("/model-versions/search", "model_versions", filter=f"name='{_quoted(name)}'", max_results=1000):
            tags = {t["key"]: t.get("value") for t in version.get("tags") or []}
            if SOURCE_TAG in tags:
                found[tags[SOURCE_TAG]] = version["version"]
        return found


def _mapped_source(source: str, run_id: str, artifact_uri: str, mark: RunMark) -> str:
    """A version's source with the source run replaced by its copy (`runs:/<id>/...` or under its artifacts)."""
    if source.startswith(f"runs:/{run_id}/") or source == f"runs:/{run_id}":
        return f"runs:/{mark.run_id}{source[len(f'runs:/{run_id}'):]}"
    if artifact_uri and source.startswith(artifact_uri) and mark.artifact_uri:
        return mark.artifact_uri + source[len(artifact_uri):]
    return source


def _quoted(name: str) -> str:
    return name.replace("'", "\\'")
