"""Durable capture jobs (the EPCIS binding's ``POST /epcis/capture``): a document is accepted once it
is an EPCIS document within the limits, kept in ``capture_job``, and captured later by a worker.

A job is applied once, whatever stops a worker: its records are stored and the job marked finished
(its document dropped) in one database transaction, and marking it finished is conditional on it
not being finished yet, so a second worker that ran the same job rolls its work back. A worker
claims a job by marking it started (committed, on PostgreSQL after ``SELECT ... FOR UPDATE SKIP
LOCKED``, so that workers pass over a job another is claiming instead of queueing for it); others
leave a job started less than :data:`LEASE_SECONDS` ago alone. A job still unfinished after a
restart is run again by the new process once its lease is over (at once if it never started); one
that stopped its worker :data:`MAX_ATTEMPTS` times fails, saying so.

``rollback`` (the default) stores every event of a document or none; ``proceed`` stores every valid
event and lists the invalid ones, and those that conflict with what the party stored (an error
declaration stored before with other content). Errors are :class:`ErrorItem` dicts naming the event index and
field, plus the standard's exception name.
"""

import logging
import secrets
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import timedelta

from sqlalchemy import Engine, or_, update
from sqlmodel import Session, select

from service.errors import ErrorItem, InvalidInput, InvalidRecord, TraceAnchorError
from service.hashing.epcis import events_of
from service.ingest.candidates import Candidate, Source, SubmissionSignature, candidate, prepare_events
from service.ingest.capture import json_form
from service.ingest.master_data import Edge, hierarchy_of, store_hierarchy
from service.ingest.records import Stored, store_candidates
from service.ingest.signatures import check_signer, check_unsigned, keep_signature
from service.ingest.sources import keep_source
from service.ingest.validation.epcis import check_event_count, events_field, validate_document
from service.ingest.validation.json_limits import parse_json
from service.models import CaptureJob, RecordKind
from service.timeutil import utcnow

log = logging.getLogger(__name__)

ROLLBACK, PROCEED = "rollback", "proceed"
ERROR_BEHAVIOURS = (ROLLBACK, PROCEED)
DOCUMENT_TYPES = ("EPCISDocument", "EPCISQueryDocument")
MAX_ATTEMPTS = 3
LEASE_SECONDS = 60.0  # a started job is left alone this long (a worker that died holds it no longer)
POLL_SECONDS = 2.0  # how often a worker looks for jobs accepted by other processes
_PAGE = 100
Captured = list[tuple[int, str]]
"""(record id, content hash) of each event a job stored or found stored, in document order."""
OnCaptured = Callable[[Session, str, str, Captured], None]
"""Told (the job's session, party, captureID, captured) before the job's records are committed."""


@dataclass(frozen=True)
class Outcome:
    """What a job's document gives: the records to store and the problems found; ``positions`` are
    the candidates' event positions in the document (None: every event, in order)."""

    candidates: list[Candidate]
    errors: list[ErrorItem]
    hierarchy: tuple[Edge, ...] = ()  # the location edges of the document's master data
    positions: tuple[int, ...] | None = None


