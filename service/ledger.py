"""The ledger of one process: settings, database engine and chain connection, opened together.

Library functions take a session and a chain explicitly; this class only wires them up, decides
which contract to use, and runs the anchoring passes for the CLI and the API's background loop.

Every anchoring pass, whoever starts it (the background loop, ``POST /v1/anchors``, ``traceanchor
anchor``, ``anchor --follow``), holds the anchoring lock of its database: a threading lock within
the process and, across processes, a PostgreSQL advisory lock (SQLite: a lock file beside the
database). So there is one anchoring writer at a time, and no two passes race for a batch or for
the account's nonce.
"""

import fcntl
import logging
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path

from typing import TYPE_CHECKING

from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlmodel import Session, select

from service.anchor.anchoring import PassReport, anchor_pass
from service.anchor.chain import Chain
from service.db import open_engine, refresh_statistics, session_scope
from service.errors import ChainError, Conflict
from service.ingest.capture import CapturePool
from service.ingest.group_commit import GroupCommitWriter
from service.access.keys import KeyCache, authenticate
from service.models import ApiKey, Batch, BatchStatus, Deployment
from service.ingest.records import store_submissions
from service.settings import Settings
from service.timeutil import utcnow

if TYPE_CHECKING:
    from service.insights.baskets import MiningCache
    from service.insights.fraud import LoadedModels

log = logging.getLogger(__name__)

MAX_LOOP_BACKOFF = 60.0
LOCK_POLL_INTERVAL = 0.02  # seconds between tries of a lock held by another process
CHAIN_CHECK_SECONDS = 5.0
"""How long health trusts its last look at the chain (block number, contract code): load balancers
ask often, and each look is two requests to the node."""
MINING_CACHE_ENTRIES = 64  # mined basket selections kept per process (see service.insights.baskets.MiningCache)
STATISTICS_CHECK_INTERVAL = 2.0  # seconds between looks at how much the tables changed (one cheap query)
REORG_CHECK_INTERVAL = 15.0
"""Seconds between re-checks of recently anchored roots in the background loop (a contract call
per batch: done every pass, it would cost more than the anchoring itself under steady load)."""


class AnchoringBusy(Conflict):
    """Another anchoring pass (another thread or process) held the anchoring lock for longer than we
    could wait; the records stay pending, and that pass or the next one anchors them."""


class LoopState(StrEnum):
    """Where the background anchoring loop of this process is."""

    NOT_STARTED = "not_started"
    STANDBY = "standby"  # waiting while another process runs the loop of this database
    RUNNING = "running"
    STOPPED = "stopped"


@dataclass
class LoopStatus:
    """What the anchoring loop of this process last did, for ``/v1/health``."""

    state: LoopState = LoopState.NOT_STARTED
    thread: threading.Thread | None = field(default=None, repr=False)
    last_pass_at: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    due_by: float = float("inf")
    """Monotonic time by which the loop should have finished its next pass (its sleep, plus a margin)."""

    @property
    def alive(self) -> bool:
        return self.thread is not None and self.thread.is_alive() and self.state != LoopState.STOPPED

    def error(self, message: str) -> None:
        self.last_error, self.last_error_at = message, utcnow()


@dataclass(frozen=True)
class ChainStatus:
    """The chain as health saw it: reachable, and our contract's code still at its address."""

    ok: bool
    detail: str
    checked_at: datetime
    chain_id: int | None = None
    block_number: int | None = None
    contract: str | None = None
    contract_present: bool | None = None


