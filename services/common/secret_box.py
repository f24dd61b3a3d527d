"""Secrets kept in the database encrypted (Fernet), with a key from configuration or derived from
auth.token_secret, so that a copy of the database alone does not give them away."""

from __future__ import annotations

import base64
import hashlib
import logging

from cryptography.fernet import Fernet, InvalidToken

from regista.server.config import Config

log = logging.getLogger(__name__)


class SecretBox:
    """Encrypts and decrypts one kind of secret: `key_path` names the configured key (44 characters of
    base64; empty derives one from auth.token_secret and `purpose`, so kinds never share a key)."""

    def __init__(self, key_path: str, purpose: str):
        self.key_path, self.purpose = key_path, purpose

    def _fernet(self, config: Config) -> Fernet:
        configured = str(config.get(self.key_path, "") or "")
        if configured:
            return Fernet(configured.encode())
        digest = hashlib.sha256(f"regista-{self.purpose}-secrets:".encode() + str(config.get("auth.token_secret")).encode()).digest()
        return Fernet(base64.urlsafe_b64encode(digest))

    def encrypt(self, config: Config, secret: str) -> str:
        return self._fernet(config).encrypt(secret.encode()).decode()

    def decrypt(self, config: Config, token: str) -> str | None:
        """The secret, or None (logged) when it cannot be read: the key it was stored with has changed."""
        try:
            return self._fernet(config).decrypt(token.encode()).decode()
        except (InvalidToken, ValueError):
            log.warning("a stored %s secret cannot be decrypted (was %s or auth.token_secret changed?)", self.purpose, self.key_path)
            return None
