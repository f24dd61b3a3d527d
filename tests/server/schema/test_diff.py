"""Schema diffs: every kind of break, compatible changes, deliberate breaks, and our own history."""

from __future__ import annotations

import subprocess
import sys

from regista.server.config import default_schema_dir
from regista.server.schema.diff import diff_between, diff_schemas, version_history
from regista.server.schema.loader import load_schema
from tests.conftest import FIXTURES

OLD, NEW = FIXTURES / "schemas" / "diff_old", FIXTURES / "schemas" / "diff_new"


def messages(changes, breaking=True, deliberate=False) -> set[str]:
    return {str(c) for c in changes if c.breaking == breaking and c.deliberate == deliberate}


def test_every_kind_of_break_is_found():
    changes = diff_schemas(load_schema(OLD), load_schema(NEW))
    assert messages(changes) == {
        "svc.gone v2.1: endpoint or version removed",
        "svc.act v2.1: endpoint or version removed",  # a client at 2.1 finds nothing now
        "svc.fields v2.1: request: field 'dropped' removed",
        "svc.fields v2.1: request.amount: type narrowed from ['number'] to ['integer']",
        "svc.fields v2.1: request: new required field 'extra'",
        "svc.fields v2.1: request.kind: enum narrowed",
        "svc.fields v2.1: request: additionalProperties closed",
        "svc.fields v2.1: request.nested.inner: type narrowed from ['null', 'string'] to ['string']",
        "svc.fields v2.1: response: field 'total' removed",
        "svc.fields v2.1: response.listing[]: type changed from ['string'] to ['integer']",
    }
    assert messages(changes, breaking=False) >= {
        "svc.fields v2.1: request: field 'optional' added",
        "svc.fields v2.1: response: field 'added' added",
        "svc.act v2.5: version added",
    }
    assert messages(changes, deliberate=True) == {"svc.marked v2.1: request: field 'x' removed"}


def test_the_cli_fails_on_unacknowledged_breaks_only():
    broken = subprocess.run(
        [sys.executable, "-m", "regista.cli", "schema", "diff", str(OLD), str(NEW)], capture_output=True, text=True
    )
    assert broken.returncode == 1 and "breaking (10):" in broken.stdout and "marked deliberate (1):" in broken.stdout
    same = subprocess.run(
        [sys.executable, "-m", "regista.cli", "schema", "diff", str(default_schema_dir()), "--from", "2.1", "--to", "2.20"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert same.returncode == 0 and "breaking (0):" in same.stdout


def test_moving_between_versions_of_our_schema():
    changes = diff_between(load_schema(default_schema_dir()), (2, 1), (2, 13))
    assert "models.get_all v2.13: request: field 'system_tags' added" in messages(changes, breaking=False)
    assert {c.endpoint for c in changes if c.deliberate} == {"models.update_for_task"}


def test_every_version_in_our_history_is_compatible_with_the_one_before_or_says_why():
    changes = version_history(load_schema(default_schema_dir()))
    assert [str(c) for c in changes if c.breaking and not c.deliberate] == []
    assert any(c.endpoint == "models.get_all" and not c.breaking for c in changes)
