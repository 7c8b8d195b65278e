"""The ledger of one process: settings, database engine and chain connection, opened together.

Library functions take a session and a chain explicitly; this class only wires them up, decides
which contract to use, and runs the anchoring passes for the CLI and the API's background loop.
"""

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from service.anchoring import PassReport, anchor_pass
from service.chain import Chain
from service.db import make_engine, session_scope
from service.errors import ChainUnavailable
from service.models import Batch, BatchStatus, Deployment
from service.settings import Settings

log = logging.getLogger(__name__)

MAX_LOOP_BACKOFF = 60.0


class Ledger:
    """Open once per process; close at exit (the embedded chain holds a lock on its directory)."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()
        self.engine = make_engine(self.settings)

    @cached_property
    def chain(self) -> Chain:
        """The chain connection, attached to our contract (deployed on first use)."""
        chain = Chain.connect(
            url=self.settings.chain_url,
            state_dir=self.settings.chain_state_path,
            private_key=self.settings.private_key,
        )
        with self.session() as session:
            _attach_contract(session, chain, configured=self.settings.contract_address)
        return chain

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A database session committed on success."""
        with session_scope(self.engine) as session:
            yield session

    def anchor_once(self, *, force: bool = False) -> PassReport:
        """One anchoring pass with the configured batch size, age and confirmations."""
        with self.session() as session:
            return anchor_pass(
                session,
                self.chain,
                batch_size=self.settings.batch_size,
                batch_age=self.settings.batch_age,
                confirmations=self.settings.confirmations,
                force=force,
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
            reports.append(self.anchor_once())
        return reports

    def run_anchoring(self, stop: threading.Event) -> None:
        """The background loop of ``traceanchor serve``: pass, sleep, back off while the chain is down."""
        delay = self.settings.anchor_interval
        while not stop.is_set():
            try:
                report = self.anchor_once()
                chain_down = report.chain_down
            except ChainUnavailable as error:  # connecting itself failed
                log.warning("chain unavailable: %s", error)
                chain_down = True
            delay = min(delay * 2, MAX_LOOP_BACKOFF) if chain_down else self.settings.anchor_interval
            stop.wait(delay)

    def unfinished_batches(self) -> int:
        """How many batches are not anchored yet."""
        with self.session() as session:
            return len(session.exec(select(Batch.id).where(Batch.status != BatchStatus.ANCHORED)).all())

    def close(self) -> None:
        """Release the chain (and its lock) and the connection pool."""
        if "chain" in self.__dict__:
            self.chain.close()
            del self.__dict__["chain"]
        self.engine.dispose()


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
