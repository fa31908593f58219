"""Per-address sign-in throttling: after ``limit`` failed sign-ins from one address within the
window, further attempts from it are refused until the window ends.

This complements the per-user lockout of :mod:`bot.domain.staff` (5 wrong passwords lock that user):
the lockout stops guessing one user's password, the throttle stops one address trying many users.
With ``REDIS_URL`` the counters are shared by every Rasa server; otherwise they live in the process.
"""

from __future__ import annotations

import threading
import time
from typing import Dict, Protocol, Tuple

WINDOW_SECONDS = 15 * 60


class Throttle(Protocol):
    def blocked(self, key: str) -> int:
        """Seconds until ``key`` may try again (0 = not blocked)."""

    def failed(self, key: str) -> None:
        """Count one failed attempt of ``key``."""


class MemoryThrottle:
    """Fixed-window failure counters in this process."""

    def __init__(self, limit: int, window: int = WINDOW_SECONDS) -> None:
        self.limit, self.window = limit, window
        self._lock = threading.Lock()
        self._counts: Dict[str, Tuple[float, int]] = {}

    def _current(self, key: str, now: float) -> Tuple[float, int]:
        start, count = self._counts.get(key, (now, 0))
        if now - start >= self.window:
            start, count = now, 0
        return start, count

    def blocked(self, key: str) -> int:
        now = time.monotonic()
        with self._lock:
            start, count = self._current(key, now)
            return max(1, int(start + self.window - now)) if count >= self.limit else 0

    def failed(self, key: str) -> None:
        now = time.monotonic()
        with self._lock:
            if len(self._counts) > 10_000:  # forget finished windows so the map stays bounded
                self._counts = {k: v for k, v in self._counts.items() if now - v[0] < self.window}
            start, count = self._current(key, now)
            self._counts[key] = (start, count + 1)


class RedisThrottle:
    """Fixed-window failure counters in Redis, shared by all servers."""

    def __init__(self, url: str, limit: int, window: int = WINDOW_SECONDS, prefix: str = "powerbot:console:login:") -> None:
        import redis

        self.limit, self.window, self.prefix = limit, window, prefix
        self._redis = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)

    def blocked(self, key: str) -> int:
        name = self.prefix + key
        count = self._redis.get(name)
        if count is None or int(count) < self.limit:
            return 0
        ttl = self._redis.ttl(name)
        return max(1, int(ttl)) if ttl and ttl > 0 else self.window

    def failed(self, key: str) -> None:
        name = self.prefix + key
        pipe = self._redis.pipeline()
        pipe.set(name, 0, ex=self.window, nx=True)  # the window starts with the first failure
        pipe.incr(name)
        pipe.execute()


def make_throttle(redis_url: str | None, limit: int) -> Throttle:
    """The throttle for this process's configuration."""
    return RedisThrottle(redis_url, limit) if redis_url else MemoryThrottle(limit)