class Ledger:
    """Open once per process, on a migrated database (``service.db.migrate``); close at exit (the
    embedded chain holds a lock on its directory)."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()
        self.engine = open_engine(self.settings)
        self._chain: Chain | None = None
        self._chain_lock = threading.Lock()
        self._writer: GroupCommitWriter | None = None
        self._writer_lock = threading.Lock()
        self._pass_lock = threading.Lock()
        self._chain_status: tuple[float, ChainStatus] | None = None
        self._chain_status_lock = threading.Lock()
        self.loop = LoopStatus()
        self.keys = KeyCache(ttl=self.settings.key_cache_seconds)
        self.capture = CapturePool(self.settings.capture_processes)
        self._insights: tuple[MiningCache, LoadedModels] | None = None
        self._insights_lock = threading.Lock()

    @property
    def chain(self) -> Chain:
        """The chain connection, attached to our contract (deployed on first use).

        Connected lazily and once, under a lock: API threads and the anchoring loop share it,
        and a chain that is down at start-up must not stop the service from accepting records.
        """
        with self._chain_lock:
            if self._chain is None:
                chain = Chain.connect(
                    url=self.settings.chain_url,
                    state_dir=self.settings.chain_state_path,
                    private_key=self.settings.private_key,
                )
                try:
                    with self.session() as session:
                        _attach_contract(session, chain, configured=self.settings.contract_address)
                except BaseException:
                    chain.close()
                    raise
                self._chain = chain
            return self._chain

    def connect(self) -> Chain:
        """Connect to the chain (deploying the contract if needed) now rather than on first use."""
        return self.chain

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A database session committed on success."""
        with session_scope(self.engine) as session:
            yield session

    @property
    def writer(self) -> GroupCommitWriter:
        """The group-commit writer of this process (its thread starts on first use)."""
        with self._writer_lock:
            if self._writer is None:
                self._writer = GroupCommitWriter(self.engine, store=store_submissions)
            return self._writer

    @property
    def mining(self) -> "MiningCache":
        """The basket mining results of this process."""
        return self._insight_state()[0]

    @property
    def fraud_models(self) -> "LoadedModels":
        """The fraud model this process last loaded."""
        return self._insight_state()[1]

    def _insight_state(self) -> "tuple[MiningCache, LoadedModels]":
        """Made on first use: the analytics behind them load pandas and scikit-learn, seconds that
        the CLI's anchor and audit commands need not spend."""
        with self._insights_lock:
            if self._insights is None:
                from service.insights.baskets import MiningCache
                from service.insights.fraud import LoadedModels

                self._insights = (MiningCache(max_entries=MINING_CACHE_ENTRIES), LoadedModels())
            return self._insights

    def authenticate(self, token: str) -> ApiKey | None:
        """The live API key for ``token``, from the key cache or else the database."""
        key = self.keys.get(token)
        if key is None:
            with self.session() as session:
                key = authenticate(session, token=token)
            if key is not None:
                self.keys.put(token, key)
        return key

    @contextmanager
    def anchoring_lock(self, *, timeout: float) -> Iterator[None]:
        """Be the only anchoring pass of this database while inside; AnchoringBusy after ``timeout``
        seconds of waiting for another thread's or process's pass."""
        deadline = time.monotonic() + timeout
        if not self._pass_lock.acquire(timeout=max(timeout, 0)):
            raise AnchoringBusy(f"another anchoring pass of this process ran for more than {timeout:g} s; retry later")
        try:
            with _process_pass_lock(self.engine, deadline=deadline, timeout=timeout):
                yield
        finally:
            self._pass_lock.release()

    def anchor_once(self, *, force: bool = False, check_reorgs: bool = True, wait: float | None = None) -> PassReport:
        """One anchoring pass with the configured batch size, age and confirmations, under the
        anchoring lock (waiting ``wait`` seconds for it, default the configured lock timeout)."""
        with self.anchoring_lock(timeout=self.settings.anchor_lock_timeout if wait is None else wait):
            with self.session() as session:
                report = anchor_pass(
                    session,
                    self.chain,
                    batch_size=self.settings.batch_size,
                    batch_age=self.settings.batch_age,
                    max_batch_size=self.settings.max_batch_size,
                    confirmations=self.settings.confirmations,
                    force=force,
                    check_reorgs=check_reorgs,
                )
        _log_pass(report)
        return report

    def anchor_now(self, *, timeout: float = 120.0) -> list[PassReport]:
        """Batch every pending record now and wait until all batches are anchored (or timeout)."""
        deadline = time.monotonic() + timeout
        reports = [self.anchor_once(force=True, wait=timeout)]
        while self.unfinished_batches() and time.monotonic() < deadline:
            if self.chain.embedded:
                self.chain.mine(1)  # on our own chain, an empty block is how time passes
            else:
                time.sleep(self.settings.anchor_interval)
            reports.append(self.anchor_once(check_reorgs=False, wait=max(deadline - time.monotonic(), 0)))
        return reports

    def run_anchoring(self, stop: threading.Event) -> None:
        """The background loop of ``traceanchor serve`` (and ``anchor --follow``) until ``stop`` is set.

        Nothing but ``stop`` ends it: a failed pass, whatever the exception, is logged with its
        traceback and the loop backs off (exponentially, bounded) and goes on. With several
        processes on one PostgreSQL database only the holder of an advisory lock runs the loop;
        the others stand by to take over if it goes away. ``self.loop`` tells health how it goes.
        """
        self.loop.thread = threading.current_thread()
        delay = self.settings.anchor_interval
        try:
            while not stop.is_set():
                self.loop.state = LoopState.STANDBY
                try:
                    with anchoring_leadership(self.engine, stop) as leading:
                        if leading:
                            self._anchor_while_leading(stop)
                    delay = self.settings.anchor_interval
                except Exception as error:  # the database behind the leadership lock failed
                    log.exception("anchoring loop lost its database; retrying in %.1f s", delay)
                    self.loop.error(f"{type(error).__name__}: {error}")
                    stop.wait(delay)
                    delay = min(delay * 2, MAX_LOOP_BACKOFF)
        except BaseException as error:
            self.loop.error(f"the anchoring loop ended: {type(error).__name__}: {error}")
            log.critical("the anchoring loop ended: %r", error)
            raise
        finally:
            self.loop.state = LoopState.STOPPED

    def _anchor_while_leading(self, stop: threading.Event) -> None:
        """Pass, sleep, back off after a failed pass, until ``stop``."""
        settings = self.settings
        self.loop.state = LoopState.RUNNING
        self.loop.due_by = time.monotonic() + settings.anchor_lock_timeout + settings.stall_margin
        delay = settings.anchor_interval
        last_reorg_check = last_statistics_check = float("-inf")
        while not stop.is_set():
            if time.monotonic() - last_statistics_check >= STATISTICS_CHECK_INTERVAL:
                last_statistics_check = time.monotonic()
                self._refresh_statistics()
            check_reorgs = time.monotonic() - last_reorg_check >= REORG_CHECK_INTERVAL
            ran, failed = self._loop_pass(check_reorgs=check_reorgs)
            if ran and check_reorgs:
                last_reorg_check = time.monotonic()
            delay = min(delay * 2, MAX_LOOP_BACKOFF) if failed else settings.anchor_interval
            self.loop.last_pass_at = utcnow()
            self.loop.due_by = time.monotonic() + delay + settings.anchor_lock_timeout + settings.stall_margin
            stop.wait(delay)

    def _loop_pass(self, *, check_reorgs: bool) -> tuple[bool, bool]:
        """One pass of the loop, whatever it raises: (whether it ran, whether the loop should back off)."""
        try:
            report = self.anchor_once(check_reorgs=check_reorgs)
        except AnchoringBusy:
            log.debug("another anchoring pass holds the lock; the loop waits for its turn")
            return False, False
        except ChainError as error:  # connecting to the chain failed: an outage, not a bug
            log.warning("anchoring pass failed: %s", error.message)
            self.loop.error(error.message)
            return False, True
        except Exception as error:
            log.exception("anchoring pass failed")
            self.loop.error(f"{type(error).__name__}: {error}")
            return False, True
        if report.errors:
            self.loop.error(report.errors[-1])
        return True, report.chain_down

    def chain_status(self) -> ChainStatus:
        """Whether the chain answers and our contract is still there, looked at most every few seconds."""
        with self._chain_status_lock:
            if self._chain_status is None or time.monotonic() >= self._chain_status[0]:
                self._chain_status = (time.monotonic() + CHAIN_CHECK_SECONDS, self._check_chain())
            return self._chain_status[1]

    def _check_chain(self) -> ChainStatus:
        detail = self.settings.chain_url or "embedded"
        try:
            chain = self.chain
            block_number = chain.block_number()
            present = chain.contract_present()
        except Exception as error:  # health must report, not fail
            detail = error.message if isinstance(error, ChainError) else f"{type(error).__name__}: {error}"
            return ChainStatus(ok=False, detail=detail, checked_at=utcnow())
        if not present:
            detail = (
                f"the TraceAnchor contract {chain.address} is no longer on chain {chain.chain_id} at {detail} "
                "(did the node lose its state?): nothing can be anchored or verified until it is back"
            )
        return ChainStatus(
            ok=present, detail=detail, checked_at=utcnow(), chain_id=chain.chain_id,
            block_number=block_number, contract=chain.address, contract_present=present,
        )

    def _refresh_statistics(self) -> None:
        try:
            analysed = refresh_statistics(self.engine)
        except Exception as error:  # the loop must not end over it (and a broken database fails the pass too)
            log.warning("could not refresh planner statistics: %s", error)
            return
        if analysed:
            log.info("analysed %s: they grew since their last statistics", ", ".join(analysed))

    def unfinished_batches(self) -> int:
        """How many batches are not anchored yet."""
        with self.session() as session:
            return len(session.exec(select(Batch.id).where(Batch.status != BatchStatus.ANCHORED)).all())

    def close(self) -> None:
        """Stop the capture workers, finish queued writes, release the chain (and its lock) and the connection pool."""
        self.capture.stop()
        with self._writer_lock:
            if self._writer is not None:
                self._writer.close()
                self._writer = None
        with self._chain_lock:
            if self._chain is not None:
                self._chain.close()
                self._chain = None
        self.engine.dispose()


