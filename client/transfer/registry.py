"""The model registry copied: registered models and prompts (description, tags, aliases) and every version
(tags, stage, description, its source, run and logged model mapped to the copies). A version that came from the source carries
SOURCE_TAG; one already there is left alone, so a second copy adds only new versions."""

from __future__ import annotations

from typing import Any, Callable

from regista.client.transfer.progress import Progress
from regista.client.transfer.rest import MlflowRest, Refused
from regista.client.transfer.runs import SOURCE_TAG, RunMark, source_ref

NO_STAGE = "None"
PROMPT_TAG = "mlflow.prompt.is_prompt"
PROMPTS_FILTER = "tags.`mlflow.prompt.is_prompt` = 'true'"  # searches leave prompts out unless asked for them
KINDS = {False: ("registered models", "model versions"), True: ("prompts", "prompt versions")}


class RegistryCopier:
    def __init__(self, source: MlflowRest, target: MlflowRest, progress: Progress, dry_run: bool,
                 runs: dict[str, tuple[str, RunMark]], model_of: Callable[[str], str | None] = lambda _: None):  # fmt: skip
        """`runs`: {source run id: (its artifact uri, its copy)}, to map each version's run and source;
        `model_of`: the copy's id of a source logged model."""
        self.source, self.target, self.progress, self.dry_run, self.runs = source, target, progress, dry_run, runs
        self.model_of = model_of

    def copy_all(self) -> None:
        for prompts in (False, True):
            search = {"filter": PROMPTS_FILTER} if prompts else {}
            for model in self.source.pages("/registered-models/search", "registered_models", max_results=100, **search):
                try:
                    self.copy(model, prompts)
                except Refused as error:
                    self.progress.fail(f"{KINDS[prompts][0][:-1]} {model['name']!r}: {error}")

    def copy(self, model: dict[str, Any], prompt: bool = False) -> None:
        name, (kind, version_kind) = model["name"], KINDS[prompt]
        tags = [t for t in model.get("tags") or [] if t["key"] != PROMPT_TAG] + ([{"key": PROMPT_TAG, "value": "true"}] if prompt else [])
        existing = self.target.get_or_none("/registered-models/get", name=name)
        if self.dry_run:
            self.progress.add(kind) if existing is None else self.progress.skip(kind)
        elif existing is None:
            self.target.post("/registered-models/create", {"name": name, "description": model.get("description", ""), "tags": tags})
            self.progress.add(kind)
        else:
            self.progress.skip(kind)
            for tag in tags:
                self.target.post("/registered-models/set-tag", {"name": name, **tag})
        versions_filter = f"name='{_quoted(name)}'" + (f" AND {PROMPTS_FILTER}" if prompt else "")
        present = self._copied_versions(versions_filter) if existing is not None else {}
        mapping: dict[str, str] = {}
        versions = sorted(self.source.pages("/model-versions/search", "model_versions", filter=versions_filter, max_results=1000),
                          key=lambda v: int(v["version"]))  # fmt: skip
        for version in versions:
            ref = source_ref(self.source, "model-versions", f"{name}/{version['version']}")
            if ref in present:
                mapping[version["version"]] = present[ref]
                self.progress.skip(version_kind)
                continue
            if self.dry_run:
                self.progress.add(version_kind)
                continue
            mapping[version["version"]] = self._copy_version(name, version, ref, prompt)
        for alias in model.get("aliases") or []:
            if alias.get("version") in mapping and not self.dry_run:
                self.target.post("/registered-models/alias", {"name": name, "alias": alias["alias"], "version": mapping[alias["version"]]})

    def _copy_version(self, name: str, version: dict[str, Any], ref: str, prompt: bool) -> str:
        run_id, source = version.get("run_id") or "", version.get("source") or ""
        model_id = self.model_of(version.get("model_id") or "")
        if source.startswith("models:/") and self.model_of(source[len("models:/"):].split("/", 1)[0]):
            logged = source[len("models:/"):].split("/", 1)
            source = "/".join([f"models:/{self.model_of(logged[0])}", *logged[1:]])
        if run_id in self.runs:
            artifact_uri, mark = self.runs[run_id]
            source = _mapped_source(source, run_id, artifact_uri, mark)
            run_id = mark.run_id
        elif run_id:
            run_id = ""  # its run was not copied: the version keeps its source only
        tags = [t for t in version.get("tags") or [] if t["key"] != PROMPT_TAG] + [{"key": SOURCE_TAG, "value": ref}]
        if prompt:
            tags.append({"key": PROMPT_TAG, "value": "true"})
        request = {"name": name, "source": source, "tags": tags, "description": version.get("description", "")}
        if run_id:
            request["run_id"] = run_id
        if model_id:
            request["model_id"] = model_id
        created = self.target.post("/model-versions/create", request)["model_version"]["version"]
        stage = version.get("current_stage") or NO_STAGE
        if stage != NO_STAGE:
            self.target.post("/model-versions/transition-stage", {"name": name, "version": created, "stage": stage,
                                                                  "archive_existing_versions": False})  # fmt: skip
        self.progress.add(KINDS[prompt][1])
        return created

    def _copied_versions(self, versions_filter: str) -> dict[str, str]:
        found = {}
        for version in self.target.pages("/model-versions/search", "model_versions", filter=versions_filter, max_results=1000):
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
