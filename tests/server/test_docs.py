"""The documentation page, rendered by a real browser (headless Chromium) from Regista's own assets."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from regista.server.schema.model import format_version
from tests.conftest import serve_in_thread


@pytest.fixture
def served(anonymous):
    with serve_in_thread(anonymous.client.app) as url:
        yield url


def rendered_dom(url: str, profile_dir) -> str:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "Chromium is missing: `make test` installs Debian's chromium"
    command = [
        chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-quic",
        f"--user-data-dir={profile_dir}", "--virtual-time-budget=20000", "--dump-dom", url,
    ]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, timeout=120).stdout


def test_the_docs_page_lists_the_models_endpoints(served, tmp_path, compiled_schema):
    latest = format_version(compiled_schema.api.max_version)  # the page opens on the highest version
    dom = rendered_dom(f"{served}/api/docs", tmp_path / "profile")
    assert "Regista API" in dom
    for endpoint in ("models.get_all", "models.create", "models.add_or_update_metadata", "auth.login"):
        assert f"/v{latest}/{endpoint}" in dom, endpoint
    assert "models.get_all_ex" not in dom  # internal
    for version in ("2.1", "2.13", "2.15", "2.20", latest):
        assert f'<option value="/api/openapi.json?version={version}"' in dom, version  # the version selector


def test_assets_come_from_the_installed_package(anonymous):
    result = anonymous.client.simulate_get("/api/docs/static/swagger-ui-bundle.js")
    assert result.status_code == 200 and "SwaggerUIBundle" in result.text[:2000]
    assert anonymous.client.simulate_get("/api/docs/static/index.html").status_code == 404
