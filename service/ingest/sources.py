"""Submitted documents kept byte for byte beside the records they became, and read back.

An event captured from XML is stored (hashed, anchored) in its EPCIS 2.0 JSON-LD form; what the
supplier actually sent is kept here, once per submission, linked from each record it created with the
event's position in it, so that an auditor can see exactly what was submitted. A record the
submission found already stored keeps the source it was created from. The source is not anchored:
the events it became are, and the JSON-LD form is what their hashes cover.
"""

from collections.abc import Sequence
from hashlib import sha256

from sqlalchemy import insert
from sqlmodel import Session, select

from service.ingest.bulk import insert_rows
from service.ingest.candidates import Source
from service.models import RecordSource, SourceDocument
from service.timeutil import utcnow


def keep_source(session: Session, source: Source, *, party: str, stored: Sequence[tuple[int, bool]]) -> None:
    """Store ``source`` and link the records it created, in the caller's transaction: ``stored`` is,
    for each candidate of the submission in order, its record id and whether it was created here.
    Nothing is kept when the submission created no record."""
    positions = source.positions if source.positions is not None else range(len(stored))
    links = [(record_id, position) for (record_id, created), position in zip(stored, positions, strict=True) if created]
    if not links:
        return
    connection = session.connection()
    source_id = connection.execute(insert(SourceDocument.__table__).returning(SourceDocument.__table__.c.id), {
        "party": party, "media_type": source.media_type, "sha256": sha256(source.content).hexdigest(),
        "content": source.content, "created_at": utcnow()}).scalar_one()
    insert_rows(connection, "record_source", [(record_id, source_id, position) for record_id, position in links])


def source_of(session: Session, record_id: int) -> tuple[SourceDocument, int] | None:
    """The document a record was captured from and the event's position in it (None: captured as JSON)."""
    found = session.exec(select(SourceDocument, RecordSource.position)
                         .join(RecordSource, RecordSource.source_id == SourceDocument.id)
                         .where(RecordSource.record_id == record_id)).first()
    return None if found is None else (found[0], found[1])
