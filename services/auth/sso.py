"""Single sign-on with OpenID Connect for the web UI (auth.oidc.providers): the authorization code flow
with PKCE, against providers found by discovery.

`begin` keeps the login's state, nonce and PKCE verifier in the database (any worker or node finishes it,
once: a replayed callback finds nothing) and answers where to send the browser; `complete` takes the
provider's answer, exchanges the code, and checks the ID token: its signature against the provider's
published keys (asymmetric algorithms only), issuer, audience, expiry and nonce. The token's claims name
the user, the company and the role, as the provider's configuration maps them; a user is created on a
first login when `create_users` allows it, and a user signing in through SSO is found again by the
provider's subject, never by a name someone else could take.

The provider's addresses come from the configuration (an administrator's), never from a request.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import jwt
import requests

from regista.server.auth import ROLES, Identity
from regista.server.config import Config, ConfigError
from regista.server.sso_routes import SignOnRefused
from regista.services.audit.log import record_command
from regista.services.auth.documents import Company, PendingLogin, User
from regista.services.auth.store import SSO_KEY_PREFIX, ensure_company, identity_of
from regista.services.common.values import new_id, utcnow

ASYMMETRIC = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")
METADATA_TTL_S = 3600
LEEWAY_S = 30
TIMEOUT_S = 10


class SsoError(SignOnRefused):
    """A login refused: the message is for the person signing in."""


@dataclass(frozen=True)
class Provider:
    name: str
    label: str
    issuer: str
    client_id: str
    client_secret: str
    discovery_url: str
    scopes: tuple[str, ...] = ("openid", "email", "profile")
    username_claim: str = "preferred_username"
    company: str = ""
    company_claim: str = ""
    create_users: bool = True
    create_companies: bool = False
    role_claim: str = ""
    role_map: dict[str, str] = field(default_factory=dict)
    default_role: str = "user"


def providers_of(config: Config) -> list[Provider]:
    """auth.oidc.providers, checked (ConfigError names what is wrong)."""
    found = []
    for index, raw in enumerate(config.get("auth.oidc.providers", []) or []):
        where = f"auth.oidc.providers[{index}]"
        if not isinstance(raw, dict) or not all(raw.get(key) for key in ("name", "issuer", "client_id")):
            raise ConfigError(f"{where} needs name, issuer and client_id")
        role_map = {str(k): str(v) for k, v in (raw.get("role_map") or {}).items()}
        roles = [*role_map.values(), str(raw.get("default_role", "user"))]
        if any(role not in ROLES or role == "system" for role in roles):
            raise ConfigError(f"{where}: roles are admin, user or guest")
        issuer = str(raw["issuer"]).rstrip("/")
        found.append(Provider(
            name=str(raw["name"]), label=str(raw.get("label") or raw["name"]), issuer=issuer,
            client_id=str(raw["client_id"]), client_secret=str(raw.get("client_secret", "")),
            discovery_url=str(raw.get("discovery_url") or f"{issuer}/.well-known/openid-configuration"),
            scopes=tuple(raw.get("scopes") or ("openid", "email", "profile")),
            username_claim=str(raw.get("username_claim") or "preferred_username"), company=str(raw.get("company") or ""),
            company_claim=str(raw.get("company_claim") or ""), create_users=bool(raw.get("create_users", True)),
            create_companies=bool(raw.get("create_companies", False)), role_claim=str(raw.get("role_claim") or ""),
            role_map=role_map, default_role=str(raw.get("default_role") or "user"),
        ))  # fmt: skip
    names = [p.name for p in found]
    if len(names) != len(set(names)):
        raise ConfigError("auth.oidc.providers: names must differ")
    return found


class SingleSignOn:
    def __init__(self, config: Config):
        self._providers = {p.name: p for p in providers_of(config)}
        self._default_company = str(config.get("auth.default_company"))
        self._login_timeout = timedelta(seconds=float(config.get("auth.oidc.login_timeout_s")))
        self._metadata: dict[str, tuple[float, dict[str, Any]]] = {}
        self._keys: dict[str, jwt.PyJWKClient] = {}
        self._lock = threading.Lock()

    def providers(self) -> list[tuple[str, str]]:
        """(name, label) of each provider, for the login page."""
        return [(p.name, p.label) for p in self._providers.values()]

    def begin(self, name: str, next_path: str, callback_url: str) -> tuple[str, str]:
        """Where to send the browser, and the login's state (also kept in the browser's cookie)."""
        provider = self._provider(name)
        state, nonce, verifier = secrets.token_urlsafe(32), secrets.token_urlsafe(32), secrets.token_urlsafe(64)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        endpoint = self._discovered(provider)["authorization_endpoint"]
        PendingLogin(id=state, provider=name, nonce=nonce, verifier=verifier, next=next_path, created=utcnow()).save(force_insert=True)
        query = {
            "response_type": "code", "client_id": provider.client_id, "redirect_uri": callback_url,
            "scope": " ".join(provider.scopes), "state": state, "nonce": nonce,
            "code_challenge": challenge, "code_challenge_method": "S256",
        }  # fmt: skip
        return f"{endpoint}{'&' if '?' in endpoint else '?'}{urlencode(query)}", state

    def complete(self, name: str, answer: dict[str, str], browser_state: str, callback_url: str) -> tuple[Identity, str]:
        """The identity a finished login signs in, and where the person was going."""
        provider = self._provider(name)
        if answer.get("error"):
            raise SsoError(f"{provider.label} refused the login: {answer.get('error_description') or answer['error']}")
        state = answer.get("state") or ""
        if not state or not secrets.compare_digest(state, browser_state or ""):
            raise SsoError("this login was not started from this browser: start again")
        pending = PendingLogin._get_collection().find_one_and_delete(
            {"_id": state, "provider": name, "created": {"$gte": utcnow() - self._login_timeout}}
        )
        if pending is None:
            raise SsoError("this login has expired or was finished already: start again")
        if answer.get("iss") and answer["iss"].rstrip("/") != provider.issuer:
            raise SsoError("the answer comes from another issuer than the provider's")
        if not answer.get("code"):
            raise SsoError("the provider's answer holds no authorization code")
        claims = self._verified_claims(provider, self._exchange(provider, answer["code"], pending["verifier"], callback_url), pending["nonce"])
        return self._identity(provider, claims), pending["next"]

    def _exchange(self, provider: Provider, code: str, verifier: str, callback_url: str) -> str:
        endpoint = self._discovered(provider)["token_endpoint"]
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": callback_url, "code_verifier": verifier}
        try:
            answer = requests.post(endpoint, data=form, auth=(provider.client_id, provider.client_secret), timeout=TIMEOUT_S)
        except requests.RequestException as exc:
            raise SsoError(f"{provider.label} could not be reached: {type(exc).__name__}") from None
        body = answer.json() if answer.headers.get("Content-Type", "").startswith("application/json") else {}
        if answer.status_code != 200 or not body.get("id_token"):
            raise SsoError(f"{provider.label} refused the code: {body.get('error_description') or body.get('error') or answer.status_code}")
        return body["id_token"]

    def _verified_claims(self, provider: Provider, id_token: str, nonce: str) -> dict[str, Any]:
        metadata = self._discovered(provider)
        algorithms = [a for a in metadata.get("id_token_signing_alg_values_supported", ["RS256"]) if a in ASYMMETRIC]
        try:
            key = self._key_client(provider, metadata["jwks_uri"]).get_signing_key_from_jwt(id_token)
            claims = jwt.decode(id_token, key.key, algorithms=algorithms, audience=provider.client_id, issuer=provider.issuer,
                                leeway=LEEWAY_S, options={"require": ["exp", "iat", "iss", "aud", "sub"]})  # fmt: skip
        except (jwt.PyJWTError, KeyError) as exc:
            raise SsoError(f"the ID token from {provider.label} is not valid: {exc}") from None
        if not secrets.compare_digest(str(claims.get("nonce", "")), nonce):
            raise SsoError(f"the ID token from {provider.label} answers another login (nonce)")
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if len(audiences) > 1 and claims.get("azp") != provider.client_id:
            raise SsoError(f"the ID token from {provider.label} was issued to another party (azp)")
        return claims

    def _identity(self, provider: Provider, claims: dict[str, Any]) -> Identity:
        subject = str(claims["sub"])
        company_name = str(claims.get(provider.company_claim) or "") if provider.company_claim else provider.company
        company_name = company_name or self._default_company
        role = self._role(provider, claims)
        link = f"sso.{provider.name}"
        user = User._get_collection().find_one({link: subject})
        if user is None:
            user = self._new_user(provider, claims, subject, company_name, role)
        elif provider.role_claim and user.get("role") != role:  # the provider's groups are the truth for roles
            User._get_collection().update_one({"_id": user["_id"]}, {"$set": {"role": role}})
            record_command(f"sso login ({provider.name}): role changed", user["company"], {"user": user["name"], "role": role})
        identity = identity_of(user["_id"], f"{SSO_KEY_PREFIX}{provider.name}:{user['_id']}")
        if identity is None:
            raise SsoError("the user was deleted meanwhile")
        return identity

    def _new_user(self, provider: Provider, claims: dict[str, Any], subject: str, company_name: str, role: str) -> dict[str, Any]:
        name = str(claims.get(provider.username_claim) or claims.get("email") or subject)
        if not provider.create_users:
            raise SsoError(f"no Regista user signs in as {name} through {provider.label}: ask an administrator")
        if not provider.create_companies and Company._get_collection().find_one({"name": company_name}, {"_id": 1}) is None:
            raise SsoError(f"there is no company {company_name!r} for this login: ask an administrator")
        company = ensure_company(company_name)
        if User._get_collection().find_one({"company": company, "name": name}, {"_id": 1}) is not None:
            raise SsoError(f"a user named {name} exists already in {company_name} and signs in otherwise: ask an administrator")
        user = {
            "_id": new_id(), "company": company, "name": name, "role": role, "created": utcnow(),
            "email": claims.get("email"), "given_name": claims.get("given_name"), "family_name": claims.get("family_name"),
            "sso": {provider.name: subject},
        }  # fmt: skip
        User._get_collection().insert_one({key: value for key, value in user.items() if value is not None})
        record_command(f"sso login ({provider.name}): user created", company, {"user": name, "role": role, "subject": subject})
        return user

    @staticmethod
    def _role(provider: Provider, claims: dict[str, Any]) -> str:
        values = claims.get(provider.role_claim) if provider.role_claim else None
        held = set(values) if isinstance(values, list) else {values} if values is not None else set()
        for claim_value, role in provider.role_map.items():  # the first that matches, in the configuration's order
            if claim_value in held:
                return role
        return provider.default_role

    def _provider(self, name: str) -> Provider:
        provider = self._providers.get(name)
        if provider is None:
            raise SsoError(f"no single sign-on provider named {name!r}")
        return provider

    def _discovered(self, provider: Provider) -> dict[str, Any]:
        with self._lock:
            cached = self._metadata.get(provider.name)
        if cached and time.monotonic() - cached[0] < METADATA_TTL_S:
            return cached[1]
        try:
            answer = requests.get(provider.discovery_url, timeout=TIMEOUT_S)
            metadata = answer.json()
        except (requests.RequestException, ValueError) as exc:
            raise SsoError(f"{provider.label} could not be reached: {type(exc).__name__}") from None
        if metadata.get("issuer", "").rstrip("/") != provider.issuer:
            raise SsoError(f"{provider.label}'s discovery document names another issuer")
        if not all(metadata.get(key) for key in ("authorization_endpoint", "token_endpoint", "jwks_uri")):
            raise SsoError(f"{provider.label}'s discovery document lacks an endpoint")
        with self._lock:
            self._metadata[provider.name] = (time.monotonic(), metadata)
        return metadata

    def _key_client(self, provider: Provider, jwks_uri: str) -> jwt.PyJWKClient:
        with self._lock:
            client = self._keys.get(provider.name)
            if client is None or client.uri != jwks_uri:
                client = self._keys[provider.name] = jwt.PyJWKClient(jwks_uri, cache_keys=True, timeout=TIMEOUT_S)
            return client


def forget_old_logins(config: Config) -> int:
    """A periodic pass: logins started and never finished are deleted once they can no longer finish."""
    cutoff = utcnow() - timedelta(seconds=float(config.get("auth.oidc.login_timeout_s")))
    return PendingLogin._get_collection().delete_many({"created": {"$lt": cutoff}}).deleted_count


def sweep_interval_s(config: Config) -> float:
    return float(config.get("auth.oidc.login_timeout_s")) if config.get("auth.oidc.providers", []) else 0.0


def build(config: Config) -> SingleSignOn | None:
    """The configured single sign-on, or None without providers."""
    return SingleSignOn(config) if config.get("auth.oidc.providers", []) else None
