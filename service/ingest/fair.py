"""Fair turns between submitters: one FIFO queue per submitter, served round-robin.

With a single FIFO queue, a supplier posting several 10,000-event documents put every other
supplier's small write behind all of them. Here each submitter (a party) has its own queue and
the submitters take turns: whoever submits next waits for at most one item of each submitter ahead
of it, never for another submitter's whole backlog. Within a submitter the order stays FIFO.

``take`` also bounds the work handed out at once (items and weight, e.g. rows); an item heavier
than the whole budget is handed out alone, since an item is never split.
"""

import threading
from collections import OrderedDict, deque
from collections.abc import Hashable
from typing import Generic, TypeVar

Item = TypeVar("Item")


class FairQueue(Generic[Item]):
    """Thread-safe per-key queues, taken from in turns (see the module docstring)."""

    def __init__(self) -> None:
        self._queues: OrderedDict[Hashable, deque[tuple[Item, int]]] = OrderedDict()
        self._ready = threading.Condition()
        self._closed = False

    def put(self, key: Hashable, item: Item, *, weight: int = 1) -> None:
        """Queue ``item`` behind ``key``'s earlier items; a key new to the queue has the last turn."""
        with self._ready:
            if self._closed:
                raise RuntimeError("the queue is closed")
            self._queues.setdefault(key, deque()).append((item, weight))
            self._ready.notify()

    def close(self) -> None:
        """Refuse new items; ``take`` hands out what is queued, then returns nothing."""
        with self._ready:
            self._closed = True
            self._ready.notify_all()

    def __len__(self) -> int:
        with self._ready:
            return sum(len(queue) for queue in self._queues.values())

    def take(self, *, max_items: int, max_weight: int, timeout: float | None = None) -> list[Item]:
        """Wait for something queued; then items in turns, one per key per round, while both
        budgets allow (the first item always, however heavy). Empty once closed and drained, or
        after ``timeout`` seconds."""
        with self._ready:
            if not self._ready.wait_for(lambda: self._queues or self._closed, timeout):
                return []
            taken: list[Item] = []
            weight = 0
            full: set[Hashable] = set()  # keys whose next item is over the budget: FIFO within a key holds
            while len(taken) < max_items and len(full) < len(self._queues):
                key = next(k for k in self._queues if k not in full)
                queue = self._queues[key]
                item, item_weight = queue[0]
                if taken and weight + item_weight > max_weight:
                    full.add(key)
                    continue
                queue.popleft()
                taken.append(item)
                weight += item_weight
                if queue:
                    self._queues.move_to_end(key)
                else:
                    del self._queues[key]
            return taken