def accept_job(session: Session, raw: bytes, *, party: str, behaviour: str, max_events: int,
               media_type: str | None = None, signature: SubmissionSignature | None = None) -> CaptureJob:
    """Keep ``raw`` as a new job of ``party`` if it is an EPCIS document of at most ``max_events``
    events (its schema is checked by the job); ``InvalidInput`` or ``TooManyEvents`` otherwise.

    An XML document (``media_type`` given) is checked whole here, XSD included, so that a document
    that is not well-formed, hostile or invalid is refused at once (422) and never stored; the job
    then captures its JSON-LD form, keeping the XML beside the records.

    A signed document (``signature``, checked against its events by the caller) is all or nothing:
    with ``proceed`` the events stored could differ from those signed, so it is refused."""
    if behaviour not in ERROR_BEHAVIOURS:
        raise InvalidInput(f"GS1-Capture-Error-Behaviour: one of {', '.join(ERROR_BEHAVIOURS)}, not {behaviour!r}",
                           field="GS1-Capture-Error-Behaviour")
    if signature is not None and behaviour != ROLLBACK:
        raise InvalidInput(f"GS1-Capture-Error-Behaviour: a signed document is captured whole ({ROLLBACK}), not {behaviour!r}",
                           field="GS1-Capture-Error-Behaviour")
    if signature is not None:
        check_signer(session, signature, party=party)
    else:
        check_unsigned(session, party=party)
    document = parse_json(json_form(raw, max_events=max_events) if media_type is not None else raw)
    if not isinstance(document, dict) or document.get("type") not in DOCUMENT_TYPES:
        raise InvalidRecord("type: an EPCISDocument or EPCISQueryDocument is captured here (one event: POST /epcis/events)",
                            field="type")
    check_event_count(document, max_events=max_events)
    job = CaptureJob(capture_id=secrets.token_hex(16), party=party, error_behaviour=behaviour, document=raw, media_type=media_type,
                     signature=None if signature is None else asdict(signature))
    session.add(job)
    session.commit()
    session.refresh(job)
    return job


def outcome(raw: bytes, *, behaviour: str, max_events: int, xml: bool = False) -> Outcome:
    """Validate and hash a job's document (XML where ``xml``): every event or none (``rollback``), or
    every valid one (``proceed``; a fault of the document itself, outside its events, still rejects
    them all)."""
    document = parse_json(json_form(raw, max_events=max_events) if xml else raw)
    try:
        validate_document(document, max_events=max_events, official=not xml)
    except InvalidRecord as error:
        if behaviour == ROLLBACK or any(item.index is None for item in error.errors):
            return Outcome([], error.errors)
        return _with_hierarchy(_each_event(document, validate=True, official=not xml), document)
    if behaviour == PROCEED:
        return _with_hierarchy(_each_event(document, validate=False), document)
    try:
        return _with_hierarchy(Outcome(prepare_events(document), []), document)
    except InvalidRecord as error:
        return Outcome([], error.errors)


def _each_event(document: dict, *, validate: bool, official: bool = True) -> Outcome:
    """Each event on its own: the valid ones' candidates, the others' errors (by their index in the document)."""
    path = events_field(document)
    candidates, errors, positions = [], [], []
    for index, event in enumerate(events_of(document)):
        try:
            if validate:
                validate_document(event, max_events=1, official=official)
            candidates.append(candidate(RecordKind.EPCIS_EVENT, event, field=f"{path}[{index}]"))
            positions.append(index)
        except InvalidRecord as error:
            errors.extend(ErrorItem(field=_within(path, index, item.field), message=item.message, index=index)
                          for item in error.errors)
    return Outcome(candidates, errors, positions=tuple(positions))


def _with_hierarchy(outcome: Outcome, document: dict) -> Outcome:
    """``outcome`` with the document's location edges; a fault in them rejects every event."""
    try:
        return Outcome(outcome.candidates, outcome.errors, hierarchy=hierarchy_of(document), positions=outcome.positions)
    except InvalidRecord as error:
        return Outcome([], error.errors)


def _within(path: str, index: int, field: str | None) -> str:
    """An event's field as a path in its document (a bare event's fields are relative to it)."""
    event = f"{path}[{index}]"
    if field in (None, "", "$"):
        return event
    return field if field.startswith(event) else f"{event}.{field}"


