"""Who is calling: credentials and tokens in, an Identity out; and whether that identity may call.

Three ways in, as ClearML clients use them: `Authorization: Basic base64(access_key:secret)`,
`Authorization: Bearer <token>` (a JWT signed HS256, issued by auth.login), and the token cookie that
auth.login sets. Where credentials live is the IdentityStore's business (services/auth), so the engine
depends on no service.
"""

from __future__ import annotations

import base64
import binascii
import logging
import math
import os
import time
from dataclasses import asdict, dataclass
from collections.abc import Callable
from typing import Any, Protocol

import jwt

from regista.server.browser_sessions import CookieRules
from regista.server.config import Config
from regista.server.errors import ApiError
from regista.server.schema.model import Access

log = logging.getLogger(__name__)

# The built-in signing secret: fine for a laptop, a forgery kit in production (the server says so loudly).
DEFAULT_TOKEN_SECRET = "regista-insecure-default-token-secret"
SYSTEM_ROLE = "system"
ROLES = ("system", "admin", "user", "guest")
ADMIN_ROLES = ("admin", SYSTEM_ROLE)  # who administers a company
_ACTIVE_CACHE_LIMIT = 10_000


@dataclass(frozen=True)
class Identity:
    user: str
    user_name: str
    role: str
    company: str
    company_name: str
    access_key: str = ""  # the credentials it came through
    token_id: str = ""  # set when it came through a token

    def claims(self) -> dict[str, str]:
        return {k: v for k, v in asdict(self).items() if k not in ("access_key", "token_id")}


class IdentityStore(Protocol):
    def identity_for_secret(self, access_key: str, secret: str) -> Identity | None:
        """The identity of valid, unrevoked credentials; None otherwise."""

    def token_active(self, access_key: str, token_id: str) -> bool:
        """Whether a token's credentials are unrevoked and the token was not logged out."""

    def impersonated(self, caller: Identity, user_id: str, act_as: bool = False) -> Identity:
        """The identity a call runs as when `caller` impersonates `user_id` (ApiError if not allowed):
        with the user's role, or with the caller's when `act_as`."""


class LoginThrottle(Protocol):
    """Failed logins counted where every process and node sees them (services/auth/throttle.py)."""

    def blocked_for(self, address: str, access_key: str) -> float:
        """Seconds the address or the access key is still refused for, as this process knows it."""

    def failed(self, address: str, access_key: str) -> float:
        """Count a failed login; the seconds the address or the key is now refused for (0: not)."""


