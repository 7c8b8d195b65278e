"""The anchoring loop and lock of one process: who may run an anchoring pass, and the background
loop that runs them.

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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, select

from service.anchor.anchoring import PassReport, anchor_pass
from service.anchor.chain import Chain
from service.db import refresh_statistics, session_scope
from service.errors import ChainError, Conflict
from service.models import Batch, BatchStatus
from service.settings import Settings
from service.timeutil import utcnow

log = logging.getLogger(__name__)

MAX_LOOP_BACKOFF = 60.0
LOCK_POLL_INTERVAL = 0.02  # seconds between tries of a lock held by another process
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


class AnchoringLoop:
    """The anchoring passes of one process on one database, and its background loop.

    Owned by the process container, which hands it the chain lazily (``chain()`` connects on first
    use): a chain that is down must not stop the process from starting.
    """

    def __init__(self, settings: Settings, engine: Engine, *, chain: Callable[[], Chain]) -> None:
        self.settings = settings
        self.engine = engine
        self._chain = chain
        self._pass_lock = threading.Lock()
        self.status = LoopStatus()

    @property
    def chain(self) -> Chain:
        return self._chain()

    @contextmanager
    def session(self) -> Iterator[Session]:
        with session_scope(self.engine) as session:
            yield session

    @contextmanager
    def lock(self, *, timeout: float) -> Iterator[None]:
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
        with self.lock(timeout=self.settings.anchor_lock_timeout if wait is None else wait):
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

    def run(self, stop: threading.Event) -> None:
        """The background loop of ``traceanchor serve`` (and ``anchor --follow``) until ``stop`` is set.

        Nothing but ``stop`` ends it: a failed pass, whatever the exception, is logged with its
        traceback and the loop backs off (exponentially, bounded) and goes on. With several
        processes on one PostgreSQL database only the holder of an advisory lock runs the loop;
        the others stand by to take over if it goes away. ``self.status`` tells health how it goes.
        """
        self.status.thread = threading.current_thread()
        delay = self.settings.anchor_interval
        try:
            while not stop.is_set():
                self.status.state = LoopState.STANDBY
                try:
                    with anchoring_leadership(self.engine, stop) as leading:
                        if leading:
                            self._anchor_while_leading(stop)
                    delay = self.settings.anchor_interval
                except Exception as error:  # the database behind the leadership lock failed
                    log.exception("anchoring loop lost its database; retrying in %.1f s", delay)
                    self.status.error(f"{type(error).__name__}: {error}")
                    stop.wait(delay)
                    delay = min(delay * 2, MAX_LOOP_BACKOFF)
        except BaseException as error:
            self.status.error(f"the anchoring loop ended: {type(error).__name__}: {error}")
            log.critical("the anchoring loop ended: %r", error)
            raise
        finally:
            self.status.state = LoopState.STOPPED

    def _anchor_while_leading(self, stop: threading.Event) -> None:
        """Pass, sleep, back off after a failed pass, until ``stop``."""
        settings = self.settings
        self.status.state = LoopState.RUNNING
        self.status.due_by = time.monotonic() + settings.anchor_lock_timeout + settings.stall_margin
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
            self.status.last_pass_at = utcnow()
            self.status.due_by = time.monotonic() + delay + settings.anchor_lock_timeout + settings.stall_margin
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
            self.status.error(error.message)
            return False, True
        except Exception as error:
            log.exception("anchoring pass failed")
            self.status.error(f"{type(error).__name__}: {error}")
            return False, True
        if report.errors:
            self.status.error(report.errors[-1])
        return True, report.chain_down

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
