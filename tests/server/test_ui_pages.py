"""The login page: it returns only to paths on this server."""

from __future__ import annotations

import pytest

from regista.server.ui_pages import safe_next


@pytest.mark.parametrize(
    "target, expected",
    [
        ("/", "/"),
        ("/mlflow/?a=1", "/mlflow/?a=1"),
        (None, "/ui/"),
        ("", "/ui/"),
        ("https://elsewhere.example/", "/ui/"),
        ("//elsewhere.example/", "/ui/"),
        ("/\\elsewhere.example/", "/ui/"),
        ("/\r\nSet-Cookie: x", "/ui/"),
        ("relative", "/ui/"),
    ],
)
def test_only_paths_of_this_server_are_returned_to(target, expected):
    assert safe_next(target, "/ui/") == expected


def test_the_page_posts_the_key_pair_to_auth_login_and_returns_to_next(anonymous):
    page = anonymous.client.simulate_get("/login", params={"next": "/#</script><script>alert(1)"})
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert 'data-login="/api/auth.login"' in page.text and '"Authorization": "Basic "' in page.text
    assert "</script><script>alert" not in page.text and 'data-next="/#&lt;/script&gt;&lt;script&gt;alert(1)"' in page.text
    elsewhere = anonymous.client.simulate_get("/login", params={"next": "//evil.example"})
    assert 'data-next="/"' in elsewhere.text


def test_the_login_page_runs_its_own_script_only_and_is_framed_nowhere(anonymous):
    """Keys are typed there: its policy allows its own inline style and script (by their hashes) and
    calls to this server, nothing injected, and no page may frame it."""
    import base64
    import hashlib
    import re

    page = anonymous.client.simulate_get("/login")
    policy = dict(part.strip().split(" ", 1) for part in page.headers["Content-Security-Policy"].split(";"))
    assert policy["default-src"] == "'none'" and policy["frame-ancestors"] == "'none'" and policy["connect-src"] == "'self'"
    (script,) = re.findall(r"<script>(.*?)</script>", page.text, re.DOTALL)
    (style,) = re.findall(r"<style>(.*?)</style>", page.text, re.DOTALL)
    for directive, source in (("script-src", script), ("style-src", style)):
        assert policy[directive] == "'sha256-" + base64.b64encode(hashlib.sha256(source.encode()).digest()).decode() + "'"
    assert page.headers["X-Frame-Options"] == "DENY" and page.headers["X-Content-Type-Options"] == "nosniff"
