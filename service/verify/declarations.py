"""Which stored events are declared erroneous, and by which error declaration.

An error declaration is an event re-submitted with ``errorDeclaration`` set: a record of its own
(``service.ingest.candidates.declaration_id``) with the search term ``declares`` = the Event Hash ID
of the event it declares erroneous. That term derives from the declaration's body, so the integrity
check covers it: a declaration whose term was deleted or edited to un-declare an event reads
``tampered``. Only the submitting party's own declarations count: no party can take another's events
out of the analytics.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlmodel import Session, select

from service.models import Record, RecordKind, RecordTerm, TermName
from service.models.record import parsed_body

_CHUNK = 500


@dataclass(frozen=True)
class Declaration:
    """An error declaration as the declared event reads it (the last one stored when there are several)."""

    record_id: int
    business_id: str
    declaration_time: str | None
    reason: str | None
    corrective_event_ids: list[str] = field(default_factory=list)


def is_declaration(record: Record, terms: Iterable[tuple[str, str]]) -> bool:
    """Whether a record (with its stored ``terms``) is an error declaration."""
    return record.kind == RecordKind.EPCIS_EVENT and any(name == TermName.DECLARES for name, _ in terms)


def declarations_of(session: Session, records: Iterable[Record]) -> dict[int, Declaration]:
    """The declaration of each of ``records`` that its own party declared erroneous, by record id."""
    wanted: dict[tuple[str, str], list[int]] = {}
    for record in records:
        if record.kind == RecordKind.EPCIS_EVENT:
            wanted.setdefault((record.business_id, record.party), []).append(record.id)
    found: dict[int, Declaration] = {}
    hash_ids = sorted({hash_id for hash_id, _ in wanted})
    for start in range(0, len(hash_ids), _CHUNK):
        rows = session.exec(
            select(RecordTerm.value, Record).join(Record, Record.id == RecordTerm.record_id)
            .where(RecordTerm.name == TermName.DECLARES, RecordTerm.value.in_(hash_ids[start : start + _CHUNK]),
                   Record.kind == RecordKind.EPCIS_EVENT)
            .order_by(Record.id)
        )
        for hash_id, declaring in rows:
            declaration = _declaration(declaring)
            for record_id in wanted.get((hash_id, declaring.party), []) if declaration else []:
                if record_id != declaring.id:
                    found[record_id] = declaration
    return found


def _declaration(record: Record) -> Declaration | None:
    """What a declaration record says (None when its body no longer parses: it reads tampered)."""
    body = parsed_body(record)
    declared = body.get("errorDeclaration") if body is not None else None
    if not isinstance(declared, dict):
        return None
    corrective = declared.get("correctiveEventIDs")
    return Declaration(
        record_id=record.id, business_id=record.business_id,
        declaration_time=declared.get("declarationTime"), reason=declared.get("reason"),
        corrective_event_ids=[i for i in corrective if isinstance(i, str)] if isinstance(corrective, list) else [],
    )
