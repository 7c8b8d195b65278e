"""EPCIS-style event queries and transaction listings, keyset-paginated and visibility-scoped.

Semantics follow the EPCIS 2.0 query interface for the subset we serve: a parameter's
comma-separated values are alternatives (OR), different parameters must all hold (AND). Every
value is normalised exactly as the stored columns and terms were (``service.ingest.indexing``), so a
query may spell a bizStep short, as a URN or as the CBV URI, and an EPC as a URN or any GS1
Digital Link: all find the same events.

MATCH_epc / MATCH_anyEPC accept a trailing ``*`` in two forms that denote "every instance of this
class": an EPC pure-identity pattern (``urn:epc:idpat:sgtin:0614141.107346.*``) and a Digital Link
of a primary key followed by ``/*`` (``https://id.gs1.org/01/10614141073464/*``). Both are
canonicalised to the class's Digital Link and matched as a prefix of the stored canonical ids, an
index range scan. Any other ``*`` (partial serials, partial keys) is refused with 422: a partial
value has no canonical form, so it could not be matched reliably against canonical ids.
The range relies on byte-order comparison of ``record_term.value`` (SQLite's BINARY, PostgreSQL's
C / C.UTF-8 collation), which is what canonical ASCII ids compare under anyway.

Timestamps without an offset are taken as UTC; one that does not exist in UTC (year 1 at +01:00)
is refused with 422.

``EVENT_PARAMETERS`` is the one table of the event query's parameters: it parses them here and
documents them in OpenAPI (``GET /v1/events`` publishes it), so the two cannot drift apart.
"""

from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import and_, func, literal, or_
from sqlmodel import Session, select

from service.access.viewer import Viewer
from service.errors import InvalidParameter, TooManyResults
from service.hashing.epcis import HASH_ID_PREFIX
from service.hashing.vocabulary import BIZ_STEPS, BIZ_TRANSACTION_TYPES, DISPOSITIONS, ERROR_REASONS
from service.ingest.indexing import biz_transaction_term, identifier, source_destination_term, time_term, vocabulary
from service.models import (
    Batch,
    BatchStatus,
    LocationEdge,
    LocationVocabulary,
    Record,
    RecordKind,
    RecordLeaf,
    RecordStatus,
    RecordTerm,
    TermName,
)
from service.models.record_term import ANY_EPC
from service.read.pagination import (
    DEFAULT_PER_PAGE,
    MAX_PER_PAGE,
    PER_PAGE_FIELD,
    TOKEN_FIELD,
    Page,
    PageRequest,
    PageTokens,
    fingerprint,
    paginate,
)

EVENT_TYPES = ("ObjectEvent", "AggregationEvent", "TransactionEvent", "TransformationEvent", "AssociationEvent")
BIZ_TRANSACTION_PREFIX = "EQ_bizTransaction_"
SOURCE_PREFIX, DESTINATION_PREFIX = "EQ_source_", "EQ_destination_"
PARAMETER_PREFIXES = (BIZ_TRANSACTION_PREFIX, SOURCE_PREFIX, DESTINATION_PREFIX)
ACTIONS = ("ADD", "OBSERVE", "DELETE")
_MAX_VALUES = 100  # alternatives per parameter: keeps IN lists (and query plans) small
#: WD_bizLocation / WD_readPoint: levels walked below the given locations, and the most locations found
#: there (beyond: 413 naming the parameter); bounds the work a hierarchy in master data can cause.
MAX_LOCATION_DEPTH = 32
MAX_DESCENDANTS = 10_000

# Canonical Digital Link keys whose serial follows the key directly (no "/<AI>/" in between).
_SERIAL_APPENDED = ("/8003/", "/253/", "/255/")
_RECORD_ORDER = (Record.occurred_at, Record.id)  # the index order of ix_record_kind_time and ix_record_party_time
#: orderBy: eventTime follows the time indexes; recordTime is the order of storing (ids ascend with created_at
#: within one writer, and ties are broken by id).
_EVENT_ORDERS = {"eventTime": _RECORD_ORDER, "recordTime": (Record.created_at, Record.id)}


class Direction(StrEnum):
    """orderDirection."""

    ASC = "ASC"
    DESC = "DESC"


