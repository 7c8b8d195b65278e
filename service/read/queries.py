"""EPCIS-style event queries and transaction listings, keyset-paginated and visibility-scoped.

An :class:`EventQuery` is parsed and normalised from the query language by ``service.read.parameters``;
here it becomes one statement: different parameters must all hold (AND), a parameter's values are
alternatives (OR). Multi-valued facts (EPCs, classes, quantities, sensor data, ...) are matched through
``record_term`` (:class:`TermMatch`): one index range per value, prefix or bound on (name, value, record_id).
The ranges rely on byte-order comparison of ``record_term.value`` (SQLite's BINARY, PostgreSQL's
C / C.UTF-8 collation), which is what canonical ASCII ids and the fixed-width time and number terms
of ``service.ingest.indexing`` compare under anyway.
"""

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import and_, func, literal, or_
from sqlmodel import Session, select

from service.access.viewer import Viewer
from service.errors import InvalidParameter, TooManyResults
from service.models import (
    Batch,
    LocationEdge,
    LocationVocabulary,
    BatchStatus,
    Record,
    RecordKind,
    RecordLeaf,
    RecordStatus,
    RecordTerm,
    TermName,
)
from service.read.pagination import (
    DEFAULT_PER_PAGE,
    Page,
    PageRequest,
    PageTokens,
    fingerprint,
    paginate,
)

EVENT_TYPES = ("ObjectEvent", "AggregationEvent", "TransactionEvent", "TransformationEvent", "AssociationEvent")
#: WD_bizLocation / WD_readPoint: levels walked below the given locations, and the most locations found
#: there (beyond: 413 naming the parameter); bounds the work a hierarchy in master data can cause.
MAX_LOCATION_DEPTH = 32
MAX_DESCENDANTS = 10_000

_RECORD_ORDER = (Record.occurred_at, Record.id)  # the index order of ix_record_kind_time and ix_record_party_time
#: orderBy: eventTime follows the time indexes; recordTime is the order of storing (ids ascend with created_at
#: within one writer, and ties are broken by id).
EVENT_ORDERS = {"eventTime": _RECORD_ORDER, "recordTime": (Record.created_at, Record.id)}


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
        order=EVENT_ORDERS[query.order_by],
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
        captured = _term_records(TermMatch((TermName.EVENT_ID, TermName.DECLARES), query.event_ids))  # declarations share it
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
            .where(edge.parent.in_(roots), visible).cte(f"{vocabulary.name.lower()}_tree", recursive=True))
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
    since, until = (None if t is None else parameter_utc(name, t) for name, t in (("since", since), ("until", until)))
    status = parameter_status("status", status) if status is not None else None
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


def parameter_status(name: str, raw: str) -> RecordStatus:
    try:
        return RecordStatus(raw)
    except ValueError:
        raise InvalidParameter(f"{name}: {raw!r} is not one of {', '.join(RecordStatus)}", field=name) from None


def parameter_utc(name: str, moment: datetime) -> datetime:
    """The moment in UTC (naive: taken as UTC); 422 naming ``name`` when it is in no year 1-9999 there."""
    try:
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00:00+01:00, which is in year 0 in UTC
        raise InvalidParameter(f"{name}: {moment.isoformat()} is outside years 1 to 9999 in UTC", field=name) from None
