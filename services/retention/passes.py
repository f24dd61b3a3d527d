"""Applying retention policies: deleting each project's console lines, debug images and MLflow traces older
than its policy says, and downsampling its older metric points to what their summaries keep. Run by the server's background job (every retention.interval_sec, in every process: a pass
only deletes what is old enough, so passes running at once delete each event once), by retention.apply
and by `regista gc`. A dry run counts instead of deleting.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from regista.server.config import Config
from regista.services.events import downsampling
from regista.services.events.documents import TaskEvent
from regista.services.events.series_store import overviews
from regista.services.mlflow import traces
from regista.services.models.documents import Model
from regista.services.projects.documents import Project
from regista.services.retention import policies
from regista.services.tasks.documents import Task

log = logging.getLogger(__name__)
DAY_MS = 86_400_000


@dataclass
class Report:
    dry_run: bool = False
    projects: int = 0
    deleted: dict[str, int] = field(default_factory=lambda: {kind: 0 for kind in policies.KINDS})

    def as_dict(self) -> dict[str, int | bool]:
        return {
            "dry_run": self.dry_run, "projects": self.projects,
            "console_events": self.deleted["console_days"], "debug_image_events": self.deleted["debug_images_days"],
            "metric_points": self.deleted[policies.METRIC_POINTS], "traces": self.deleted[policies.TRACES],
        }  # fmt: skip


def apply(config: Config, company: str | None = None, dry_run: bool = False, now_ms: int | None = None) -> Report:
    """Apply the policies of one company (None: every company) now."""
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    report = Report(dry_run=dry_run)
    for project_id, days in policies.effective(config, company).items():
        project = Project._get_collection().find_one({"_id": project_id}, {"company": 1})
        if project is None or (company is not None and project.get("company") != company) or not project.get("company"):
            continue  # gone, another company's, or public (a policy never reaches data every company reads)
        report.projects += 1
        owners = _owners(project["company"], project_id)
        for kind, kept_days in days.items():
            cutoff = now_ms - kept_days * DAY_MS
            if kind == policies.METRIC_POINTS:
                report.deleted[kind] += _downsample(owners, cutoff, dry_run)
                continue
            if kind == policies.TRACES:
                report.deleted[kind] += traces.expire(project["company"], project_id, cutoff, dry_run)
                continue
            query = {"company": project["company"], "type": policies.EVENTS[kind], "timestamp": {"$lt": cutoff}}
            report.deleted[kind] += _delete(owners, query, dry_run)
    return report


def _owners(company: str, project_id: str) -> list[str]:
    """The tasks and models of a project, whose events its policy covers."""
    scope = {"company": company, "project": project_id}
    return [raw["_id"] for collection in (Task, Model) for raw in collection._get_collection().find(scope, {"_id": 1})]


def _delete(owners: list[str], query: dict, dry_run: bool) -> int:
    """One query an owner, by equality: the embedded database serves `task` equal to one id from its
    index, and `task $in [...]` by reading every event of every task (tests/services/test_query_plans.py)."""
    events = TaskEvent._get_collection()
    total = 0
    for owner in owners:
        scoped = {"task": owner, **query}
        total += events.count_documents(scoped) if dry_run else events.delete_many(scoped).deleted_count
    return total


def _downsample(owners: list[str], cutoff: int, dry_run: bool) -> int:
    """Metric points older than `cutoff` removed (compacted ones: a scalar's raw points are young)."""
    removed = 0
    for owner in owners:
        for found in overviews().find({"task": owner}, {"metric": 1, "variant": 1}):
            removed += downsampling.downsample(owner, found["metric"], found["variant"], cutoff, dry_run)
    return removed


def background_pass(config: Config) -> int:
    """The periodic job: every company's policies; the events deleted (logged when not zero)."""
    report = apply(config)
    return sum(report.deleted.values())


def interval_sec(config: Config) -> float:
    return float(config.get("retention.interval_sec", 0) or 0)