class Authenticator:
    def __init__(
        self,
        config: Config,
        store: IdentityStore,
        api_version: str,
        server_version: str,
        throttle: LoginThrottle | None = None,
        on_failed_login: Callable[[bool], None] | None = None,
    ):
        self._store = store
        self._throttle = throttle
        self._on_failed_login = on_failed_login  # called with whether the login was refused as throttled
        public_url = str(config.get("server.public_url") or "")
        self._cookie_rules = CookieRules(public_url)
        # The session cookie goes over https only when asked, and whenever people reach the server over https.
        self.cookie_secure = bool(config.get("auth.cookie_secure")) or public_url.lower().startswith("https://")
        self._secret = str(config.get("auth.token_secret"))
        self.lifetime_s = int(config.get("auth.token_lifetime_s"))
        self.cookie_name = str(config.get("auth.cookie_name"))
        self._recheck_s = float(config.get("auth.revocation_check_s"))
        self._api_version = api_version
        self._server_version = server_version
        self._active: dict[tuple[str, str], float] = {}  # (access key, token id) -> checked until
        # Tokens whose signature this process verified -> (identity, expiry): a client sends the same token
        # with every call, and checking its signature again costs more than the rest of the check.
        self._verified: dict[str, tuple[Identity, float]] = {}

    @property
    def uses_default_secret(self) -> bool:
        return self._secret == DEFAULT_TOKEN_SECRET

    def authenticate(self, authorization: str | None, cookie: str | None, address: str = "") -> Identity:
        """The caller's identity, or ApiError with the reference's 401 codes (429 for a throttled login)."""
        if authorization:
            scheme, _, value = authorization.strip().partition(" ")
            if scheme.lower() == "bearer":
                return self._from_token(value.strip())
            if scheme.lower() == "basic":
                return self._from_basic(value.strip(), address)
            raise ApiError("bad_auth_type", f"unsupported authorization scheme '{scheme}'; use Bearer or Basic")
        if cookie:
            return self._from_token(cookie)
        raise ApiError("missing_credentials", "send Authorization: Basic or Bearer, or log in for a cookie")

    def authenticate_request(self, req: Any, navigable: bool = False) -> Identity:
        """`authenticate` with a Falcon request's Authorization header and token cookie, then the
        impersonation headers ClearML clients send (an admin calling as another user of its company).

        A request the cookie alone authenticates must come from Regista's own pages (browser_sessions);
        `navigable`: the route may be opened in a tab (a page, a download), to read."""
        authorization, cookie = req.get_header("Authorization"), req.cookies.get(self.cookie_name)
        if cookie and not authorization:
            self._cookie_rules.check(req, navigable)
        try:
            identity = self.authenticate(authorization, cookie, req.remote_addr or "")
        except ApiError as exc:
            if exc.name == "login_throttled":  # the answer's Retry-After (server/response_headers.py)
                req.context.retry_after = exc.data["retry_after"]
            raise
        impersonate = req.get_header("X-ClearML-Impersonate-As") or req.get_header("X-Trains-Impersonate-As")
        act_as = req.get_header("X-ClearML-Act-As") or req.get_header("X-Trains-Act-As")
        if impersonate and act_as:
            raise ApiError("invalid_headers", "send only one of X-ClearML-Impersonate-As and X-ClearML-Act-As")
        if impersonate or act_as:
            return self._store.impersonated(identity, impersonate or act_as, act_as=bool(act_as))
        return identity

    def issue_token(self, identity: Identity, expiration_s: int | None = None) -> tuple[str, int]:
        """A signed token for `identity` and its lifetime in seconds (capped by configuration)."""
        lifetime = min(expiration_s, self.lifetime_s) if expiration_s else self.lifetime_s
        now = int(time.time())
        claims = {
            "identity": identity.claims(),
            "ak": identity.access_key,
            "jti": os.urandom(12).hex(),
            "api_version": self._api_version,
            "server_version": self._server_version,
            "iat": now,
            "exp": now + lifetime,
        }
        return jwt.encode(claims, self._secret, algorithm="HS256"), lifetime

    def forget(self, identity: Identity) -> None:
        """Drop the cached check of a logged-out token (other processes notice within revocation_check_s)."""
        self._active.pop((identity.access_key, identity.token_id), None)

    def _from_basic(self, value: str, address: str) -> Identity:
        try:
            decoded = base64.b64decode(value, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise ApiError("invalid_credentials", "Basic credentials are not base64 of access_key:secret") from None
        access_key, separator, secret = decoded.partition(":")
        throttle = self._throttle
        if throttle is not None and (wait := throttle.blocked_for(address, access_key)) > 0:
            raise self._throttled(wait)  # refused before the secret is checked: guessing gets nowhere
        identity = self._store.identity_for_secret(access_key, secret) if separator and access_key else None
        if identity is None:
            wait = throttle.failed(address, access_key) if throttle is not None else 0.0
            if wait > 0:
                raise self._throttled(wait)
            if self._on_failed_login:
                self._on_failed_login(False)
            raise ApiError("invalid_credentials", "unknown access key or wrong secret")
        return identity

    def _throttled(self, wait: float) -> ApiError:
        if self._on_failed_login:
            self._on_failed_login(True)
        seconds = max(1, math.ceil(wait))
        return ApiError(
            "login_throttled", f"from this address or for this key; try again in {seconds} s",
            retry_after=seconds,
        )

    def _from_token(self, token: str) -> Identity:
        verified = self._verified.get(token)
        if verified is not None and verified[1] > time.time():
            identity = verified[0]
        else:
            identity = self._verify(token)
        if not self._active_now(identity):
            raise ApiError("invalid_token", "the token was revoked or logged out")
        return identity

    def _verify(self, token: str) -> Identity:
        try:
            claims = jwt.decode(token, self._secret, algorithms=["HS256"], options={"require": ["exp", "iat"]})
        except jwt.ExpiredSignatureError:
            raise ApiError("invalid_token", "the token has expired; log in again") from None
        except jwt.InvalidTokenError as exc:
            raise ApiError("invalid_token", f"the token is not valid ({exc})") from None
        identity = _identity_from_claims(claims)
        if identity is None:
            raise ApiError("invalid_token", "the token carries no identity")
        if len(self._verified) >= _ACTIVE_CACHE_LIMIT:
            self._verified.clear()
        self._verified[token] = (identity, float(claims["exp"]))  # a number: jwt.decode checked it
        return identity

    def _active_now(self, identity: Identity) -> bool:
        key = (identity.access_key, identity.token_id)
        now = time.monotonic()
        if self._active.get(key, 0.0) > now:
            return True
        if not self._store.token_active(*key):
            return False
        if len(self._active) >= _ACTIVE_CACHE_LIMIT:
            self._active.clear()
        self._active[key] = now + self._recheck_s
        return True


def check_role(identity: Identity, access: Access, endpoint: str) -> None:
    if identity.role == SYSTEM_ROLE or "*" in access.allow_roles or identity.role in access.allow_roles:
        return
    raise ApiError("role_not_allowed", f"role '{identity.role}' may not call {endpoint}", role=identity.role)


def _identity_from_claims(claims: dict[str, Any]) -> Identity | None:
    raw = claims.get("identity")
    fields = ("user", "user_name", "role", "company", "company_name")
    if not isinstance(raw, dict) or not all(isinstance(raw.get(f), str) for f in fields):
        return None
    if not isinstance(claims.get("ak"), str) or not isinstance(claims.get("jti"), str):
        return None
    return Identity(**{f: raw[f] for f in fields}, access_key=claims["ak"], token_id=claims["jti"])
