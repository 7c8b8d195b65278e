"""Group commit: concurrent submissions are stored together, in one transaction.

When every API request ran its own statements and COMMIT, concurrent single-event submissions
spent most of their time on per-statement overhead and queued on the database's writer lock
(SQLite has one writer at a time). Here one writer thread takes the submissions waiting in its
queue and hands them all to one ``store(session, items)`` call, which stores them with one
statement per table, then commits once; each caller gets its own result.

A group is bounded (submissions and rows), and submitters take turns in it: with one FIFO queue
and unbounded groups, a supplier posting 10,000-event documents made every other supplier's small
writes wait for its whole backlog (issue #12).

If storing a group fails, the group is rolled back and every submission in it is stored again
alone, in its own transaction, so a failure never leaks into another caller's outcome and nothing
is half-stored. Failures are rare here: records are validated before they are queued.
"""

import threading
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import Future
from typing import Any, Generic, TypeVar

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from service.ingest.fair import FairQueue

#: Submissions stored in one transaction at most, so that one commit never waits on too much work.
MAX_GROUP = 256
#: Rows (records) stored in one transaction at most: a submission of more is stored alone.
MAX_ROWS = 2_000
#: Times a submission alone is tried when PostgreSQL aborts it for a deadlock or a serialization
#: failure: both lanes, and other API workers, may insert the same records at once.
TRIES = 3
TRANSIENT_SQLSTATES = frozenset({"40P01", "40001"})

Item = TypeVar("Item")


class GroupCommitWriter(Generic[Item]):
    """Stores submitted items with ``store(session, items) -> one result per item``.

    Submitters take turns (``service.ingest.fair``): ``key(item)`` names the submitter, and a
    group holds at most ``max_group`` items and ``max_rows`` of ``weight(item)``. With
    ``bulk_lane`` (for a database that takes concurrent writers, such as PostgreSQL), an item
    heavier than ``max_rows`` is stored by a second thread, so the small writes of every
    submitter never wait for a large document's commit; without it, such an item is stored alone,
    in its submitter's turn.
    """

    def __init__(self, engine: Engine, *, store: Callable[[Session, Sequence[Item]], Sequence[Any]],
                 max_group: int = MAX_GROUP, max_rows: int = MAX_ROWS, key: Callable[[Item], Hashable] = lambda item: None,
                 weight: Callable[[Item], int] = lambda item: 1, bulk_lane: bool = False) -> None:
        self._engine = engine
        self._store = store
        self._max_rows = max_rows
        self._key = key
        self._weight = weight
        self._small: FairQueue[tuple[Item, Future]] = FairQueue()
        self._bulk: FairQueue[tuple[Item, Future]] | None = FairQueue() if bulk_lane else None
        self._closed = False
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, args=(self._small, max_group, max_rows), name="group-commit", daemon=True)]
        if self._bulk is not None:
            self._threads.append(threading.Thread(target=self._run, args=(self._bulk, 1, 0), name="group-commit-bulk", daemon=True))
        for thread in self._threads:
            thread.start()

    def submit(self, item: Item) -> Future:
        """Queue ``item``; the future holds its result once committed, or the error that stopped it."""
        future: Future = Future()
        weight = self._weight(item)
        lane = self._bulk if self._bulk is not None and weight > self._max_rows else self._small
        with self._lock:
            if self._closed:
                raise RuntimeError("the writer is closed")
            lane.put(self._key(item), (item, future), weight=weight)
        return future

    def close(self, timeout: float = 30.0) -> None:
        """Store what is queued, then stop the threads."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            for lane in (self._small, self._bulk):
                if lane is not None:
                    lane.close()
        for thread in self._threads:
            thread.join(timeout)

    def _run(self, lane: FairQueue[tuple[Item, Future]], max_items: int, max_rows: int) -> None:
        while group := lane.take(max_items=max_items, max_weight=max_rows):
            self._commit([(item, future) for item, future in group if future.set_running_or_notify_cancel()])

    def _commit(self, live: list[tuple[Item, Future]], *, tries: int = TRIES) -> None:
        try:
            results = self._in_one_transaction([item for item, _ in live])
        except Exception as error:  # noqa: BLE001 - every caller gets its own outcome below
            if len(live) == 1 and tries > 1 and _transient(error):
                self._commit(live, tries=tries - 1)
            elif len(live) == 1:
                live[0][1].set_exception(error)
            else:
                for submission in live:
                    self._commit([submission])
            return
        for (_, future), result in zip(live, results, strict=True):
            future.set_result(result)

    def _in_one_transaction(self, items: list[Item]) -> Sequence[Any]:
        if not items:
            return []
        with Session(self._engine, expire_on_commit=False) as session:
            try:
                results = self._store(session, items)
                session.commit()
            except Exception:
                session.rollback()
                raise
        return results


def _transient(error: Exception) -> bool:
    """Whether the database aborted the transaction only for its timing with another (try again)."""
    return isinstance(error, DBAPIError) and getattr(error.orig, "sqlstate", None) in TRANSIENT_SQLSTATES
