"""Headers every answer gets from the server's policy, whichever route gave it.

- `X-Content-Type-Options: nosniff` on everything: a browser never reads JSON or a file as a page.
- On every HTML page (the web UI's, the login page, the API docs, error pages): a Content-Security-Policy
  with `frame-ancestors 'self'` (and `X-Frame-Options: SAMEORIGIN` for browsers without it), so no other
  site frames Regista to trick clicks; `object-src 'none'` and `base-uri 'self'`; `Referrer-Policy:
  same-origin`, so the URLs of runs and models go to no other site. A page that sets a stricter policy of
  its own (the login page) keeps it. The MLflow UI's scripts and inline styles are its own build's: the
  policy restricts where it is framed, not what it loads.
- `Retry-After` on an answer refused for too many failed logins (server/auth.py puts the delay on the request).
"""

from __future__ import annotations

from typing import Any

PAGE_POLICY = "frame-ancestors 'self'; object-src 'none'; base-uri 'self'"
PAGE_HEADERS = (
    ("Content-Security-Policy", PAGE_POLICY),
    ("X-Frame-Options", "SAMEORIGIN"),
    ("Referrer-Policy", "same-origin"),
)


class ResponseHeaders:
    """Falcon middleware."""

    def process_response(self, req: Any, resp: Any, resource: Any, req_succeeded: bool) -> None:
        resp.set_header("X-Content-Type-Options", "nosniff")
        if (resp.content_type or "").startswith("text/html"):
            for name, value in PAGE_HEADERS:
                if resp.get_header(name) is None:
                    resp.set_header(name, value)
        retry_after = req.context.get("retry_after")
        if retry_after and resp.status_code == 429:
            resp.set_header("Retry-After", str(retry_after))
