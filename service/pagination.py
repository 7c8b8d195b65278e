"""Keyset pagination over records ordered by (occurred_at, id), with opaque, validated page tokens.

A token carries the position after the last row served (its ``occurred_at`` and ``id``) and a digest
over that position *and the fingerprint of the query that produced it*. A token presented with a
different query (other filters, other caller), garbled in transit or edited by hand fails the
digest and is refused with 422. The digest is deliberately keyless: a token grants nothing, since
every page re-applies the caller's filters and visibility, so a hand-made token can only jump to a
position the caller could reach with ``GE_eventTime`` anyway; a secret would buy nothing but
tokens that die with a restart or differ between workers.

Keyset rather than OFFSET: page N costs the same as page 1 (one index range scan from the
position), and rows inserted while a client pages through cannot shift pages into gaps or repeats.
"""

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Select, tuple_

from service.errors import InvalidRecord
from service.models import Record
from service.timeutil import as_utc

TOKEN_FIELD = "nextPageToken"
_DIGEST_BYTES = 12
_MAX_TOKEN_CHARS = 512


@dataclass(frozen=True)
class Page:
    """One page of records and the token of the next one (None on the last page)."""

    items: list[Record]
    next_page_token: str | None


@dataclass(frozen=True)
class Position:
    """Where the previous page ended."""

    occurred_at: datetime
    record_id: int


def fingerprint(*parts: object) -> bytes:
    """A digest of a query's normalised filters (JSON-able parts), binding tokens to that query."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str, separators=(",", ":")).encode()).digest()


def encode_token(position: Position, *, query_fingerprint: bytes) -> str:
    """The opaque base64url token for ``position`` within the query of ``query_fingerprint``."""
    payload = json.dumps([as_utc(position.occurred_at).isoformat(), position.record_id], separators=(",", ":")).encode()
    return _b64(_digest(payload, query_fingerprint) + payload)


def decode_token(token: str, *, query_fingerprint: bytes) -> Position:
    """The position a token encodes; InvalidRecord (422) unless it was made for this very query."""
    try:
        if len(token) > _MAX_TOKEN_CHARS:
            raise ValueError("too long")
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        digest, payload = raw[:_DIGEST_BYTES], raw[_DIGEST_BYTES:]
        if not hmac.compare_digest(digest, _digest(payload, query_fingerprint)):
            raise ValueError("digest mismatch")
        moment, record_id = json.loads(payload)
        if not isinstance(record_id, int) or isinstance(record_id, bool):
            raise ValueError("record id is not an integer")
        return Position(occurred_at=as_utc(datetime.fromisoformat(moment)).astimezone(UTC), record_id=record_id)
    except (ValueError, TypeError, UnicodeDecodeError) as error:
        raise InvalidRecord(f"{TOKEN_FIELD} is invalid", field=TOKEN_FIELD) from error


def paginate(session, statement: Select, *, descending: bool, per_page: int, token: str | None, query_fingerprint: bytes) -> Page:
    """Run ``statement`` (a select of Record) from the token's position, one page plus a look-ahead row."""
    key = tuple_(Record.occurred_at, Record.id)
    if token is not None:
        position = decode_token(token, query_fingerprint=query_fingerprint)
        after = (position.occurred_at, position.record_id)
        statement = statement.where(key < after if descending else key > after)
    order = (Record.occurred_at.desc(), Record.id.desc()) if descending else (Record.occurred_at.asc(), Record.id.asc())
    rows = list(session.exec(statement.order_by(*order).limit(per_page + 1)))
    if len(rows) <= per_page:
        return Page(items=rows, next_page_token=None)
    last = rows[per_page - 1]
    return Page(
        items=rows[:per_page],
        next_page_token=encode_token(Position(last.occurred_at, last.id), query_fingerprint=query_fingerprint),
    )


def _digest(payload: bytes, query_fingerprint: bytes) -> bytes:
    return hashlib.sha256(query_fingerprint + payload).digest()[:_DIGEST_BYTES]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")