def run_job(engine: Engine, job_id: int, *, max_events: int, lease_seconds: float = LEASE_SECONDS,
            on_captured: OnCaptured | None = None) -> bool:
    """Run one unfinished job; False if it is finished, or was started by a worker less than
    ``lease_seconds`` ago (that worker may still be at it). ``on_captured`` hears of the events the
    job stored, in the transaction that stores them and finishes the job (the process adds their
    receipt, so a finished job shows it at once)."""
    if not _start(engine, job_id, lease_seconds=lease_seconds):
        return False
    with Session(engine) as session:
        job = session.exec(select(CaptureJob).where(CaptureJob.id == job_id, CaptureJob.finished_at.is_(None))
                           .with_for_update()).first()
        if job is None:
            return False
        if job.attempts > MAX_ATTEMPTS:
            message = f"the job stopped its worker {MAX_ATTEMPTS} times; it is not tried again"
            return _finish(session, job_id, errors=[_problem("ImplementationException", ErrorItem("$", message))])
        behaviour, media_type = job.error_behaviour, job.media_type
        try:
            result = outcome(job.document or b"", behaviour=behaviour, max_events=max_events, xml=media_type is not None)
        except TraceAnchorError as error:  # not JSON any more (limits lowered since): the job fails, saying why
            result = Outcome([], getattr(error, "errors", None) or [ErrorItem(error.field or "$", error.message)])
        errors = [_problem("ValidationException", item) for item in result.errors]
        captured: Captured = []
        if result.candidates and (behaviour == PROCEED or not errors):
            positions = result.positions if result.positions is not None else tuple(range(len(result.candidates)))
            try:
                captured = _store(session, job, result, list(zip(positions, result.candidates, strict=True)))
            except TraceAnchorError as error:  # a conflict with what the party stored
                session.rollback()
                if behaviour == PROCEED:  # every other event is still stored; the conflicting ones are listed
                    captured, conflicts = _store_each(session, job, result, positions)
                    errors += conflicts
                else:  # nothing of this job is kept
                    errors.append(_problem("ValidationException", ErrorItem(error.field or "$", error.message)))
        if captured and on_captured is not None:
            try:
                on_captured(session, job.party, job.capture_id, captured)
            except Exception:  # a receipt that could not be signed must not undo the job
                log.exception("capture job %s: no receipt", job.capture_id)
        return _finish(session, job_id, errors=errors, captured=len(captured))


def _store(session: Session, job: CaptureJob, result: Outcome, events: list[tuple[int, Candidate]]) -> Captured:
    """Store ``events`` (document position, candidate) with the document's location hierarchy and,
    for XML, its source; the records stored or found stored."""
    store_hierarchy(session, result.hierarchy, party=job.party)
    stored = store_candidates(session, candidates=[candidate for _, candidate in events], party=job.party)
    if job.media_type is not None:
        keep_source(session, Source(job.document or b"", job.media_type, tuple(position for position, _ in events)),
                    party=job.party, stored=[(item.record.id, item.created) for item in stored])
    if job.signature is not None:  # checked when the job was accepted: the key was the party's then
        keep_signature(session, SubmissionSignature(**job.signature), party=job.party, record_ids=[item.record.id for item in stored],
                       content_hashes=[candidate.derived.content_hash for _, candidate in events])
    return _captured(stored, [candidate for _, candidate in events])


def _store_each(session: Session, job: CaptureJob, result: Outcome, positions: tuple[int, ...]) -> tuple[Captured, list[dict]]:
    """``proceed`` after a conflict: each event stored on its own (a savepoint each), so that the
    conflicting ones become errors naming their position and every other one is kept."""
    store_hierarchy(session, result.hierarchy, party=job.party)
    stored, kept, kept_candidates, conflicts = [], [], [], []
    for position, candidate in zip(positions, result.candidates, strict=True):
        try:
            with session.begin_nested():
                stored += store_candidates(session, candidates=[candidate], party=job.party)
        except TraceAnchorError as error:
            conflicts.append(_problem("ValidationException", ErrorItem(error.field or "$", error.message, index=position)))
            continue
        kept.append(position)
        kept_candidates.append(candidate)
    if job.media_type is not None:
        keep_source(session, Source(job.document or b"", job.media_type, tuple(kept)), party=job.party,
                    stored=[(item.record.id, item.created) for item in stored])
    return _captured(stored, kept_candidates), conflicts