@dataclass(frozen=True)
class TermMatch:
    """Records having a term of one of ``names`` whose value is one of ``values`` or starts with one of ``prefixes``."""

    names: tuple[str, ...]
    values: tuple[str, ...] = ()
    prefixes: tuple[str, ...] = ()
    at_least: str | None = None  # and values in [at_least, below), compared as text (time terms: time order)
    below: str | None = None


@dataclass(frozen=True)
class EventQuery:
    """A parsed, normalised event query; empty tuples mean "no constraint"."""

    event_types: tuple[str, ...] = ()
    biz_steps: tuple[str, ...] = ()
    dispositions: tuple[str, ...] = ()
    biz_locations: tuple[str, ...] = ()
    read_points: tuple[str, ...] = ()
    biz_locations_within: tuple[str, ...] = ()  # WD_bizLocation: these or their descendants
    read_points_within: tuple[str, ...] = ()  # WD_readPoint
    event_ids: tuple[str, ...] = ()
    statuses: tuple[RecordStatus, ...] = ()
    since: datetime | None = None
    before: datetime | None = None
    recorded_since: datetime | None = None
    recorded_before: datetime | None = None
    terms: tuple[TermMatch, ...] = ()
    event_count_limit: int | None = None
    max_event_count: int | None = None
    order_by: str = "eventTime"
    direction: Direction = Direction.ASC
    per_page: int = DEFAULT_PER_PAGE
    page_token: str | None = None

    def fingerprint(self, *, viewer: Viewer) -> bytes:
        """What a page token is bound to: every filter and the caller, not the page size or position."""
        filters = asdict(self)
        del filters["per_page"], filters["page_token"]
        return fingerprint("events", [viewer.party, viewer.everything], filters)

    def page(self, tokens: PageTokens) -> PageRequest:
        """The page this query asks for, its token checked by ``tokens``."""
        return PageRequest(tokens=tokens, per_page=self.per_page, token=self.page_token)


def parse_event_query(params: Mapping[str, str]) -> EventQuery:
    """Validate and normalise EPCIS query parameters; InvalidParameter (422) names the offending one."""
    fields: dict = {}
    terms: list[TermMatch] = []
    for name, raw in params.items():
        if name.startswith(BIZ_TRANSACTION_PREFIX) and len(name) > len(BIZ_TRANSACTION_PREFIX):
            kind = vocabulary(name[len(BIZ_TRANSACTION_PREFIX):], BIZ_TRANSACTION_TYPES)
            values = _values(name, raw)
            terms.append(TermMatch((TermName.BIZ_TRANSACTION,), tuple(biz_transaction_term(kind, v) for v in values)))
            continue
        family = next(((prefix, term) for prefix, term in ((SOURCE_PREFIX, TermName.SOURCE), (DESTINATION_PREFIX, TermName.DESTINATION))
                       if name.startswith(prefix) and len(name) > len(prefix)), None)
        if family is not None:
            kind = name[len(family[0]):]
            terms.append(TermMatch((family[1],), tuple(source_destination_term(kind, v) for v in _values(name, raw))))
            continue
        if name not in EVENT_PARAMETERS:
            raise InvalidParameter(f"unknown query parameter {name!r}", field=name)
        parameter = EVENT_PARAMETERS[name]
        if parameter.target is None:
            terms.append(parameter.parse(name, raw))
        else:
            fields[parameter.target] = parameter.parse(name, raw)
    if "event_count_limit" in fields and "max_event_count" in fields:
        raise InvalidParameter("eventCountLimit and maxEventCount exclude each other", field="maxEventCount")
    if "event_count_limit" in fields:  # one page of at most that many events
        fields["per_page"] = fields["event_count_limit"]
    return EventQuery(terms=tuple(sorted(terms, key=repr)), **fields)  # sorted: parameter order is no part of the query


def query_events(session: Session, *, query: EventQuery, viewer: Viewer, tokens: PageTokens) -> Page:
    """One page of the EPCIS events ``viewer`` may read that match ``query``.

    ``tokens`` signs the next page's token and checks the one in ``query``.
    """
    statement = matching_events(query, viewer=viewer)
    for name, roots, vocabulary in _within(query):
        _at_most(session, _descendants(roots, vocabulary, viewer=viewer), MAX_DESCENDANTS,
                 f"{name}: the locations below exceed {MAX_DESCENDANTS} in the master data you may read", field=name)
    if query.max_event_count is not None:
        _at_most(session, statement.with_only_columns(Record.id), query.max_event_count)
    page = paginate(
        session,
        statement,
        order=_EVENT_ORDERS[query.order_by],
        descending=query.direction == Direction.DESC,
        page=query.page(tokens),
        scope=query.fingerprint(viewer=viewer),
    )
    return Page(items=page.items, next_page_token=None) if query.event_count_limit is not None else page


