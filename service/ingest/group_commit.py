"""Group commit: concurrent submissions are stored together, in one transaction.

When every API request ran its own statements and COMMIT, concurrent single-event submissions
spent most of their time on per-statement overhead and queued on the database's writer lock
(SQLite has one writer at a time). Here one writer thread takes every submission waiting in its
queue and hands them all to one ``store(session, items)`` call, which stores them with one
statement per table, then commits once; each caller gets its own result.

If storing a group fails, the group is rolled back and every submission in it is stored again
alone, in its own transaction, so a failure never leaks into another caller's outcome and nothing
is half-stored. Failures are rare here: records are validated before they are queued.
"""

import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Any, Generic, TypeVar

from sqlalchemy import Engine
from sqlmodel import Session

#: Submissions stored in one transaction at most, so that one commit never waits on too much work.
MAX_GROUP = 256

Item = TypeVar("Item")


class GroupCommitWriter(Generic[Item]):
    """Stores submitted items on one thread with ``store(session, items) -> one result per item``."""

    def __init__(self, engine: Engine, *, store: Callable[[Session, Sequence[Item]], Sequence[Any]],
                 max_group: int = MAX_GROUP) -> None:
        self._engine = engine
        self._store = store
        self._max_group = max_group
        self._queue: queue.SimpleQueue[tuple[Item, Future] | None] = queue.SimpleQueue()
        self._closed = False
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="group-commit", daemon=True)
        self._thread.start()

    def submit(self, item: Item) -> Future:
        """Queue ``item``; the future holds its result once committed, or the error that stopped it."""
        future: Future = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("the writer is closed")
            self._queue.put((item, future))
        return future

    def close(self, timeout: float = 30.0) -> None:
        """Store what is queued, then stop the thread."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._queue.put(None)
        self._thread.join(timeout)

    def _run(self) -> None:
        while (first := self._queue.get()) is not None:
            group = [first]
            while len(group) < self._max_group:
                try:
                    submission = self._queue.get_nowait()
                except queue.Empty:
                    break
                if submission is None:
                    self._queue.put(None)  # stop after this group
                    break
                group.append(submission)
            self._commit([(item, future) for item, future in group if future.set_running_or_notify_cancel()])

    def _commit(self, live: list[tuple[Item, Future]]) -> None:
        try:
            results = self._in_one_transaction([item for item, _ in live])
        except Exception as error:  # noqa: BLE001 - every caller gets its own outcome below
            if len(live) == 1:
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
