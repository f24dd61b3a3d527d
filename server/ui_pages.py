"""GET /login: Regista's login page for the web UI.

The page posts the key pair to auth.login (HTTP Basic, as every client logs in); auth.login answers with
the `regista_token` cookie (HttpOnly, SameSite=Lax), which the browser then sends with each request of
the UI, so no key ever appears in a URL. Then it returns to the page that sent the browser here (`next`,
a path on this server, with the URL's #fragment: the UI's own route).
"""

from __future__ import annotations

import json
from html import escape

import falcon

from regista import __version__

_PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Log in · Regista</title>
<style>
body {{ font-family: system-ui, sans-serif; background: #f5f6f8; margin: 0 }}
main {{ max-width: 24rem; margin: 12vh auto; background: #fff; padding: 1.6rem 2rem; border-radius: 8px;
        box-shadow: 0 1px 4px rgba(0,0,0,.12) }}
h1 {{ font-size: 1.3rem; margin: 0 0 .3rem }} p {{ color: #555; margin: 0 0 1.2rem }}
label {{ display: block; font-size: .9rem; margin: .8rem 0 .2rem }}
input {{ width: 100%; box-sizing: border-box; padding: .5rem; font: inherit; border: 1px solid #bbb; border-radius: 4px }}
button {{ margin-top: 1.2rem; width: 100%; padding: .6rem; font: inherit; border: 0; border-radius: 4px;
          background: #2272b4; color: #fff; cursor: pointer }}
#error {{ color: #b00020; min-height: 1.4em; margin: .8rem 0 0 }}
</style></head>
<body><main>
<h1>Regista</h1>
<p>Log in with a key pair (<code>regista credentials create --user NAME</code> makes one).</p>
<form id="login">
<label for="access_key">Access key</label><input id="access_key" name="access_key" autocomplete="username" required autofocus>
<label for="secret_key">Secret key</label><input id="secret_key" name="secret_key" type="password" autocomplete="current-password" required>
<button type="submit">Log in</button>
<div id="error" role="alert"></div>
</form>
<script>
const next = {next};
document.getElementById("login").addEventListener("submit", async (event) => {{
  event.preventDefault();
  const error = document.getElementById("error");
  error.textContent = "";
  const pair = document.getElementById("access_key").value + ":" + document.getElementById("secret_key").value;
  try {{
    const answer = await fetch({login}, {{method: "POST", credentials: "same-origin",
      headers: {{"Authorization": "Basic " + btoa(pair), "Content-Type": "application/json"}}, body: "{{}}"}});
    if (answer.ok) {{ window.location.replace(next + window.location.hash); return; }}
    const body = await answer.json().catch(() => ({{}}));
    error.textContent = (body.meta && body.meta.result_msg) || ("Login failed (" + answer.status + ")");
  }} catch (failure) {{
    error.textContent = "The server could not be reached: " + failure;
  }}
}});
</script>
<!-- Regista {version} -->
</main></body>
</html>
"""


def safe_next(target: str | None, default: str) -> str:
    """`target` when it is a path on this server; `default` otherwise (never another site: no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    if any(ord(char) < 0x20 for char in target):
        return default
    return target


class LoginPage:
    def __init__(self, default_next: str):
        self._default_next = default_next

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        target = safe_next(req.get_param("next"), self._default_next)
        resp.content_type = falcon.MEDIA_HTML
        resp.set_header("Cache-Control", "no-store")
        # JSON inside <script>: escape "<" so that no value can close the script element.
        resp.text = _PAGE.format(
            next=json.dumps(target).replace("<", "\\u003c"),
            login=json.dumps("/api/auth.login"),
            version=escape(__version__),
        )

    on_head = on_get
