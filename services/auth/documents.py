from __future__ import annotations

from mongoengine import DateTimeField, DictField, FloatField, IntField, StringField

from regista.server.auth import ROLES
from regista.services.common.documents import RevisionedDocument


class Company(RevisionedDocument):
    meta = {"collection": "companies", "strict": False, "indexes": [{"fields": ["name"], "unique": True}]}

    id = StringField(primary_key=True)
    name = StringField(required=True, min_length=1)
    created = DateTimeField()


class User(RevisionedDocument):
    meta = {"collection": "users", "strict": False, "indexes": [{"fields": ["company", "name"], "unique": True}]}

    id = StringField(primary_key=True)
    company = StringField(required=True)
    name = StringField(required=True, min_length=1)
    role = StringField(required=True, choices=ROLES)
    created = DateTimeField()
    email = StringField()
    given_name = StringField()
    family_name = StringField()
    avatar = StringField()
    # The user's UI preferences (users.set_preferences): free-form JSON whose keys were checked to hold
    # no '.' and no leading '$', so they are stored as they are.
    preferences = DictField()


class Credentials(RevisionedDocument):
    """An access key and the SHA-256 digest of its secret: the secret itself is never stored.

    Secrets are random and high-entropy (not passwords), so a fast digest compared in constant time
    resists guessing; a slow password hash would only slow every Basic-authenticated call.
    """

    meta = {"collection": "credentials", "strict": False, "indexes": ["user", "company"]}

    id = StringField(primary_key=True)  # the access key
    secret_sha256 = StringField(required=True)
    user = StringField(required=True)
    company = StringField(required=True)
    label = StringField()
    created = DateTimeField()
    last_used = DateTimeField()
    revoked = DateTimeField()


class LoginFailures(RevisionedDocument):
    """Failed logins of one client address or access key in the current window (services/auth/throttle.py)."""

    meta = {"collection": "login_failures", "strict": False, "indexes": ["last"]}

    id = StringField(primary_key=True)  # "address:<ip>" or "key:<access key>"
    failures = IntField(required=True)
    first = FloatField(required=True)  # the window's start, in seconds since the epoch
    last = FloatField(required=True)


class PendingLogin(RevisionedDocument):
    """A single sign-on login started and not finished yet (services/auth/sso.py): taken once, by its state."""

    meta = {"collection": "pending_logins", "strict": False, "indexes": ["created"]}

    id = StringField(primary_key=True)  # the state sent to the provider
    provider = StringField(required=True)
    nonce = StringField(required=True)
    verifier = StringField(required=True)  # PKCE
    next = StringField()  # where the person was going
    created = DateTimeField(required=True)


class RevokedToken(RevisionedDocument):
    """A token logged out before its expiry."""

    meta = {"collection": "revoked_tokens", "strict": False, "indexes": ["expires"]}

    id = StringField(primary_key=True)  # the token id (jti)
    expires = DateTimeField(required=True)
