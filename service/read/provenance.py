"""Provenance trails: every recorded event in an item's history, upstream to its origins, each verified.

The walk starts from the item and follows two kinds of links, each one hop (``depth`` bounds hops):

* aggregation: while the item was inside a container (from an AggregationEvent ADD or OBSERVE
  naming it as a child, until a DELETE removing it or emptying the container), the container's
  events count as the item's, and so do the container's own containers in that interval. A
  container is followed only upwards: its other children are siblings, not history. When the
  item itself is a parent, its children's history *before* they were packed into it is followed.
* transformation: when the item is an output of a TransformationEvent, every input's history up
  to the transformation is followed, recursively, as the item's own.

Only history at or before the moment of each link is followed (upstream); the starting item's own
events are all included, downstream ones too (its shipping and sale after it was made).

Problems reported, and what decides the verdict (first that applies):

* ``tampered``: an event's stored body no longer matches its anchored hash or proof.
* ``not_on_chain``: an event's batch claims to be anchored but the contract does not know its root.
* ``incomplete``: something the history should contain is missing, or the walk was cut short:
  - a *missing origin*: an item followed as an item (the starting one, a transformation input, a
    child of the starting parent) with no recorded origin at or before the moment it was needed,
    an origin being an ObjectEvent ADD listing it (commissioning), a TransformationEvent
    outputting it, or an AggregationEvent ADD making it a parent (a logistic unit is created by
    packing it). Containers reached from their contents need no origin of their own.
  - a cycle (an item found upstream of itself: the records contradict each other);
  - the walk stopped at ``depth`` with links left, or hit ``MAX_EVENTS`` / ``MAX_VISITS``.
* ``pending``: everything is there but some events are not anchored yet.
* ``verified``: every event verifies on chain and nothing above applies.

An event its party declared erroneous (``service.verify.declarations``) stays in the trail, marked
with its declaration, and a problem names the declaration, its reason and its corrective events;
that alone does not change the verdict (the declaration, an event naming the same items, is in the
trail too, verified like any).

Only the events ``viewer`` may read are seen (``service.access.viewer``), so links through other parties'
events are invisible to a party and may show up as missing origins. Class-level quantities (``quantityList`` epcClass)
are not followed: they do not identify an item.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlmodel import Session, select

from service.access.viewer import Viewer
from service.models.record import parsed_body
from service.anchor.chain import Chain
from service.errors import NotFound
from service.ingest.indexing import identifier
from service.models.record_term import ANY_EPC, TermName
from service.models import Record, RecordKind, RecordTerm
from service.timeutil import as_utc
from service.ingest.validation.json_limits import stored_object
from service.verify.declarations import Declaration, declarations_of
from service.verify.integrity import Derivations
from service.verify.verification import Verification, VerificationCache, VerificationStatus, verify_record

MAX_EVENTS = 10_000
MAX_VISITS = 10_000
_IN_CHUNK = 500

VERDICTS = ("tampered", "not_on_chain", "incomplete", "pending", "verified")


@dataclass(frozen=True)
class TrailEvent:
    """One event of the trail: how it was reached, how many links away, and whether it verifies."""

    record: Record
    verification: Verification
    via: str
    hops: int
    declaration: Declaration | None = None  # set when the event's party declared it erroneous


@dataclass(frozen=True)
class Trail:
    """An item's provenance: its events in time order and the overall verdict."""

    epc: str
    events: list[TrailEvent]
    verdict: str
    problems: list[str]
    truncated: bool


@dataclass(frozen=True)
class _Visit:
    """An item to look at, within a time window, reached through ``path``."""

    item: str
    since: datetime | None
    until: datetime | None
    hops: int
    via: str
    container: bool  # reached from its contents: follow only its own containers
    path: tuple[str, ...]
    link: int | None = None  # the record whose link led here (a child's packing event is not a way back up)

    def covers(self, moment: datetime) -> bool:
        return (self.since is None or moment >= self.since) and (self.until is None or moment <= self.until)


@dataclass(frozen=True)
class _Naming:
    """A record naming an item, with the role the item plays in it."""

    role: str  # a TermName value
    record: Record
    at: datetime
    body: dict


