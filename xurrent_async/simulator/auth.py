"""Bearer-token checks and OAuth client-credentials tokens (expiring by the simulator clock)."""

from __future__ import annotations

import base64
import binascii
import secrets
import threading
from collections import deque
from collections.abc import Iterable


def bearer_token(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    return (token.strip() or None) if scheme.lower() == "bearer" else None


def basic_credentials(header: str | None) -> tuple[str | None, str | None]:
    """(client_id, client_secret) from HTTP Basic authentication, which OAuth clients may use."""
    if not header or not header.lower().startswith("basic "):
        return None, None
    try:
        user, _, password = base64.b64decode(header[6:].strip()).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None, None
    return user, password


class TokenStore:
    def __init__(self) -> None:
        self._expiry: dict[str, float] = {}  # access token -> epoch seconds it stops working
        self._client: dict[str, str] = {}  # access token -> the OAuth client it was issued to
        self._lock = threading.Lock()  # tests may issue tokens from another thread
        self._issued: deque[str] = deque(maxlen=10_000)  # for leak checks in tests

    def issue(self, now: float, ttl: float, client_id: str | None = None) -> str:
        token = secrets.token_urlsafe(32)
        with self._lock:
            # Forget long-expired tokens so a long benchmark does not grow this without bound.
            if len(self._expiry) > 10_000:
                self._expiry = {t: e for t, e in self._expiry.items() if e > now}
                self._client = {t: c for t, c in self._client.items() if t in self._expiry}
            self._expiry[token] = now + ttl
            if client_id is not None:
                self._client[token] = client_id
            self._issued.append(token)
        return token

    def client_of(self, token: str) -> str | None:
        """The OAuth client an access token was issued to (None: a personal token, or issued to none)."""
        with self._lock:
            return self._client.get(token)

    def issued(self) -> list[str]:
        with self._lock:
            return list(self._issued)

    def valid(self, token: str | None, now: float, personal_tokens: Iterable[str]) -> bool:
        if token is None:
            return False
        if token in personal_tokens:
            return True
        with self._lock:
            expiry = self._expiry.get(token)
        return expiry is not None and now < expiry

    def expire_all(self) -> None:
        with self._lock:
            self._expiry.clear()
