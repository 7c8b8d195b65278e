"""Integrity seals for bytes the service writes to its database and must trust when it reads them back.

The database is not trusted (that is why records are anchored), but fraud models are stored there as
pickles, and unpickling runs code. So every model is sealed with HMAC-SHA256 under a key that lives
outside the database, and is unpickled only if the seal holds.
"""

import hashlib
import hmac
import os
import secrets
from pathlib import Path

KEY_FILE = "secret.key"


def signing_key(*, configured: str | None, data_dir: Path) -> bytes:
    """The configured secret, or a random one kept in ``data_dir`` (created on first use, mode 0600).

    Several workers must share one key: configure ``TRACEANCHOR_SECRET_KEY`` for them.
    """
    if configured:
        return configured.encode()
    path = data_dir / KEY_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_hex(32))
    return path.read_text().strip().encode()


def seal(key: bytes, *, label: str, data: bytes) -> str:
    """Hex HMAC-SHA256 of ``label`` and ``data`` (the label binds the bytes to their name)."""
    return hmac.new(key, label.encode() + b"\0" + data, hashlib.sha256).hexdigest()


def is_sealed(key: bytes, *, label: str, data: bytes, claimed: str) -> bool:
    """Whether ``claimed`` is the seal of ``label`` and ``data`` under ``key`` (constant time)."""
    return hmac.compare_digest(seal(key, label=label, data=data), claimed or "")
