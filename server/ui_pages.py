"""GET /login: Regista's login page for the web UI.

The page posts the key pair to auth.login (HTTP Basic, as every client logs in); auth.login answers with
the `regista_token` cookie (HttpOnly, SameSite=Lax), which the browser then sends with each request of
the UI, so no key ever appears in a URL. Then it returns to the page that sent the browser here (`next`,
a path on this server, with the URL's #fragment: the UI's own route).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from html import escape
from urllib.parse import quote

import falcon

from regista import __version__

_STYLE = """
body { font-family: system-ui, sans-serif; background: #f5f6f8; margin: 0 }
main { max-width: 24rem; margin: 12vh auto; background: #fff; padding: 1.6rem 2rem; border-radius: 8px;
       box-shadow: 0 1px 4px rgba(0,0,0,.12) }
h1 { font-size: 1.3rem; margin: 0 0 .3rem } p { color: #555; margin: 0 0 1.2rem }
label { display: block; font-size: .9rem; margin: .8rem 0 .2rem }
input { width: 100%; box-sizing: border-box; padding: .5rem; font: inherit; border: 1px solid #bbb; border-radius: 4px }
button, a.sso { display: block; box-sizing: border-box; margin-top: 1.2rem; width: 100%; padding: .6rem; font: inherit;
                border: 0; border-radius: 4px; background: #2272b4; color: #fff; cursor: pointer; text-align: center;
                text-decoration: none }
a.sso { background: #3b4452; margin-top: .6rem }
#error { color: #b00020; min-height: 1.4em; margin: .8rem 0 0 }
"""
# Static: the page's values are in data- attributes, so the script's hash (its CSP) never changes.
_SCRIPT = """
const form = document.getElementById("login");
form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const error = document.getElementById("error");
  error.textContent = "";
  const pair = document.getElementById("access_key").value + ":" + document.getElementById("secret_key").value;
  try {
    const answer = await fetch(form.dataset.login, {method: "POST", credentials: "same-origin",
      headers: {"Authorization": "Basic " + btoa(pair), "Content-Type": "application/json"}, body: "{}"});
    if (answer.ok) { window.location.replace(form.dataset.next + window.location.hash); return; }
    const body = await answer.json().catch(() => ({}));
    error.textContent = (body.meta && body.meta.result_msg) || ("Login failed (" + answer.status + ")");
  } catch (failure) {
    error.textContent = "The server could not be reached: " + failure;
  }
});
"""
_FRAME = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{title} · Regista</title>
<style>{style}</style></head>
<body><main>
<h1>Regista</h1>
{body}<script>{script}</script>
<!-- Regista {version} -->
</main></body>
</html>
"""
_LOGIN_BODY = """<p>Log in with a key pair (<code>regista credentials create --user NAME</code> makes one).</p>
<form id="login" data-next="{next}" data-login="/api/auth.login">
<label for="access_key">Access key</label><input id="access_key" name="access_key" autocomplete="username" required autofocus>
<label for="secret_key">Secret key</label><input id="secret_key" name="secret_key" type="password" autocomplete="current-password" required>
<button type="submit">Log in</button>
<div id="error" role="alert">{error}</div>
</form>
{providers}"""


_LOGOUT_SCRIPT = """
document.getElementById("logout").addEventListener("submit", async (event) => {
  event.preventDefault();
  await fetch("/api/auth.logout", {method: "POST", credentials: "same-origin", headers: {"Content-Type": "application/json"},
                                   body: "{}"}).catch(() => null);
  window.location.replace("/login");
});
"""
_LOGOUT_BODY = """<p>Log this browser out of Regista.</p>
<form id="logout"><button type="submit">Log out</button></form>
"""


def _hash_source(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def page_policy() -> str:
    """The login page's Content-Security-Policy: its own style and script, calls to this server only, framed
    nowhere (it is where keys are typed)."""
    return (
        f"default-src 'none'; style-src {_hash_source(_STYLE)}; script-src {_hash_source(_SCRIPT)}; "
        "connect-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    )


def safe_next(target: str | None, default: str) -> str:
    """`target` when it is a path on this server; `default` otherwise (never another site: no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    if any(ord(char) < 0x20 for char in target):
        return default
    return target


class LoginPage:
    def __init__(self, default_next: str, providers: Sequence[tuple[str, str]] = ()):
        self._default_next = default_next
        self._providers = list(providers)  # (name, label) of each single sign-on provider
        self._policy = page_policy()

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        self.render(req, resp)

    on_head = on_get

    def render(self, req: falcon.Request, resp: falcon.Response, error: str = "") -> None:
        """The page, with `error` said under the form (a refused single sign-on)."""
        target = safe_next(req.get_param("next"), self._default_next)
        resp.content_type = falcon.MEDIA_HTML
        resp.set_header("Cache-Control", "no-store")
        resp.set_header("Content-Security-Policy", self._policy)
        resp.set_header("X-Frame-Options", "DENY")
        providers = "".join(
            f'<a class="sso" href="/login/oidc/{quote(name, safe="")}?next={quote(target, safe="")}">Log in with {escape(label)}</a>\n'
            for name, label in self._providers
        )
        body = _LOGIN_BODY.format(next=escape(target), error=escape(error), providers=providers)
        resp.text = _FRAME.format(title="Log in", style=_STYLE, body=body, script=_SCRIPT, version=escape(__version__))


class LogoutPage:
    """GET /logout: a button that ends the browser's session (auth.logout revokes the token and clears the
    cookie), then the login page. A button, not the page itself: a link elsewhere cannot sign anyone out."""

    def __init__(self) -> None:
        self._policy = (f"default-src 'none'; style-src {_hash_source(_STYLE)}; script-src {_hash_source(_LOGOUT_SCRIPT)}; "
                        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")  # fmt: skip

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.content_type = falcon.MEDIA_HTML
        resp.set_header("Cache-Control", "no-store")
        resp.set_header("Content-Security-Policy", self._policy)
        resp.set_header("X-Frame-Options", "DENY")
        resp.text = _FRAME.format(title="Log out", style=_STYLE, body=_LOGOUT_BODY, script=_LOGOUT_SCRIPT, version=escape(__version__))
