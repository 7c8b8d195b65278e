"""Events are found by the eventID they were captured with, their action, sources and destinations:
``event_id``, ``action``, ``source`` and ``destination`` search terms (``service.ingest.indexing.event_terms``
derives them from new events; this adds them to the stored ones, derived as it derives them then,
so that the integrity check, which derives every term from the body, agrees).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from service.hashing.identifiers import canonical_identifier
from service.hashing.vocabulary import SOURCE_DESTINATION_TYPES, web_vocabulary

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
        terms = [{"record_id": record_id, "name": name, "value": value} for record_id, body in rows
                 for name, value in _new_terms(body) if len(value) <= _MAX_VALUE]
        if terms:
            connection.execute(
                sa.text("INSERT INTO record_term (name, value, record_id) VALUES (:name, :value, :record_id)"), terms
            )
        last = rows[-1][0]


def downgrade() -> None:
    op.execute("DELETE FROM record_term WHERE name IN ('event_id', 'action', 'source', 'destination')")


def _new_terms(text: str) -> set[tuple[str, str]]:
    """The terms of these names that indexing derives from the body (none when it no longer parses)."""
    try:
        body = json.loads(text)
    except ValueError:
        return set()
    if not isinstance(body, dict):
        return set()
    terms = {(name, body[field]) for name, field in (("event_id", "eventID"), ("action", "action")) if isinstance(body.get(field), str)}
    for name in ("source", "destination"):
        for item in body.get(name + "List") or []:
            if isinstance(item, dict) and isinstance(item.get("type"), str) and isinstance(item.get(name), str):
                kind = SOURCE_DESTINATION_TYPES.get(item["type"]) or web_vocabulary(item["type"])
                terms.add((name, f"{kind} {canonical_identifier(item[name]) or item[name]}"))
    return terms
