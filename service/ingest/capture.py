"""From a submitted body to records ready to store: parse, validate, hash (EPCIS events and
commercial transactions).

This is pure Python work, tens of milliseconds of CPU for a large document. In the API process it
would hold the interpreter lock that the event loop, the group-commit writer and the anchoring loop
need, so large bodies are prepared in worker processes instead; the API process then only unpickles
the result (docs/ingest.md has the figures). It unpickles it in chunks, in a thread: one
``pickle.loads`` of a 10,000-event result holds the interpreter lock from start to end, stalling
every other request of the process meanwhile. Small bodies (a single event) are prepared in place,
where they take microseconds and a process hop would cost more.

Large documents wait for a worker in turns per submitter (``service.ingest.fair``), and at most
one per worker is handed to the pool at a time: a supplier posting many large documents no longer
puts another supplier's document behind its whole backlog, only behind the documents already
being prepared.

Every body is parsed by ``service.ingest.validation.json_limits.parse_json``, which bounds its nesting
depth before parsing (here and in the workers alike). An XML body is first parsed, validated and
converted to its EPCIS 2.0 JSON-LD document by ``service.ingest.xml`` (in the worker, like the rest),
and that document then takes exactly the path of a JSON body, so both syntaxes obey the same rules.
"""

import asyncio
import json
import logging
import multiprocessing
import os
import pickle
import sys
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from service.errors import Forbidden, InvalidRecord
from service.ingest.candidates import Candidate, Prepared, Submission, prepare_events, prepare_transactions
from service.ingest.fair import FairQueue
from service.ingest.master_data import Edge, hierarchy_of
from service.ingest.validation.epcis import TooManyEvents, validate_document
from service.ingest.validation.json_limits import RECURSION_LIMIT, parse_json
from service.ingest.validation.transactions import references_of, validate_transactions
from service.ingest.xml.convert import xml_document

log = logging.getLogger(__name__)

#: Bodies up to this size are prepared in the API process.
INLINE_BYTES = 64 * 1024

#: Times a broken pool (a worker killed, or unable to start) is replaced before we stop trying
#: and prepare everything in the API process.
MAX_RESTARTS = 3
PARENT_CHECK_SECONDS = 1.0


def prepare_body(raw: bytes, *, max_events: int, xml: bool = False) -> Prepared:
    """Parse, validate (the whole document, before anything is hashed) and hash a submitted body (an
    XML document where ``xml``); its master data's location hierarchy comes along."""
    document = parse_json(json_form(raw, max_events=max_events) if xml else raw)
    validate_document(document, max_events=max_events, official=not xml)
    return Prepared(prepare_events(document), hierarchy_of(document))


def json_form(raw: bytes, *, max_events: int) -> bytes:
    """An XML document's EPCIS 2.0 JSON-LD form as a JSON body, to be read like one."""
    return json.dumps(xml_document(raw, max_events=max_events), ensure_ascii=False).encode()


def prepare_event(raw: bytes, *, xml: bool = False) -> Candidate:
    """One bare EPCIS event (the standard's ``POST /events``), validated and hashed; a document is
    refused (in XML, a document of exactly one event is the event: XML has no bare event)."""
    if xml:
        try:
            candidates = prepare_body(raw, max_events=1, xml=True).candidates
        except TooManyEvents:
            candidates = []
        if len(candidates) != 1:
            raise InvalidRecord("one event is expected here (a document of exactly one); documents are captured "
                                "through /epcis/capture", field="EventList")
        return candidates[0]
    event = parse_json(raw)
    if isinstance(event, dict) and ("epcisBody" in event or event.get("type") in ("EPCISDocument", "EPCISQueryDocument")):
        raise InvalidRecord("one event is expected here; documents are captured through /epcis/capture", field="type")
    validate_document(event, max_events=1)
    [candidate] = prepare_events(event)
    return candidate


def transaction_submission(payload: object, *, party: str, max_items: int) -> Submission:
    """Validate the meaning of submitted transactions, check that ``party`` is a side of each, and
    hash them; the references they cite are checked when they are stored."""
    transactions = validate_transactions(payload, max_items=max_items)
    for index, transaction in enumerate(transactions):
        if party not in transaction.parties:
            raise Forbidden(f"[{index}]: party {party!r} is neither the seller nor the buyer", field=f"[{index}].seller")
    return Submission(candidates=prepare_transactions([t.body for t in transactions]), party=party,
                      references=references_of(transactions, party=party))


#: Candidates per pickled chunk of a worker's result.
CHUNK = 500


def prepare_in_worker(raw: bytes, *, max_events: int, xml: bool = False) -> tuple[list[bytes], tuple[Edge, ...]]:
    """In a worker: :func:`prepare_body`, its candidates pickled in chunks (see the module docstring)."""
    prepared = prepare_body(raw, max_events=max_events, xml=xml)
    candidates = prepared.candidates
    chunks = [pickle.dumps(candidates[start : start + CHUNK], pickle.HIGHEST_PROTOCOL) for start in range(0, len(candidates), CHUNK)]
    return chunks, prepared.hierarchy