def matching_events(query: EventQuery, *, viewer: Viewer):
    """The statement selecting the EPCIS events ``viewer`` may read that match ``query``'s filters
    (unordered, unpaged: webhook delivery walks it by record id)."""
    statement = select(Record).where(Record.kind == RecordKind.EPCIS_EVENT)
    for column, values in (
        (Record.record_type, query.event_types),
        (Record.biz_step, query.biz_steps),
        (Record.disposition, query.dispositions),
        (Record.biz_location, query.biz_locations),
        (Record.read_point, query.read_points),
    ):
        if values:
            statement = statement.where(column.in_(values))
    for _, roots, vocabulary in _within(query):
        column = Record.biz_location if vocabulary == LocationVocabulary.BIZ_LOCATION else Record.read_point
        below = _descendants(roots, vocabulary, viewer=viewer).limit(MAX_DESCENDANTS)  # query_events refuses more (413)
        statement = statement.where(or_(column.in_(roots), column.in_(below)))
    if len(set(query.statuses)) == 1:  # both statuses: no constraint
        statement = statement.where(_has_status(query.statuses[0]))
    statement = _time_range(statement, since=query.since, before=query.before)
    if query.recorded_since is not None:
        statement = statement.where(Record.created_at >= query.recorded_since)
    if query.recorded_before is not None:
        statement = statement.where(Record.created_at < query.recorded_before)
    if query.event_ids:  # the eventID captured, or the hash ID of an event captured without one
        captured = _term_records(TermMatch((TermName.EVENT_ID,), query.event_ids))
        statement = statement.where(or_(Record.business_id.in_(query.event_ids), Record.id.in_(captured)))
    for match in query.terms:
        statement = statement.where(Record.id.in_(_term_records(match)))
    return statement.where(viewer.records(RecordKind.EPCIS_EVENT))


def _at_most(session: Session, statement, limit: int, message: str | None = None, *, field: str = "maxEventCount") -> None:
    """TooManyResults (413) when ``statement`` (one column) matches more than ``limit`` rows (counting stops there)."""
    matched = session.exec(select(func.count()).select_from(statement.limit(limit + 1).subquery())).one()
    if matched > limit:
        raise TooManyResults(message or f"maxEventCount: more than {limit} events match; narrow the query or raise the limit",
                             field=field)


def _within(query: EventQuery) -> list[tuple[str, tuple[str, ...], LocationVocabulary]]:
    """The WD_ filters of ``query``: parameter name, the locations given, the vocabulary walked."""
    return [(name, roots, vocabulary) for name, roots, vocabulary in (
        ("WD_bizLocation", query.biz_locations_within, LocationVocabulary.BIZ_LOCATION),
        ("WD_readPoint", query.read_points_within, LocationVocabulary.READ_POINT),
    ) if roots]


def _descendants(roots: tuple[str, ...], vocabulary: LocationVocabulary, *, viewer: Viewer):
    """The distinct locations below ``roots`` in the master data of parties ``viewer`` may read: a
    recursive walk of ``location_edge`` down to :data:`MAX_LOCATION_DEPTH` levels. The depth bound ends
    any cycle (UNION keeps each location once per level, so a walk does at most that many levels' work)."""
    edge = LocationEdge.__table__.c
    visible = and_(edge.vocabulary == vocabulary.value, viewer.declared(edge.party))
    tree = (select(edge.child.label("location"), literal(1).label("depth"))
            .where(edge.parent.in_(roots), visible).cte("location_tree", recursive=True))
    below = (select(edge.child, tree.c.depth + 1).join(tree, edge.parent == tree.c.location)
             .where(tree.c.depth < MAX_LOCATION_DEPTH, visible))
    tree = tree.union(below)
    return select(tree.c.location).distinct()