def _captured(stored: list[Stored], candidates: list[Candidate]) -> Captured:
    return [(item.record.id, candidate.derived.content_hash) for item, candidate in zip(stored, candidates, strict=True)]


def _start(engine: Engine, job_id: int, *, lease_seconds: float) -> bool:
    """Claim the job for this worker: mark it started, committed at once so that the attempt counts
    even if the worker dies; False if it is finished or another worker's lease holds it."""
    now = utcnow()
    free = (CaptureJob.id == job_id, CaptureJob.finished_at.is_(None),
            or_(CaptureJob.started_at.is_(None), CaptureJob.started_at < now - timedelta(seconds=lease_seconds)))
    with Session(engine) as session:
        claimed = session.exec(select(CaptureJob.id).where(*free).with_for_update(skip_locked=True)).first()
        started = session.execute(update(CaptureJob).where(*free).values(attempts=CaptureJob.attempts + 1, started_at=now))
        if claimed is None or started.rowcount != 1:
            session.rollback()
            return False
        session.commit()
        return True


def _finish(session: Session, job_id: int, *, errors: list[dict], captured: int = 0) -> bool:
    """Mark the job finished in the transaction that stored its records; rolled back (False) if
    another worker finished it meanwhile."""
    done = session.execute(
        update(CaptureJob).where(CaptureJob.id == job_id, CaptureJob.finished_at.is_(None))
        .values(finished_at=utcnow(), success=not errors, errors=errors, document=None, captured=captured)
    )
    if done.rowcount != 1:
        session.rollback()
        return False
    session.commit()
    return True


def _problem(exception: str, item: ErrorItem) -> dict:
    return {"exception": exception, **{key: value for key, value in asdict(item).items() if value is not None}}


def unfinished(session: Session, *, after: int = 0, limit: int = _PAGE) -> list[int]:
    """Ids of unfinished jobs, oldest first."""
    statement = select(CaptureJob.id).where(CaptureJob.finished_at.is_(None), CaptureJob.id > after)
    return list(session.exec(statement.order_by(CaptureJob.id).limit(limit)))


class CaptureJobRunner:
    """The thread of one process that runs capture jobs: those accepted here (:meth:`wake`), those
    left unfinished by a stopped process (found at start), and those of other processes (every
    :data:`POLL_SECONDS`)."""

    def __init__(self, engine: Engine, *, max_events: int, poll_seconds: float = POLL_SECONDS,
                 lease_seconds: float = LEASE_SECONDS, on_captured: OnCaptured | None = None) -> None:
        self.engine = engine
        self.on_captured = on_captured
        self.max_events = max_events
        self.poll_seconds = poll_seconds
        self.lease_seconds = lease_seconds
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the thread (it first runs every unfinished job)."""
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="capture-jobs", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop once the job in hand is done (an unfinished job stays for the next start)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=60)
            self._thread = None

    def wake(self) -> None:
        """A job was accepted: look now rather than at the next poll."""
        self._wake.set()

    def run_pending(self) -> int:
        """Run the unfinished jobs, oldest first; the number this worker finished."""
        finished, after = 0, 0
        while not self._stop.is_set():
            with Session(self.engine) as session:
                ids = unfinished(session, after=after)
            if not ids:
                return finished
            for job_id in ids:
                if self._stop.is_set():
                    break
                finished += run_job(self.engine, job_id, max_events=self.max_events, lease_seconds=self.lease_seconds,
                                    on_captured=self.on_captured)
            after = ids[-1]
        return finished

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                self.run_pending()
            except Exception:  # the database away for a moment: jobs stay, the next look retries them
                log.exception("capture jobs: a pass failed; retrying in %s s", self.poll_seconds)
            self._wake.wait(self.poll_seconds)