def _log_pass(report: PassReport) -> None:
    """A line per pass that did something (INFO), a line per error (WARNING)."""
    if not report.idle:
        log.info(
            "anchoring pass: %d batches closed, %d submitted, %d anchored, %d reorganised away",
            len(report.closed), len(report.submitted), len(report.anchored), len(report.reorged),
        )
    for error in report.errors:
        log.warning("anchoring pass: %s", error)


# PostgreSQL advisory locks of one schema (one ledger): keyed (kind, hashtext(current_schema())), so
# that ledgers in other schemas of the same database never wait for each other.
LEADERSHIP_LOCK = 0x6C656164  # "lead": held for as long as a process runs the anchoring loop
PASS_LOCK = 0x70617373  # "pass": held for one anchoring pass, by whoever runs it
_TRY_LOCK = text("SELECT pg_try_advisory_lock(:kind, hashtext(current_schema()))")
_UNLOCK = text("SELECT pg_advisory_unlock(:kind, hashtext(current_schema()))")


@contextmanager
def anchoring_leadership(engine: Engine, stop: threading.Event) -> Iterator[bool]:
    """Yield True once this process may run the anchoring loop (always on SQLite), False if stopped
    while waiting."""
    if engine.dialect.name != "postgresql":
        yield True
        return
    with engine.connect() as connection:
        while not stop.is_set():
            if _try_advisory_lock(connection, LEADERSHIP_LOCK):
                with _advisory_lock_held(connection, LEADERSHIP_LOCK):
                    yield True
                return
            stop.wait(5.0)
        yield False


