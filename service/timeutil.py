"""Time helpers shared by the models and the ledger."""

from datetime import UTC, datetime


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC (naive datetimes are a bug magnet)."""
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """Treat a naive datetime read back from SQLite as UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
