"""The ledger of one process: settings, database engine and chain connection, opened together.

Library functions take a session and a chain explicitly; this class only wires them up, decides
which contract to use, and runs the anchoring passes for the CLI and the API's background loop.
"""

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlmodel import Session, select

from service.anchoring import PassReport, anchor_pass
from service.chain import Chain
from service.db import make_engine, refresh_statistics, session_scope
from service.errors import ChainError, ChainUnavailable
from service.group_commit import GroupCommitWriter
from service.keys import KeyCache, authenticate
from service.models import ApiKey, Batch, BatchStatus, Deployment
from service.records import store_submissions
from service.settings import Settings

log = logging.getLogger(__name__)

MAX_LOOP_BACKOFF = 60.0
STATISTICS_CHECK_INTERVAL = 2.0  # seconds between looks at how much the tables changed (one cheap query)
REORG_CHECK_INTERVAL = 15.0
"""Seconds between re-checks of recently anchored roots in the background loop (a contract call
per batch: done every pass, it would cost more than the anchoring itself under steady load)."""


class Ledger:
    """Open once per process; close at exit (the embedded chain holds a lock on its directory)."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()
        self.engine = make_engine(self.settings)
        self._chain: Chain | None = None
        self._chain_lock = threading.Lock()
        self._writer: GroupCommitWriter | None = None
        self._writer_lock = threading.Lock()
        self.keys = KeyCache(ttl=self.settings.key_cache_seconds)

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

    def authenticate(self, token: str) -> ApiKey | None:
        """The live API key for ``token``, from the key cache or else the database."""
        key = self.keys.get(token)
        if key is None:
            with self.session() as session:
                key = authenticate(session, token=token)
            if key is not None:
                self.keys.put(token, key)
        return key

    def anchor_once(self, *, force: bool = False, check_reorgs: bool = True) -> PassReport:
        """One anchoring pass with the configured batch size, age and confirmations."""
        with self.session() as session:
            return anchor_pass(
                session,
                self.chain,
                batch_size=self.settings.batch_size,
                batch_age=self.settings.batch_age,
                max_batch_size=self.settings.max_batch_size,
                confirmations=self.settings.confirmations,
                force=force,
                check_reorgs=check_reorgs,
            )

    def anchor_now(self, *, timeout: float = 120.0) -> list[PassReport]:
        """Batch every pending record now and wait until all batches are anchored (or timeout)."""
        deadline = time.monotonic() + timeout
        reports = [self.anchor_once(force=True)]
        while self.unfinished_batches() and time.monotonic() < deadline:
            if self.chain.embedded:
                self.chain.mine(1)  # on our own chain, an empty block is how time passes
            else:
                time.sleep(self.settings.anchor_interval)
            reports.append(self.anchor_once(check_reorgs=False))
        return reports

    def run_anchoring(self, stop: threading.Event) -> None:
        """The background loop of ``traceanchor serve``: pass, sleep, back off while the chain is down.

        With several API workers on one PostgreSQL database, only the holder of an advisory
        lock anchors; the others wait to take over if it goes away.
        """
        delay = self.settings.anchor_interval
        last_reorg_check = last_statistics_check = float("-inf")
        with anchoring_leadership(self.engine, stop) as leading:
            while leading and not stop.is_set():
                check_reorgs = time.monotonic() - last_reorg_check >= REORG_CHECK_INTERVAL
                last_reorg_check = time.monotonic() if check_reorgs else last_reorg_check
                if time.monotonic() - last_statistics_check >= STATISTICS_CHECK_INTERVAL:
                    last_statistics_check = time.monotonic()
                    self._refresh_statistics()
                try:
                    report = self.anchor_once(check_reorgs=check_reorgs)
                    chain_down = report.chain_down
                except ChainUnavailable as error:  # connecting itself failed
                    log.warning("chain unavailable: %s", error)
                    chain_down = True
                except ChainError as error:
                    log.error("anchoring pass failed: %s", error)
                    chain_down = True
                delay = min(delay * 2, MAX_LOOP_BACKOFF) if chain_down else self.settings.anchor_interval
                stop.wait(delay)

    def _refresh_statistics(self) -> None:
        try:
            analysed = refresh_statistics(self.engine)
        except SQLAlchemyError as error:
            log.warning("could not refresh planner statistics: %s", error)
            return
        if analysed:
            log.info("analysed %s: they grew since their last statistics", ", ".join(analysed))

    def unfinished_batches(self) -> int:
        """How many batches are not anchored yet."""
        with self.session() as session:
            return len(session.exec(select(Batch.id).where(Batch.status != BatchStatus.ANCHORED)).all())

    def close(self) -> None:
        """Finish queued writes, release the chain (and its lock) and the connection pool."""
        with self._writer_lock:
            if self._writer is not None:
                self._writer.close()
                self._writer = None
        with self._chain_lock:
            if self._chain is not None:
                self._chain.close()
                self._chain = None
        self.engine.dispose()


ANCHORING_LOCK_ID = 0x7472616365  # "trace": the PostgreSQL advisory lock of the anchoring loop


@contextmanager
def anchoring_leadership(engine, stop: threading.Event) -> Iterator[bool]:
    """Yield True once this process may anchor (always on SQLite), False if stopped while waiting."""
    if engine.dialect.name != "postgresql":
        yield True
        return
    with engine.connect() as connection:
        while not stop.is_set():
            if connection.execute(text("SELECT pg_try_advisory_lock(:id)"), {"id": ANCHORING_LOCK_ID}).scalar():
                connection.commit()
                try:
                    yield True
                finally:
                    connection.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": ANCHORING_LOCK_ID})
                    connection.commit()
                return
            connection.commit()
            stop.wait(5.0)
        yield False


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