@contextmanager
def _process_pass_lock(engine: Engine, *, deadline: float, timeout: float) -> Iterator[None]:
    """The cross-process half of the anchoring lock: an advisory lock on PostgreSQL, a lock file
    beside a SQLite database; AnchoringBusy at ``deadline``."""
    busy = AnchoringBusy(f"another process ran an anchoring pass for more than {timeout:g} s; retry later")
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            while not _try_advisory_lock(connection, PASS_LOCK):
                if time.monotonic() >= deadline:
                    raise busy
                time.sleep(LOCK_POLL_INTERVAL)
            with _advisory_lock_held(connection, PASS_LOCK):
                yield
        return
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        yield  # a database only this process can reach: the threading lock is enough
        return
    fd = os.open(Path(database).with_name(Path(database).name + ".anchoring.lock"), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        while not _try_flock(fd):
            if time.monotonic() >= deadline:
                raise busy
            time.sleep(LOCK_POLL_INTERVAL)
        yield  # closing the file releases the lock (and the kernel does if we are killed)
    finally:
        os.close(fd)


def _try_flock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _try_advisory_lock(connection, kind: int) -> bool:
    """Take the session-level advisory lock ``kind`` of our schema if free (committing at once, so
    the connection does not sit idle in a transaction while holding it)."""
    taken = connection.execute(_TRY_LOCK, {"kind": kind}).scalar()
    connection.commit()
    return bool(taken)


@contextmanager
def _advisory_lock_held(connection, kind: int) -> Iterator[None]:
    """Release the advisory lock on exit; if that fails, drop the connection (its end releases it)."""
    try:
        yield
    finally:
        try:
            connection.execute(_UNLOCK, {"kind": kind})
            connection.commit()
        except SQLAlchemyError:
            connection.invalidate()


def _attach_contract(session: Session, chain: Chain, *, configured: str | None) -> None:
    """Use the configured contract, else the one this database recorded for the chain, else deploy one."""
    recorded = session.get(Deployment, chain.chain_id)
    address = configured or (recorded.address if recorded else None)
    if address is not None:
        chain.attach(address)
    else:
        address = chain.deploy()
        log.info("deployed TraceAnchor at %s on chain %s", address, chain.chain_id)
    if recorded is None:
        session.add(Deployment(chain_id=chain.chain_id, address=address))
        try:
            session.commit()
        except IntegrityError:  # another worker recorded its deployment first: use that one
            session.rollback()
            chain.attach(session.get(Deployment, chain.chain_id).address)
