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
    assert 'fetch("/api/auth.login"' in page.text and '"Authorization": "Basic "' in page.text
    assert "</script><script>alert" not in page.text and '"/#\\u003c/script>\\u003cscript>alert(1)"' in page.text
    elsewhere = anonymous.client.simulate_get("/login", params={"next": "//evil.example"})
    assert 'const next = "/";' in elsewhere.text
