"""Which retention policies hold: those set over the API and those of the configuration.

A policy names a project (an MLflow experiment) and, per kind of data, how many days it is kept whole:
console lines and debug images older than that are deleted, metric points downsampled. A
configuration policy (`retention.policies`) wins over an API one for the kinds it names, so an operator's
limit can't be lifted by a company's admin; what no policy names is kept for ever.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from regista.server.config import Config, ConfigError
from regista.server.errors import ApiError
from regista.services.retention.documents import RetentionPolicy

EVENTS = {"console_days": "log", "debug_images_days": "training_debug_image"}  # policy field: event type
METRIC_POINTS = "metric_points_days"  # older metric points downsampled to their summary (downsampling)
TRACES = "traces_days"  # MLflow traces (and their spans, assessments) of the experiment, by start time
KINDS = (*EVENTS, METRIC_POINTS, TRACES)
MAX_DAYS = 36500


@dataclass(frozen=True)
class Policy:
    project: str
    company: str  # "" for a configuration policy, whose project says which company
    days: Mapping[str, int]  # policy field (KINDS) -> days
    source: str  # "api" or "config"
    updated: datetime | None = None


def configured(config: Config) -> list[Policy]:
    """The configuration's policies, checked: a mistake there stops the server at start-up (check_config)."""
    found = []
    for index, entry in enumerate(config.get("retention.policies", None) or []):
        where = f"retention.policies[{index}]"
        if not isinstance(entry, Mapping) or not isinstance(entry.get("project"), str) or not entry["project"]:
            raise ConfigError(f"{where}: a policy is an object naming its project: {{project: <id>, console_days: 30}}")
        unknown = set(entry) - {"project", *KINDS}
        if unknown:
            raise ConfigError(f"{where}: unknown fields {sorted(unknown)} (known: project, {', '.join(KINDS)})")
        days = {kind: _days(entry[kind], f"{where}.{kind}") for kind in KINDS if entry.get(kind) is not None}
        found.append(Policy(entry["project"], "", days, "config"))
    return found


def _days(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_DAYS:
        raise ConfigError(f"{where}: a number of days from 1 to {MAX_DAYS}, not {value!r}")
    return value


def stored(company: str | None = None) -> list[Policy]:
    """The policies set over the API (of one company, or of all)."""
    query = {} if company is None else {"company": company}
    return [
        Policy(raw["_id"], raw["company"], {k: raw[k] for k in KINDS if raw.get(k) is not None}, "api", raw.get("updated"))
        for raw in RetentionPolicy._get_collection().find(query)
    ]


def effective(config: Config, company: str | None = None) -> dict[str, dict[str, int]]:
    """project -> {policy field: days} of every policy that holds (of one company's API policies, or all),
    the configuration's winning kind by kind. Configuration policies of projects of other companies are
    filtered out by the pass, which reads each project's company."""
    merged: dict[str, dict[str, int]] = {}
    for policy in stored(company):
        merged.setdefault(policy.project, {}).update(policy.days)
    for policy in configured(config):
        merged.setdefault(policy.project, {}).update(policy.days)
    return {project: days for project, days in merged.items() if days}


def check_days(request: Mapping[str, Any]) -> dict[str, int | None]:
    """The kinds a retention.set request names (the schema checked their range)."""
    named = {kind: request.get(kind) for kind in KINDS}
    if all(value is None for value in named.values()):
        raise ApiError("validation_error", f"name at least one of {', '.join(KINDS)} (retention.delete removes a policy)")
    return named
