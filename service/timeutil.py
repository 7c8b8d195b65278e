"""Time helpers shared by the models and the ledger."""

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, PlainSerializer, WithJsonSchema


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC (naive datetimes are a bug magnet)."""
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """Treat a naive datetime read back from SQLite as UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def from_unix(seconds: int) -> datetime:
    """A Unix time (what the chain records, e.g. a block's timestamp) as a UTC datetime."""
    return datetime.fromtimestamp(seconds, UTC)


def in_utc(moment: datetime) -> datetime:
    """The same moment in UTC (a naive one is taken as UTC already)."""
    return as_utc(moment).astimezone(UTC)


def iso_utc(moment: datetime) -> str:
    """ISO 8601 in UTC with ``Z``, the one timestamp format of every answer."""
    return in_utc(moment).isoformat().replace("+00:00", "Z")


UtcDateTime = Annotated[
    datetime,
    AfterValidator(in_utc),
    PlainSerializer(iso_utc, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time", "examples": ["2026-03-01T08:30:00Z"],
                    "description": "ISO 8601, UTC (Z)."}),
]
"""A timestamp in a response: every model field holding a moment is of this type, so every answer
spells time one way, whatever the database returned (SQLite gives naive datetimes, the chain Unix
seconds)."""
