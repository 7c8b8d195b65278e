"""Events are found by the eventID they were captured with: an ``event_id`` search term per event
that has one (``service.ingest.indexing.event_terms`` derives it from new events; this adds it to
the stored ones, so that the integrity check, which derives every term from the body, agrees).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 1000
_MAX_VALUE = 512  # record_term.value; longer ids (refused at capture since) cannot be terms


def upgrade() -> None:
    connection = op.get_bind()
    last = 0
    while True:
        rows = connection.execute(
            sa.text("SELECT id, body FROM record WHERE kind = 'EPCIS_EVENT' AND id > :last ORDER BY id LIMIT :n"),
            {"last": last, "n": _BATCH},
        ).all()
        if not rows:
            return
        terms = [{"record_id": record_id, "value": event_id} for record_id, event_id in map(_event_id, rows)
                 if event_id is not None and len(event_id) <= _MAX_VALUE]
        if terms:
            connection.execute(
                sa.text("INSERT INTO record_term (name, value, record_id) VALUES ('event_id', :value, :record_id)"), terms
            )
        last = rows[-1][0]


def downgrade() -> None:
    op.execute("DELETE FROM record_term WHERE name = 'event_id'")


def _event_id(row) -> tuple[int, str | None]:
    """The row's id and its body's eventID (None when the body has none, or no longer parses)."""
    try:
        body = json.loads(row[1])
    except ValueError:
        return row[0], None
    event_id = body.get("eventID") if isinstance(body, dict) else None
    return row[0], event_id if isinstance(event_id, str) else None
