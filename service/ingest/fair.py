"""Fair turns between submitters: one FIFO queue per submitter, served round-robin.

With a single FIFO queue, a supplier posting several 10,000-event documents put every other
supplier's small write behind all of them. Here each submitter (a party) has its own queue and
the submitters take turns: whoever submits next waits for at most one item of each submitter ahead
of it, never for another submitter's whole backlog. Within a submitter the order stays FIFO.

As in FQ-CoDel, a submitter new to the queue goes ahead of those with a backlog (the usual small
writer: one request at a time); a submitter just served goes to the back, and stays there even if
its queue ran empty, until its turn comes round again (so that a submitter whose every item is
taken at once is not new again with its next one).

``take`` also bounds the work handed out at once (items and weight, e.g. rows); an item heavier
than the whole budget is handed out alone, since an item is never split.
"""

import threading
from collections import OrderedDict, deque
from collections.abc import Hashable
from itertools import chain
from typing import Generic, TypeVar

Item = TypeVar("Item")
_NONE = object()  # no key waits (None is a key like any other)


class FairQueue(Generic[Item]):
    """Thread-safe per-key queues, taken from in turns (see the module docstring)."""

    def __init__(self) -> None:
        self._queues: dict[Hashable, deque[tuple[Item, int]]] = {}
        self._new: OrderedDict[Hashable, None] = OrderedDict()  # keys not served yet
        self._old: OrderedDict[Hashable, None] = OrderedDict()  # keys served, waiting for their next turn
        self._count = 0
        self._ready = threading.Condition()
        self._closed = False

    def put(self, key: Hashable, item: Item, *, weight: int = 1) -> None:
        """Queue ``item`` behind ``key``'s earlier items."""
        with self._ready:
            if self._closed:
                raise RuntimeError("the queue is closed")
            if key not in self._queues:
                self._queues[key] = deque()
                self._new[key] = None
            self._queues[key].append((item, weight))
            self._count += 1
            self._ready.notify()

    def close(self) -> None:
        """Refuse new items; ``take`` hands out what is queued, then returns nothing."""
        with self._ready:
            self._closed = True
            self._ready.notify_all()

    def __len__(self) -> int:
        return self._count

    def take(self, *, max_items: int, max_weight: int, timeout: float | None = None) -> list[Item]:
        """Wait for something queued; then items in turns, one per key per round, while both
        budgets allow (the first item always, however heavy). Empty once closed and drained, or
        after ``timeout`` seconds."""
        with self._ready:
            if not self._ready.wait_for(lambda: self._count or self._closed, timeout):
                return []
            taken: list[Item] = []
            weight = 0
            full: set[Hashable] = set()  # keys whose next item is over the budget: they keep their place
            served: set[Hashable] = set()
            while len(taken) < max_items:
                key = next((k for k in chain(self._new, self._old) if k not in full), _NONE)
                if key is _NONE:
                    break
                queue = self._queues[key]
                if not queue:  # served at its last turn and nothing since: it leaves the queue (at its next turn)
                    if key in served:
                        full.add(key)
                    else:
                        del self._old[key], self._queues[key]
                    continue
                item, item_weight = queue[0]
                if taken and weight + item_weight > max_weight:
                    full.add(key)
                    continue
                queue.popleft()
                self._count -= 1
                taken.append(item)
                served.add(key)
                weight += item_weight
                self._new.pop(key, None)
                self._old.pop(key, None)
                self._old[key] = None
            return taken
