"""Location hierarchies carried by EPCIS documents: the ``children`` of BusinessLocation and
ReadPoint elements in ``epcisHeader.epcisMasterData.vocabularyList``, kept as parent -> child edges
of the capturing party (``location_edge``), which ``WD_bizLocation`` and ``WD_readPoint`` walk.

Edges are stored in the transaction that stores the document's events, so a capture keeps both or
neither. Ids are canonicalised like the record columns they are matched with, so a hierarchy given
in EPC URNs finds events captured with Digital Links. A document may declare at most
:data:`MAX_EDGES` edges; the walk itself is bounded in ``service.read.queries``.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from service.errors import InvalidRecord
from service.ingest.indexing import identifier
from service.ingest.validation.json_limits import MAX_IDENTIFIER_CHARS
from service.models import LocationEdge, LocationVocabulary
from service.timeutil import utcnow

VOCABULARY_TYPES = {
    "urn:epcglobal:epcis:vtype:BusinessLocation": LocationVocabulary.BIZ_LOCATION,
    "urn:epcglobal:epcis:vtype:ReadPoint": LocationVocabulary.READ_POINT,
}
MAX_EDGES = 10_000
_LIST = "epcisHeader.epcisMasterData.vocabularyList"


@dataclass(frozen=True)
class Edge:
    """``child`` is directly below ``parent`` in ``vocabulary`` (canonical ids)."""

    vocabulary: LocationVocabulary
    parent: str
    child: str


def hierarchy_of(document: object) -> tuple[Edge, ...]:
    """The location edges a (schema-valid) document's master data declares, in document order, each
    once; InvalidRecord naming the child when an id is too long or there are too many edges."""
    header = document.get("epcisHeader") if isinstance(document, dict) else None
    master_data = header.get("epcisMasterData") if isinstance(header, dict) else None
    vocabularies = master_data.get("vocabularyList") if isinstance(master_data, dict) else None
    edges: dict[Edge, None] = {}
    for v, vocabulary in enumerate(vocabularies if isinstance(vocabularies, list) else ()):
        kind = VOCABULARY_TYPES.get(vocabulary.get("type")) if isinstance(vocabulary, dict) else None
        if kind is None:
            continue
        for e, element in enumerate(vocabulary.get("vocabularyElementList") or ()):
            for c, child in enumerate(element.get("children") or ()):
                field = f"{_LIST}[{v}].vocabularyElementList[{e}].children[{c}]"
                for value, name in ((element["id"], f"{_LIST}[{v}].vocabularyElementList[{e}].id"), (child, field)):
                    if len(value) > MAX_IDENTIFIER_CHARS:
                        raise InvalidRecord(f"{name}: at most {MAX_IDENTIFIER_CHARS} characters", field=name)
                parent, below = identifier(element["id"]), identifier(child)
                if parent != below:  # an element its own child says nothing
                    edges[Edge(kind, parent, below)] = None
                if len(edges) > MAX_EDGES:
                    raise InvalidRecord(f"{_LIST}: at most {MAX_EDGES} parent-child links per document", field=field)
    return tuple(edges)


def store_hierarchy(session: Session, edges: Iterable[Edge], *, party: str) -> None:
    """Add ``party``'s edges not stored yet, in the caller's transaction."""
    rows = [{"vocabulary": edge.vocabulary.value, "parent": edge.parent, "child": edge.child, "party": party,
             "created_at": utcnow()} for edge in dict.fromkeys(edges)]
    if not rows:
        return
    connection = session.connection()
    insert = postgresql_insert if connection.dialect.name == "postgresql" else sqlite_insert
    statement = insert(LocationEdge.__table__).on_conflict_do_nothing(index_elements=["vocabulary", "parent", "child", "party"])
    connection.execute(statement, rows)
