"""Creating, revoking and checking API keys.

A key is 32 random bytes shown once (``ta_`` + base64url); only its SHA-256 is stored. A fast hash
is enough here because the key has 256 bits of entropy: there is nothing to brute-force.
"""

import hashlib
import secrets
import threading
import time

from sqlalchemy import false, update
from sqlmodel import Session, select

from service.errors import Conflict, NotFound
from service.models import ApiKey, Role
from service.timeutil import utcnow

PREFIX = "ta_"


def create_key(session: Session, *, role: Role, party: str) -> tuple[ApiKey, str]:
    """Store a new key; returns it and the secret token, which is not recoverable later."""
    token = PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(key_hash=_digest(token), role=Role(role), party=party)
    session.add(key)
    session.flush()
    return key, token


def revoke_key(session: Session, *, key_id: int) -> ApiKey:
    """Revoke a key for good; revoking twice is harmless. The last live admin key is refused
    (Conflict, nothing changed): without one, nobody could create or revoke keys any more.

    Revoking an admin key first locks the admin keys (see :func:`_lock_admin_keys`), then counts
    the other live ones in the same transaction: two concurrent revocations of the last two admin
    keys cannot both pass, the second waits for the first and then sees it.
    """
    key = session.get(ApiKey, key_id)
    if key is None:
        raise NotFound(f"no API key {key_id}", field="key_id")
    if key.role == Role.ADMIN and key.revoked_at is None:
        _lock_admin_keys(session)
        session.refresh(key)  # a concurrent revocation may have committed while we waited
        if key.revoked_at is None and session.exec(_live_admins().where(ApiKey.id != key.id)).first() is None:
            raise Conflict(
                f"key {key_id} is the last live admin key; create another admin key first "
                "(revoking it would leave nobody able to manage keys)",
                field="key_id",
            )
    key.revoked_at = key.revoked_at or utcnow()
    session.add(key)
    return key


def _live_admins():
    return select(ApiKey.id).where(ApiKey.role == Role.ADMIN, ApiKey.revoked_at.is_(None))


def _lock_admin_keys(session: Session) -> None:
    """Serialise admin revocations until the transaction ends: on PostgreSQL lock the live admin
    keys' rows (FOR UPDATE, in id order, so that two revocations queue instead of deadlocking);
    SQLite has no row locks, so take its database write lock with a write that changes nothing."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(update(ApiKey).where(false()).values(revoked_at=ApiKey.revoked_at))
    else:
        session.exec(_live_admins().order_by(ApiKey.id).with_for_update()).all()


def authenticate(session: Session, *, token: str) -> ApiKey | None:
    """The live key matching ``token``, or None."""
    key = session.exec(select(ApiKey).where(ApiKey.key_hash == _digest(token))).first()
    return key if key is not None and key.revoked_at is None else None


class KeyCache:
    """Live keys checked in the last ``ttl`` seconds, so most requests authenticate without a query.

    Revoking through this process clears it at once; a key revoked by another worker or by the CLI
    stops working within ``ttl``. Unknown tokens are not remembered, and the cache is bounded.
    """

    MAX_ENTRIES = 10_000

    def __init__(self, *, ttl: float) -> None:
        self.ttl = ttl
        self._entries: dict[str, tuple[float, ApiKey]] = {}
        self._lock = threading.Lock()

    def get(self, token: str) -> ApiKey | None:
        """The cached live key for ``token``, None when unknown here or too old."""
        entry = self._entries.get(_digest(token))
        if entry is None or time.monotonic() - entry[0] > self.ttl:
            return None
        return entry[1]

    def put(self, token: str, key: ApiKey) -> None:
        with self._lock:
            if len(self._entries) >= self.MAX_ENTRIES:
                self._entries.clear()
            self._entries[_digest(token)] = (time.monotonic(), key)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def list_keys(session: Session) -> list[ApiKey]:
    """Every key, newest first (hashes only)."""
    return list(session.exec(select(ApiKey).order_by(ApiKey.id.desc())))


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
