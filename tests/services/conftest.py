"""Helpers to put tasks and projects in the database until their own services exist."""

from __future__ import annotations

import pytest

from regista.services.common.values import new_id, utcnow
from regista.services.projects.documents import Project
from regista.services.tasks.documents import ModelItem, Task, TaskModels

@pytest.fixture
def make_task(api):
    """Store a task of the `api` caller's company (or of `company`)."""

    def make(status="created", company=None, inputs=(), outputs=(), execution=None, **fields) -> Task:
        task = Task(
            id=new_id(),
            company=api.company if company is None else company,
            name=fields.pop("name", "training run"),
            status=status,
            created=utcnow(),
            models=TaskModels(
                input=[ModelItem(name=f"in{i}", model=m) for i, m in enumerate(inputs)],
                output=[ModelItem(name=f"out{i}", model=m) for i, m in enumerate(outputs)],
            ),
            execution=execution or {},
            **fields,
        )
        task.save(force_insert=True)
        return task

    return make


@pytest.fixture
def make_project(api):
    def make(name="vision", company=None) -> Project:
        project = Project(id=new_id(), company=api.company if company is None else company, name=name, created=utcnow())
        project.save(force_insert=True)
        return project

    return make


def reload_task(task_id: str) -> Task:
    return Task.objects.get(id=task_id)


@pytest.fixture
def create_model(api):
    """Create a model through the API; returns its id. Not ready unless asked (models.create's default is
    ready, as clearml-server's): most tests take a model through set_ready or publishing."""

    def create(name="resnet50", uri="s3://bucket/model.pt", labels=None, ready=False, **fields) -> str:
        data = api.call("models.create", {"name": name, "uri": uri, "labels": labels or {}, "ready": ready, **fields})
        assert data["created"] is True
        return data["id"]

    return create