def query_transactions(
    session: Session,
    *,
    kind: str | None = None,
    sku: str | None = None,
    party_filter: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    status: RecordStatus | str | None = None,
    page: PageRequest,
    viewer: Viewer,
) -> Page:
    """The transactions ``viewer`` may read, oldest first, filtered by kind, SKU, seller-or-buyer,
    [since, until) and status.

    ``party_filter`` is a filter (either side of the deal); ``viewer`` is visibility (``service.access.viewer``).
    """
    since, until = (None if t is None else _utc(name, t) for name, t in (("since", since), ("until", until)))
    status = _status("status", status) if status is not None else None
    statement = select(Record).where(Record.kind == RecordKind.TRANSACTION)
    if kind is not None:
        statement = statement.where(Record.record_type == kind)
    if status is not None:
        statement = statement.where(_has_status(status))
    for name, value in ((TermName.SKU, sku), (TermName.PARTY, party_filter)):
        if value is not None:
            statement = statement.where(Record.id.in_(_term_records(TermMatch((name,), (value,)))))
    statement = _time_range(statement, since=since, before=until).where(viewer.records(RecordKind.TRANSACTION))
    filters = {"kind": kind, "sku": sku, "party": party_filter, "since": since, "until": until, "status": status}
    return paginate(
        session, statement, order=_RECORD_ORDER, descending=False, page=page, scope=fingerprint("transactions", [viewer.party, viewer.everything], filters)
    )


def _term_records(match: TermMatch):
    """Ids of records with a matching term: one index range per value or prefix on (name, value, record_id)."""
    conditions = [RecordTerm.value.in_(match.values)] if match.values else []
    conditions += [and_(RecordTerm.value >= prefix, RecordTerm.value < _successor(prefix)) for prefix in match.prefixes]
    bounds = ([RecordTerm.value >= match.at_least] if match.at_least is not None else []) + (
        [RecordTerm.value < match.below] if match.below is not None else [])
    if bounds:
        conditions.append(and_(*bounds))
    return select(RecordTerm.record_id).where(RecordTerm.name.in_(match.names), or_(*conditions))


def _has_status(status: RecordStatus):
    """Records that are anchored (their batch is), or pending (no batch yet, or one not anchored)."""
    anchored = (
        select(RecordLeaf.record_id)
        .join(Batch, Batch.id == RecordLeaf.batch_id)
        .where(RecordLeaf.record_id == Record.id, Batch.status == BatchStatus.ANCHORED)
        .exists()
    )
    return anchored if status == RecordStatus.ANCHORED else ~anchored


def _time_range(statement, *, since: datetime | None, before: datetime | None):
    if since is not None:
        statement = statement.where(Record.occurred_at >= since)
    if before is not None:
        statement = statement.where(Record.occurred_at < before)
    return statement


