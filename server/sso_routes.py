"""The web UI's single sign-on routes: GET /login/oidc/<name> starts a login at that provider, and its
/callback finishes it with the browser's session cookie set (the same token auth.login gives). The flow
itself is the services' (services/auth/sso.py, handed in as a SingleSignOn); a refused login is shown on
the login page, with the reason.

The login's state also goes into a short-lived cookie of the browser that started it: a callback carrying
a state another browser started (login CSRF: an attacker's own login slipped into a victim's browser) is
refused.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol
from urllib.parse import quote

import falcon

from regista.server.auth import Authenticator, Identity
from regista.server.ui_pages import LoginPage, safe_next

log = logging.getLogger(__name__)

STATE_COOKIE = "regista_sso_state"
STATE_PATH = "/login/oidc"


class SignOnRefused(Exception):
    """A login the provider or the checks refused: the message is for the person signing in."""


class SingleSignOn(Protocol):
    def providers(self) -> list[tuple[str, str]]: ...

    def begin(self, name: str, next_path: str, callback_url: str) -> tuple[str, str]: ...

    def complete(self, name: str, answer: dict[str, str], browser_state: str, callback_url: str) -> tuple[Identity, str]: ...


class SsoRoutes:
    def __init__(self, sso: SingleSignOn, authenticator: Authenticator, login_page: LoginPage, public_url: str,
                 timeout_s: int, default_next: str):  # fmt: skip
        self._sso = sso
        self._authenticator = authenticator
        self._login_page = login_page
        self._public_url = public_url.rstrip("/")
        self._timeout_s = timeout_s
        self._default_next = default_next

    def on_get(self, req: falcon.Request, resp: falcon.Response, name: str) -> None:
        target = safe_next(req.get_param("next"), self._default_next)
        try:
            where, state = self._sso.begin(name, target, self._callback_url(req, name))
        except Exception as exc:  # SsoError, or the provider unreachable: said on the login page
            self._refused(req, resp, exc)
            return
        resp.set_cookie(STATE_COOKIE, state, max_age=self._timeout_s, path=STATE_PATH, secure=self._authenticator.cookie_secure,
                        http_only=True, same_site="Lax")  # fmt: skip
        raise falcon.HTTPFound(where)

    def on_get_callback(self, req: falcon.Request, resp: falcon.Response, name: str) -> None:
        answer = {key: str(value) for key, value in req.params.items() if isinstance(value, str)}
        resp.unset_cookie(STATE_COOKIE, path=STATE_PATH)
        try:
            identity, target = self._sso.complete(name, answer, req.cookies.get(STATE_COOKIE, ""), self._callback_url(req, name))
        except Exception as exc:
            self._refused(req, resp, exc)
            return
        token, lifetime = self._authenticator.issue_token(identity)
        resp.set_cookie(self._authenticator.cookie_name, token, max_age=lifetime, path="/", secure=self._authenticator.cookie_secure,
                        http_only=True, same_site="Lax")  # fmt: skip
        raise falcon.HTTPSeeOther(safe_next(target, self._default_next))

    def _callback_url(self, req: falcon.Request, name: str) -> str:
        """Where the provider sends the browser back: under server.public_url (registered at the provider),
        or the address this browser used."""
        base = self._public_url or f"{req.scheme}://{req.host}" + (f":{req.port}" if req.port not in (80, 443) else "")
        return f"{base}{STATE_PATH}/{quote(name, safe='')}/callback"

    def _refused(self, req: falcon.Request, resp: falcon.Response, exc: Exception) -> None:
        if not isinstance(exc, SignOnRefused):
            log.error("single sign-on failed", exc_info=exc)
        message = str(exc) if isinstance(exc, SignOnRefused) else f"single sign-on failed: {type(exc).__name__}"
        self._login_page.render(req, resp, error=message)
        resp.status = falcon.HTTP_401


def add_sso(app: falcon.App, sso: SingleSignOn | None, authenticator: Authenticator, login_page: LoginPage, config: Any,
            default_next: str) -> None:  # fmt: skip
    if sso is None:
        return
    routes = SsoRoutes(sso, authenticator, login_page, str(config.get("server.public_url") or ""),
                       int(config.get("auth.oidc.login_timeout_s")), default_next)  # fmt: skip
    app.add_route(STATE_PATH + "/{name}", routes)
    app.add_route(STATE_PATH + "/{name}/callback", routes, suffix="callback")
