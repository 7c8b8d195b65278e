"""Pagination of every listing: ``perPage`` items a page, and an opaque, signed ``nextPageToken``.

One style everywhere, with the names of the EPCIS 2.0 REST binding: the first page is asked for
with ``perPage`` alone, each answer carries the ``nextPageToken`` of the next page (null on the
last one), and the client sends it back unchanged.

A token carries where the previous page ended: the ordering columns of its last row for listings
read from the database (keyset: page N costs what page 1 does, one index range scan from the
position, and rows inserted meanwhile shift nothing into gaps or repeats), or an offset for lists
computed in memory (basket rules). It is signed with an HMAC over that position *and the scope of
the query that produced it*: the listing, its normalised filters and the caller. A token presented
with another query or by another caller, garbled in transit, edited by hand or made up is refused
with a 422 naming ``nextPageToken``; the position in a valid token is one the server wrote, so no
crafted value (a huge id, an impossible date) ever reaches a query. The HMAC key is derived from
the server secret (``TRACEANCHOR_SECRET_KEY``, see ``service.sealing``), so every worker sharing
that secret accepts the tokens of the others, and a token outlives a restart (until it expires,
TRACEANCHOR_PAGE_TOKEN_SECONDS after it was issued).
"""

import base64
import hashlib
import hmac
import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, tuple_
from sqlalchemy.orm import InstrumentedAttribute

from service.errors import InvalidParameter
from service.timeutil import in_utc

TOKEN_FIELD = "nextPageToken"
PER_PAGE_FIELD = "perPage"
DEFAULT_PER_PAGE = 100
MAX_PER_PAGE = 1000
MAX_TOKEN_CHARS = 512
_MAC_BYTES = 16
_KEY_LABEL = b"traceanchor page tokens v2"  # v2: tokens carry their expiry
DEFAULT_TOKEN_LIFETIME = 3600.0  # seconds; the API takes TRACEANCHOR_PAGE_TOKEN_SECONDS

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of items and the token of the next one (None on the last page)."""

    items: list[T]
    next_page_token: str | None


class PageTokens:
    """Makes and checks page tokens under a key derived from the server secret.

    The derived key (HMAC of a fixed label under the secret) keeps tokens apart from everything
    else the secret seals: no token is ever a valid seal of a fraud model, or the reverse. A token
    carries, signed with its position, the moment it expires (``lifetime`` seconds after it was
    issued), which the EPCIS binding announces as ``GS1-Next-Page-Token-Expires``: a token leaked in
    a log or a URL does not stay a way into the listing for ever.
    """

    def __init__(self, secret: bytes, *, lifetime: float = DEFAULT_TOKEN_LIFETIME, clock: Callable[[], float] = time.time) -> None:
        self._key = hmac.new(secret, _KEY_LABEL, hashlib.sha256).digest()
        self.lifetime = lifetime
        self._clock = clock

    def issue(self, position: list, *, scope: bytes) -> str:
        """The opaque token of ``position`` (JSON values) within the query of ``scope``."""
        payload = json.dumps([math.ceil(self._clock() + self.lifetime), position], separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(self._mac(payload, scope) + payload).decode().rstrip("=")

    def open(self, token: str, *, scope: bytes) -> list:
        """The position a token carries; InvalidParameter (422) unless this server issued it for ``scope``
        and it has not expired."""
        try:
            if len(token) > MAX_TOKEN_CHARS:
                raise ValueError("too long")
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            mac, payload = raw[:_MAC_BYTES], raw[_MAC_BYTES:]
            if not hmac.compare_digest(mac, self._mac(payload, scope)):
                raise ValueError("not issued for this query and caller")
            expires, position = json.loads(payload)
        except (ValueError, TypeError) as error:  # binascii.Error and UnicodeDecodeError are ValueErrors
            raise InvalidParameter(
                f"{TOKEN_FIELD} is invalid: send back the token of the previous page unchanged, with the same "
                "filters and key, or leave it out to start from the first page",
                field=TOKEN_FIELD,
            ) from error
        if self._clock() >= expires:
            raise InvalidParameter(f"{TOKEN_FIELD} has expired: start again from the first page", field=TOKEN_FIELD)
        return position

    @staticmethod
    def expiry(token: str) -> datetime:
        """When a token this server just issued expires (read, not checked: for announcing it)."""
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        return datetime.fromtimestamp(json.loads(raw[_MAC_BYTES:])[0], tz=UTC)

    def _mac(self, payload: bytes, scope: bytes) -> bytes:
        return hmac.new(self._key, scope + payload, hashlib.sha256).digest()[:_MAC_BYTES]


@dataclass(frozen=True)
class PageRequest:
    """What a client asked for: a page size, and where to go on (None: the first page)."""

    tokens: PageTokens
    per_page: int = DEFAULT_PER_PAGE
    token: str | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.per_page <= MAX_PER_PAGE:
            raise InvalidParameter(f"{PER_PAGE_FIELD}: between 1 and {MAX_PER_PAGE}", field=PER_PAGE_FIELD)


def fingerprint(*parts: object) -> bytes:
    """The scope a token is bound to: a digest of the listing's name, the caller and the normalised
    filters (JSON-able parts; not the page size, which may change from page to page)."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str, separators=(",", ":")).encode()).digest()


def paginate(
    session, statement: Select, *, order: Sequence[InstrumentedAttribute], descending: bool, page: PageRequest, scope: bytes
) -> Page:
    """One page of ``statement`` (a select of one mapped class) in the order of ``order``, whose
    last column must be unique (it breaks ties), from the token's position; one look-ahead row
    tells whether there is a next page."""
    if page.token is not None:
        after = _position(page.tokens.open(page.token, scope=scope))
        key, after = (tuple_(*order), after) if len(order) > 1 else (order[0], after[0])
        statement = statement.where(key < after if descending else key > after)
    ordering = [column.desc() if descending else column.asc() for column in order]
    rows = list(session.exec(statement.order_by(*ordering).limit(page.per_page + 1)))
    if len(rows) <= page.per_page:
        return Page(items=rows, next_page_token=None)
    last = rows[page.per_page - 1]
    position = [_json_value(getattr(last, column.key)) for column in order]
    return Page(items=rows[: page.per_page], next_page_token=page.tokens.issue(position, scope=scope))


def paginate_list(items: Sequence[T], *, page: PageRequest, scope: bytes) -> Page[T]:
    """One page of a list computed in memory; its token carries the offset of the next page.

    ``scope`` should name the list's data version too: a token then stops working when the list
    changes, rather than skipping or repeating items.
    """
    start = 0
    if page.token is not None:
        start = page.tokens.open(page.token, scope=scope)[0]
    end = start + page.per_page
    token = page.tokens.issue([end], scope=scope) if end < len(items) else None
    return Page(items=list(items[start:end]), next_page_token=token)


def _json_value(value: Any) -> Any:
    """A column value as JSON: a moment becomes ``{"at": ISO 8601}``, so that reading it back is
    unambiguous whatever the column's type."""
    return {"at": in_utc(value).isoformat()} if isinstance(value, datetime) else value


def _position(values: list) -> tuple:
    """A token's position as the ordering columns' values (only tokens this server signed get here)."""
    return tuple(datetime.fromisoformat(value["at"]) if isinstance(value, dict) else value for value in values)