def _successor(prefix: str) -> str:
    """The least string greater than every string starting with ``prefix`` (prefixes end in ASCII)."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


# ---- parameter parsers ------------------------------------------------------------------------


def _values(name: str, raw: str) -> list[str]:
    values = [value.strip() for value in raw.split(",")]
    if not raw.strip() or any(not value for value in values):
        raise InvalidParameter(f"{name}: empty value", field=name)
    if len(values) > _MAX_VALUES:
        raise InvalidParameter(f"{name}: at most {_MAX_VALUES} values", field=name)
    return list(dict.fromkeys(values))


def _vocabulary_list(terms: dict[str, str]):
    return lambda name, raw: tuple(vocabulary(value, terms) for value in _values(name, raw))


def _identifier_list(name: str, raw: str) -> tuple[str, ...]:
    return tuple(identifier(value) for value in _values(name, raw))


def _epc_match(names: Iterable[str]):
    def parse(name: str, raw: str) -> TermMatch:
        values, prefixes = [], []
        for value in _values(name, raw):
            if "*" in value:
                prefixes.append(_wildcard_prefix(name, value))
            else:
                values.append(identifier(value))
        return TermMatch(tuple(names), tuple(values), tuple(prefixes))

    return parse


def _wildcard_prefix(name: str, pattern: str) -> str:
    """The canonical-id prefix every instance matching ``pattern`` starts with (see module docstring)."""
    if pattern.startswith("urn:epc:idpat:"):
        key = identifier(pattern)
    elif pattern.endswith("/*") and "*" not in pattern[:-1]:
        key = identifier(pattern[:-2])
    else:
        key = pattern
    if key == pattern or not key.startswith("https://") or "*" in key:
        raise InvalidParameter(
            f"{name}: unsupported wildcard {pattern!r}: use an EPC pattern URN (urn:epc:idpat:...) "
            "or a Digital Link primary key followed by '/*'",
            field=name,
        )
    return key if any(marker in key for marker in _SERIAL_APPENDED) else key + "/"


def _strings(name: str, raw: str) -> tuple[str, ...]:
    return tuple(_values(name, raw))


def _actions(name: str, raw: str) -> TermMatch:
    values = _values(name, raw)
    unknown = [value for value in values if value not in ACTIONS]
    if unknown:
        raise InvalidParameter(f"{name}: unknown action {unknown[0]!r} (one of {', '.join(ACTIONS)})", field=name)
    return TermMatch((TermName.ACTION,), tuple(values))


def _declares_error(name: str, raw: str) -> TermMatch:
    """Error declarations (records whose event carries ``errorDeclaration``): whatever the value."""
    return TermMatch((TermName.DECLARES,), prefixes=(HASH_ID_PREFIX,))


def _declared_at_least(name: str, raw: str) -> TermMatch:
    return TermMatch((TermName.DECLARED_AT,), at_least=time_term(_timestamp(name, raw)))


def _declared_before(name: str, raw: str) -> TermMatch:
    return TermMatch((TermName.DECLARED_AT,), below=time_term(_timestamp(name, raw)))


def _error_reasons(name: str, raw: str) -> TermMatch:
    return TermMatch((TermName.ERROR_REASON,), tuple(vocabulary(value, ERROR_REASONS) for value in _values(name, raw)))


def _corrective_events(name: str, raw: str) -> TermMatch:
    return TermMatch((TermName.CORRECTIVE_EVENT,), tuple(_values(name, raw)))


def _event_types(name: str, raw: str) -> tuple[str, ...]:
    values = _values(name, raw)
    unknown = [value for value in values if value not in EVENT_TYPES]
    if unknown:
        raise InvalidParameter(f"{name}: unknown event type {unknown[0]!r} (one of {', '.join(EVENT_TYPES)})", field=name)
    return tuple(values)


def _status(name: str, raw: str) -> RecordStatus:
    try:
        return RecordStatus(raw)
    except ValueError:
        raise InvalidParameter(f"{name}: {raw!r} is not one of {', '.join(RecordStatus)}", field=name) from None


def _statuses(name: str, raw: str) -> tuple[RecordStatus, ...]:
    return tuple(_status(name, value) for value in _values(name, raw))


def _timestamp(name: str, raw: str) -> datetime:
    try:
        moment = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidParameter(f"{name}: not an ISO 8601 timestamp: {raw!r}", field=name) from None
    return _utc(name, moment)


def _utc(name: str, moment: datetime) -> datetime:
    """The moment in UTC (naive: taken as UTC); 422 naming ``name`` when it is in no year 1-9999 there."""
    try:
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00:00+01:00, which is in year 0 in UTC
        raise InvalidParameter(f"{name}: {moment.isoformat()} is outside years 1 to 9999 in UTC", field=name) from None


def _order_by(name: str, raw: str) -> str:
    if raw not in _EVENT_ORDERS:
        raise InvalidParameter(f"{name}: eventTime or recordTime, not {raw!r}", field=name)
    return raw


def _direction(name: str, raw: str) -> Direction:
    try:
        return Direction(raw.upper())
    except ValueError:
        raise InvalidParameter(f"{name}: ASC or DESC", field=name) from None


def _per_page(name: str, raw: str) -> int:
    text = raw.strip()
    if not (text.isascii() and text.isdigit() and len(text) <= len(str(MAX_PER_PAGE)) and 1 <= int(text) <= MAX_PER_PAGE):
        raise InvalidParameter(f"{name}: an integer between 1 and {MAX_PER_PAGE}, not {raw!r}", field=name)
    return int(text)


def _count(name: str, raw: str) -> int:
    return _per_page(name, raw)


def _page_token(name: str, raw: str) -> str:
    return raw


@dataclass(frozen=True)
class EventParameter:
    """One query parameter of ``GET /v1/events``: how it is parsed, and how it is documented."""

    target: str | None  # the EventQuery field it sets, or None for a term match
    parse: Callable[[str, str], object]
    description: str
    examples: tuple[str, ...] = ()
    schema: Mapping[str, object] = field(default_factory=lambda: {"type": "string"})


_LIST = " Several values, separated by commas, are alternatives (OR)."
_WITHIN = f" At most {MAX_LOCATION_DEPTH} levels down; more than {MAX_DESCENDANTS} locations below is a 413."
_TIME = " ISO 8601; without an offset the time is taken as UTC."
_EPC = (
    " An EPC URN or GS1 Digital Link; a pure-identity pattern (`urn:epc:idpat:sgtin:0614141.107346.*`) or a"
    " Digital Link primary key followed by `/*` matches every instance of that class."
)
EVENT_PARAMETERS: dict[str, EventParameter] = {
    "eventType": EventParameter("event_types", _event_types, f"Event types ({', '.join(EVENT_TYPES)})." + _LIST,
                                ("ObjectEvent", "ObjectEvent,AggregationEvent")),
    "EQ_bizStep": EventParameter("biz_steps", _vocabulary_list(BIZ_STEPS),
                                 "CBV business step: short name, URN or CBV URI." + _LIST,
                                 ("shipping", "urn:epcglobal:cbv:bizstep:receiving", "shipping,receiving")),
    "EQ_disposition": EventParameter("dispositions", _vocabulary_list(DISPOSITIONS),
                                     "CBV disposition: short name, URN or CBV URI." + _LIST, ("in_transit",)),
    "GE_eventTime": EventParameter("since", _timestamp, "Events at or after this time." + _TIME,
                                   ("2026-03-01T00:00:00Z",), {"type": "string", "format": "date-time"}),
    "LT_eventTime": EventParameter("before", _timestamp, "Events before this time." + _TIME,
                                   ("2026-04-01T00:00:00+02:00",), {"type": "string", "format": "date-time"}),
    "MATCH_epc": EventParameter(None, _epc_match((TermName.EPC,)),
                                "Events naming the EPC in `epcList` or `childEPCs`." + _EPC + _LIST,
                                ("urn:epc:id:sgtin:0614141.107346.2017", "https://id.gs1.org/01/10614141073464/*")),
    "MATCH_anyEPC": EventParameter(None, _epc_match(ANY_EPC),
                                   "Events naming the EPC anywhere: `epcList`, `childEPCs`, `parentID`, "
                                   "`inputEPCList`, `outputEPCList`." + _EPC + _LIST,
                                   ("urn:epc:idpat:sgtin:0614141.107346.*",)),
    "GE_recordTime": EventParameter("recorded_since", _timestamp, "Events stored at or after this time." + _TIME,
                                    ("2026-03-01T00:00:00Z",), {"type": "string", "format": "date-time"}),
    "LT_recordTime": EventParameter("recorded_before", _timestamp, "Events stored before this time." + _TIME,
                                    ("2026-04-01T00:00:00Z",), {"type": "string", "format": "date-time"}),
    "MATCH_parentID": EventParameter(None, _epc_match((TermName.PARENT,)),
                                     "Events whose `parentID` is the EPC." + _EPC + _LIST, ("urn:epc:id:sscc:0614141.1234567890",)),
    "MATCH_inputEPC": EventParameter(None, _epc_match((TermName.INPUT,)),
                                     "Transformation events naming the EPC in `inputEPCList`." + _EPC + _LIST,
                                     ("urn:epc:id:sgtin:4012345.011122.25",)),
    "MATCH_outputEPC": EventParameter(None, _epc_match((TermName.OUTPUT,)),
                                      "Transformation events naming the EPC in `outputEPCList`." + _EPC + _LIST,
                                      ("urn:epc:id:sgtin:4012345.077889.25",)),
    "MATCH_anyEPCClass": EventParameter(None, _epc_match((TermName.EPC_CLASS,)),
                                        "Events naming the class in any quantity list (`quantityList`, `childQuantityList`, "
                                        "`inputQuantityList`, `outputQuantityList`)." + _EPC + _LIST,
                                        ("urn:epc:class:lgtin:4012345.012345.998877",)),
    "EQ_bizLocation": EventParameter("biz_locations", _identifier_list,
                                     "Business location: SGLN URN or GS1 Digital Link." + _LIST,
                                     ("urn:epc:id:sgln:0614141.00888.0",)),
    "EQ_readPoint": EventParameter("read_points", _identifier_list, "Read point: SGLN URN or GS1 Digital Link." + _LIST,
                                   ("urn:epc:id:sgln:0614141.00777.0",)),
    "WD_bizLocation": EventParameter("biz_locations_within", _identifier_list,
                                     "Business location or any location below it (the `children` of BusinessLocation "
                                     "elements in captured master data of parties whose events you may read)." + _WITHIN + _LIST,
                                     ("urn:epc:id:sgln:0614141.00888.0",)),
    "WD_readPoint": EventParameter("read_points_within", _identifier_list,
                                   "Read point or any read point below it (the `children` of ReadPoint elements in captured "
                                   "master data of parties whose events you may read)." + _WITHIN + _LIST,
                                   ("urn:epc:id:sgln:0614141.00777.0",)),
    "EQ_action": EventParameter(None, _actions, "The event's `action`: ADD, OBSERVE or DELETE." + _LIST, ("OBSERVE",)),
    "EQ_eventID": EventParameter("event_ids", _strings,
                                 "Events by `eventID` as captured, or by CBV 2.0 event hash ID (the ID of an event "
                                 "captured without one)." + _LIST, ("ni:///sha-256;df7bb3c352fef055578554f09f5e2aa41782150ced7bd0b8af24dd3ccb30ba69?ver=CBV2.0",)),
    "EXISTS_errorDeclaration": EventParameter(None, _declares_error,
                                              "Only error declarations (events carrying `errorDeclaration`); the value is ignored.", ("",)),
    "GE_errorDeclarationTime": EventParameter(None, _declared_at_least, "Error declarations declared at or after this time." + _TIME,
                                              ("2026-03-01T00:00:00Z",), {"type": "string", "format": "date-time"}),
    "LT_errorDeclarationTime": EventParameter(None, _declared_before, "Error declarations declared before this time." + _TIME,
                                              ("2026-04-01T00:00:00Z",), {"type": "string", "format": "date-time"}),
    "EQ_errorReason": EventParameter(None, _error_reasons, "Error declarations for this reason: CBV short name, URN or URI." + _LIST,
                                     ("did_not_occur", "urn:epcglobal:cbv:er:incorrect_data")),
    "EQ_correctiveEventID": EventParameter(None, _corrective_events,
                                           "Error declarations naming this corrective event ID." + _LIST, ("urn:uuid:1",)),
    "status": EventParameter("statuses", _statuses, "Anchoring status: `anchored` or `pending`." + _LIST,
                             ("anchored",)),
    "orderBy": EventParameter("order_by", _order_by, "Sort key: `eventTime` or `recordTime` (ties broken by record id).",
                              ("eventTime", "recordTime"), {"type": "string", "enum": ["eventTime", "recordTime"], "default": "eventTime"}),
    "orderDirection": EventParameter("direction", _direction, "`ASC` (oldest first, the default) or `DESC`.",
                                     ("DESC",), {"type": "string", "enum": ["ASC", "DESC"], "default": "ASC"}),
    "eventCountLimit": EventParameter("event_count_limit", _count,
                                      f"At most this many events (1 to {MAX_PER_PAGE}), in one page; excludes `maxEventCount`.",
                                      ("10",), {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE}),
    "maxEventCount": EventParameter("max_event_count", _count,
                                    f"Refuse (413) a query matching more than this many events (1 to {MAX_PER_PAGE}).",
                                    ("1000",), {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE}),
    PER_PAGE_FIELD: EventParameter("per_page", _per_page, f"Events per page, 1 to {MAX_PER_PAGE}.", ("100",),
                                   {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE, "default": DEFAULT_PER_PAGE}),
    TOKEN_FIELD: EventParameter("page_token", _page_token,
                                "The `nextPageToken` of the previous page, unchanged, with the same filters; "
                                "absent for the first page."),
}
"""Every parameter ``parse_event_query`` knows, besides the families of ``PARAMETER_PREFIXES``
(``EQ_bizTransaction_<type>``, ``EQ_source_<type>``, ``EQ_destination_<type>``)."""