@dataclass
class _Walk:
    """The state of one walk: events reached (first reach wins: fewest hops), problems, truncation."""

    depth: int
    reached: dict[int, tuple[Record, str, int]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    gaps: bool = False  # missing origins or cycles
    truncated: bool = False  # depth reached with links left, or stopped
    stopped: bool = False  # a size bound was hit: no further levels


def trail(session: Session, chain: Chain, *, epc: str, viewer: Viewer, depth: int = 10,
          derivations: Derivations | None = None) -> Trail:
    """The provenance trail of ``epc`` (URN or Digital Link); NotFound when no visible event names it.
    ``derivations``: the process's memo of what bodies derive to (none: derive afresh)."""
    start = identifier(epc.strip())
    walk = _Walk(depth=depth)
    level = [_Visit(start, None, None, 0, "direct", False, ())]
    done: set[tuple] = set()
    visits = 0
    while level and not walk.stopped:
        namings = _namings(session, items={visit.item for visit in level}, viewer=viewer, limit=MAX_EVENTS + 1)
        if visits == 0 and not namings.get(start):
            raise NotFound(f"no event names {epc!r}", field="epc")
        if sum(map(len, namings.values())) > MAX_EVENTS:
            _stop(walk, f"more than {MAX_EVENTS} events name the items {level[0].hops} hops away")
        next_level: list[_Visit] = []
        for visit in level:
            visits += 1
            if visits > MAX_VISITS:
                _stop(walk, f"more than {MAX_VISITS} item visits")
                break
            next_level += _visit(walk, visit, namings.get(visit.item, []))
            if len(walk.reached) >= MAX_EVENTS:
                _stop(walk, f"more than {MAX_EVENTS} events in the trail")
                break
        level = []
        for candidate in next_level:
            key = (candidate.item, candidate.since, candidate.until, candidate.container)
            if key not in done:
                done.add(key)
                level.append(candidate)
    return _verified_trail(session, chain, epc=start, walk=walk, cache=VerificationCache(derivations=derivations or Derivations()))


def _visit(walk: _Walk, visit: _Visit, namings: list[_Naming]) -> list[_Visit]:
    """Record the visit's events in its window; return the visits its links lead to."""
    if visit.container:
        visit = _clip_at_emptying(visit, namings)
    for naming in namings:
        if visit.covers(naming.at) and naming.record.id not in walk.reached:
            walk.reached[naming.record.id] = (naming.record, visit.via, visit.hops)
    if not visit.container and not any(_is_origin(n) for n in namings if visit.covers(n.at)):
        walk.gaps = True
        walk.problems.append(f"missing origin: no commissioning, transformation or packing event creates {visit.item}"
                             + (f" up to {visit.until.isoformat()}" if visit.until else ""))
    links = list(_links(visit, namings))
    if links and visit.hops >= walk.depth:
        walk.truncated = True
        walk.problems.append(f"depth {walk.depth} reached at {visit.item}: {len(links)} link(s) not followed")
        return []
    followed = []
    for link in links:
        if link.item in link.path:
            walk.gaps = True
            walk.problems.append(f"cycle: {' -> '.join((*link.path, link.item))}")
        else:
            followed.append(link)
    return followed


def _links(visit: _Visit, namings: list[_Naming]) -> Iterable[_Visit]:
    """Containers during the window; for an item (not a container) also transformation inputs and children."""
    path = (*visit.path, visit.item)
    hops = visit.hops + 1
    for naming in namings:
        kind, action = naming.record.record_type, naming.body.get("action")
        if kind == "AggregationEvent" and naming.role == TermName.EPC and action in ("ADD", "OBSERVE"):
            parent = _ids(naming.body.get("parentID"))
            end = _removal(naming, namings)
            since = max(naming.at, visit.since) if visit.since else naming.at
            until = min(t for t in (end, visit.until) if t is not None) if end or visit.until else None
            if parent and naming.record.id != visit.link and (until is None or since <= until):
                yield _Visit(parent[0], since, until, hops, f"parent {parent[0]}", True, path, naming.record.id)
        if visit.container or (visit.until is not None and naming.at > visit.until):
            continue
        if kind == "TransformationEvent" and naming.role == TermName.OUTPUT:
            for item in _ids(naming.body.get("inputEPCList")):
                yield _Visit(item, None, naming.at, hops, f"input {item} of transformation {naming.record.id}", False, path,
                             naming.record.id)
        if kind == "AggregationEvent" and naming.role == TermName.PARENT and action in ("ADD", "OBSERVE"):
            for item in _ids(naming.body.get("childEPCs")):
                yield _Visit(item, None, naming.at, hops, f"child {item} of aggregation {naming.record.id}", False, path,
                             naming.record.id)


def _removal(added: _Naming, namings: list[_Naming]) -> datetime | None:
    """When the child named by ``added`` left its parent: the first later DELETE of it from that parent."""
    parent = _ids(added.body.get("parentID"))
    return min(
        (n.at for n in namings
         if n.record.record_type == "AggregationEvent" and n.role == TermName.EPC and n.at >= added.at
         and n.body.get("action") == "DELETE" and _ids(n.body.get("parentID")) == parent and n.record.id != added.record.id),
        default=None,
    )


def _clip_at_emptying(visit: _Visit, namings: list[_Naming]) -> _Visit:
    """A container's window ends where a DELETE without childEPCs empties it."""
    emptied = [
        n.at for n in namings
        if n.role == TermName.PARENT and n.body.get("action") == "DELETE" and not n.body.get("childEPCs")
        and visit.since is not None and n.at >= visit.since
    ]
    if not emptied or (visit.until is not None and min(emptied) >= visit.until):
        return visit
    return replace(visit, until=min(emptied))


def _is_origin(naming: _Naming) -> bool:
    kind, action = naming.record.record_type, naming.body.get("action")
    return (
        (kind == "ObjectEvent" and naming.role == TermName.EPC and action == "ADD")
        or (kind == "TransformationEvent" and naming.role == TermName.OUTPUT)
        or (kind == "AggregationEvent" and naming.role == TermName.PARENT and action == "ADD")
    )


def _namings(session: Session, *, items: set[str], viewer: Viewer, limit: int) -> dict[str, list[_Naming]]:
    """Every visible event naming each item (as epc, parent, input or output), oldest first, at most ``limit``."""
    found: dict[str, list[_Naming]] = {}
    bodies: dict[int, dict] = {}
    ordered = sorted(items)
    for start in range(0, len(ordered), _IN_CHUNK):
        statement = (
            select(RecordTerm.value, RecordTerm.name, Record)
            .join(Record, Record.id == RecordTerm.record_id)
            .where(RecordTerm.name.in_(ANY_EPC), RecordTerm.value.in_(ordered[start : start + _IN_CHUNK]))
            .where(Record.kind == RecordKind.EPCIS_EVENT, viewer.records(RecordKind.EPCIS_EVENT))
            .order_by(Record.occurred_at, Record.id)
            .limit(limit)
        )
        for value, name, record in session.exec(statement):
            if record.occurred_at is None:
                continue
            body = bodies.setdefault(record.id, parsed_body(record) or {})
            found.setdefault(value, []).append(_Naming(name, record, as_utc(record.occurred_at), body))
    return found


def _verified_trail(session: Session, chain: Chain, *, epc: str, walk: _Walk, cache: VerificationCache) -> Trail:
    declared = declarations_of(session, [record for record, _, _ in walk.reached.values()])
    events = [
        TrailEvent(record, verify_record(session, chain, record, cache=cache), via, hops, declared.get(record.id))
        for record, via, hops in sorted(walk.reached.values(), key=lambda entry: (as_utc(entry[0].occurred_at), entry[0].id))
    ]
    statuses = {event.verification.status for event in events}
    problems = [
        f"event {e.record.id} ({e.record.record_type} at {e.record.occurred_at:%Y-%m-%dT%H:%M:%S}, {e.via}) is "
        f"{e.verification.status}: {e.verification.reason}"
        for e in events
        if e.verification.status != VerificationStatus.VERIFIED
    ] + [
        f"event {e.record.id} ({e.record.record_type} at {e.record.occurred_at:%Y-%m-%dT%H:%M:%S}) is declared erroneous "
        f"by event {e.declaration.record_id} at {e.declaration.declaration_time}: reason {e.declaration.reason or 'none given'}; "
        f"corrective events: {', '.join(e.declaration.corrective_event_ids) or 'none'}"
        for e in events
        if e.declaration is not None
    ] + walk.problems
    if VerificationStatus.TAMPERED in statuses:
        verdict = "tampered"
    elif VerificationStatus.NOT_ON_CHAIN in statuses:
        verdict = "not_on_chain"
    elif walk.gaps or walk.truncated:
        verdict = "incomplete"
    elif VerificationStatus.PENDING in statuses:
        verdict = "pending"
    else:
        verdict = "verified"
    return Trail(epc=epc, events=events, verdict=verdict, problems=problems, truncated=walk.truncated)


def _stop(walk: _Walk, reason: str) -> None:
    walk.truncated = walk.stopped = True
    walk.problems.append(f"walk stopped: {reason}")


def _ids(value: object) -> list[str]:
    """Canonical ids of an EPC field (a string or a list of strings)."""
    values = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    return [identifier(item) for item in values if isinstance(item, str)]

