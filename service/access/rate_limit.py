"""Per-key rate limits: a token bucket per API key, in this process.

One client looping on the API (a misconfigured integration, a retry storm) could otherwise take
every worker's time from the others. Each key may make ``burst`` requests at once and ``rate``
per second on average; past that it gets 429 with the seconds to wait (``Retry-After``).

The buckets live in the process: with several API workers, a key may make up to that many times
the configured rate in all, one bucket per worker.
"""

import math
import threading
import time
from collections.abc import Callable, Hashable

from service.errors import RateLimited


class RateLimiter:
    """Token buckets by key: ``rate`` tokens a second up to ``burst``; ``rate`` 0 admits everything."""

    def __init__(self, *, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._buckets: dict[Hashable, tuple[float, float]] = {}  # key -> (tokens, at)
        self._lock = threading.Lock()

    def admit(self, key: Hashable) -> None:
        """Take one token of ``key``'s bucket; RateLimited (429) naming the seconds until there is one."""
        if self.rate <= 0:
            return
        now = self._clock()
        with self._lock:
            tokens, at = self._buckets.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - at) * self.rate)
            if tokens < 1:
                self._buckets[key] = (tokens, now)
                wait = (1 - tokens) / self.rate
                raise RateLimited(
                    f"this API key made more than {self.burst} requests at once or {self.rate:g} a second; "
                    f"retry in {math.ceil(wait)} s", retry_after=wait,
                )
            self._buckets[key] = (tokens - 1, now)