def unpickle_chunks(chunks: list[bytes]) -> list[Candidate]:
    """The candidates of :func:`prepare_in_worker`'s chunks, one ``pickle.loads`` at a time."""
    return [candidate for chunk in chunks for candidate in pickle.loads(chunk)]


def _warm_up() -> None:
    """In a new worker: import everything and build the schema validator."""
    try:
        prepare_body(b"{}", max_events=1)
    except InvalidRecord:
        pass


def _start_worker(parent: int) -> None:
    """In a new worker: CPython's default recursion limit, stated rather than inherited from whatever
    the worker imports (see ``json_limits.sane_recursion_limit``); and an exit when the API
    process is gone, even if it was killed without a goodbye."""
    sys.setrecursionlimit(RECURSION_LIMIT)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK_SECONDS)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


class CapturePool:
    """The worker processes of one API process that prepare large bodies (``processes`` of them;
    0: none, large bodies are prepared in a thread). Started with the app, stopped with it; owned by
    the process container, so that two apps in one process (tests, the demo) do not share one."""

    def __init__(self, processes: int) -> None:
        self.processes = processes
        self.restarts = 0
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()
        # large documents waiting for a worker, handed to the pool in turns per submitter, no more at
        # a time than there are workers (so that the pool's own FIFO queue stays empty)
        self._waiting: FairQueue[tuple[bytes, int, bool, Future]] = FairQueue()
        self._turns_lock = threading.RLock()  # a job finishing at once calls back into _pump on this thread
        self._running = 0

    def start(self) -> None:
        """Start the workers now (their interpreters take a second or two to import everything),
        rather than on the first large document."""
        if self.processes > 0:
            self.workers().submit(_warm_up)

    def stop(self) -> None:
        """Stop the workers once their current document is done (the API is shutting down)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    async def prepare(self, raw: bytes, *, max_events: int, submitter: str = "", xml: bool = False) -> Prepared:
        """:func:`prepare_body` for a small body here, for a large one in a worker process, in
        ``submitter``'s turn (or, without workers or with a pool that keeps breaking, in a thread, so
        that the event loop stays free)."""
        if len(raw) <= INLINE_BYTES:
            return prepare_body(raw, max_events=max_events, xml=xml)
        if self.processes == 0 or self.restarts > MAX_RESTARTS:
            return await asyncio.to_thread(prepare_body, raw, max_events=max_events, xml=xml)
        try:
            chunks, hierarchy = await asyncio.wrap_future(self._submit(submitter, raw, max_events=max_events, xml=xml))
            return Prepared(await asyncio.to_thread(unpickle_chunks, chunks), hierarchy)
        except BrokenProcessPool:  # a worker died (killed, out of memory): the pool was discarded, do this one in a thread
            return await asyncio.to_thread(prepare_body, raw, max_events=max_events, xml=xml)

    def _submit(self, submitter: str, raw: bytes, *, max_events: int, xml: bool) -> Future:
        """A future of :func:`prepare_in_worker`'s result, handed to the pool in ``submitter``'s turn;
        BrokenProcessPool if its pool broke."""
        job: Future = Future()
        self._waiting.put(submitter, (raw, max_events, xml, job))
        self._pump()
        return job

    def _pump(self) -> None:
        with self._turns_lock:
            while self._running < self.processes and (taken := self._waiting.take(max_items=1, max_weight=0, timeout=0)):
                raw, max_events, xml, job = taken[0]
                if not job.set_running_or_notify_cancel():
                    continue
                pool = self.workers()
                self._running += 1
                try:
                    work = pool.submit(prepare_in_worker, raw, max_events=max_events, xml=xml)
                except BaseException as error:  # noqa: BLE001 - a broken or stopped pool: this job's outcome
                    self._finish(job, pool, error=error)
                    continue
                work.add_done_callback(lambda done, job=job, pool=pool: self._done(done, job, pool))

    def _done(self, work: Future, job: Future, pool: ProcessPoolExecutor) -> None:
        error = work.exception() if not work.cancelled() else BrokenProcessPool("the pool was stopped")
        with self._turns_lock:
            self._finish(job, pool, error=error, result=None if error else work.result())
            self._pump()

    def _finish(self, job: Future, pool: ProcessPoolExecutor, *, error: BaseException | None, result: object = None) -> None:
        self._running -= 1
        if isinstance(error, BrokenProcessPool):
            self._discard(pool)
        if error is not None:
            job.set_exception(error)
        else:
            job.set_result(result)

    def workers(self) -> ProcessPoolExecutor:
        """The process pool, started on first use."""
        with self._lock:
            if self._pool is None:
                # spawn, not fork: the API process has threads and open database connections
                self._pool = ProcessPoolExecutor(self.processes, mp_context=multiprocessing.get_context("spawn"),
                                                 initializer=_start_worker, initargs=(os.getpid(),))
            return self._pool

    def _discard(self, pool: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._pool is pool:
                self._pool = None
                self.restarts += 1
                if self.restarts > MAX_RESTARTS:
                    log.error("document workers broke %s times: preparing documents in the API process from now on", self.restarts)
                else:
                    log.warning("document worker pool broke; starting a new one")
        pool.shutdown(wait=False, cancel_futures=True)
