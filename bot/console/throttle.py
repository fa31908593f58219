"""Per-address sign-in throttling: at most ``limit`` failed sign-ins from one address within the
window; further attempts from it are refused until the window ends.

This complements the per-username lockout of :mod:`bot.domain.staff` (5 wrong passwords lock that
username): the lockout stops guessing one user's password, the throttle stops one address trying many
users. Each attempt *acquires* a slot before its password is checked — check and count in one atomic
step, so 40 parallel sign-ins from one address cannot all pass a "below the limit?" test first — and a
successful sign-in releases its slot, so only failures use up the limit.
With ``REDIS_URL`` the counters are shared by every Rasa server (one Lua script per step); otherwise
they live in the process.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Dict, Protocol, Tuple

WINDOW_SECONDS = 15 * 60


class Throttle(Protocol):
    def acquire(self, key: str) -> int:
        """Count one attempt of ``key`` unless its limit is reached: 0 when counted (go ahead), else the
        seconds until ``key`` may try again (nothing counted)."""

    def release(self, key: str) -> None:
        """Give back an attempt of ``key`` that succeeded."""


class MemoryThrottle:
    """Fixed-window attempt counters in this process."""

    def __init__(self, limit: int, window: int = WINDOW_SECONDS) -> None:
        self.limit, self.window = limit, window
        self._lock = threading.Lock()
        self._counts: Dict[str, Tuple[float, int]] = {}

    def _current(self, key: str, now: float) -> Tuple[float, int]:
        start, count = self._counts.get(key, (now, 0))
        if now - start >= self.window:
            start, count = now, 0
        return start, count

    def acquire(self, key: str) -> int:
        now = time.monotonic()
        with self._lock:
            if len(self._counts) > 10_000:  # forget finished windows so the map stays bounded
                self._counts = {k: v for k, v in self._counts.items() if now - v[0] < self.window}
            start, count = self._current(key, now)
            if count >= self.limit:
                return max(1, int(start + self.window - now))
            self._counts[key] = (start, count + 1)
            return 0

    def release(self, key: str) -> None:
        with self._lock:
            start, count = self._counts.get(key, (0.0, 0))
            if count > 0:
                self._counts[key] = (start, count - 1)


#: KEYS[1] counter; ARGV limit, window (s). Returns 0 when counted, else the seconds left in the window.
_ACQUIRE = """
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if count >= tonumber(ARGV[1]) then
  local ttl = redis.call('TTL', KEYS[1])
  if ttl > 0 then return ttl end
  return tonumber(ARGV[2])
end
if redis.call('INCR', KEYS[1]) == 1 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return 0
"""
_RELEASE = """
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if count > 0 then redis.call('DECR', KEYS[1]) end
return 0
"""


class RedisThrottle:
    """Fixed-window attempt counters in Redis, shared by all servers (each step one atomic script)."""

    def __init__(self, url: str, limit: int, window: int = WINDOW_SECONDS, prefix: str = "powerbot:console:login:") -> None:
        import redis

        self.limit, self.window, self.prefix = limit, window, prefix
        self._redis = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._acquire: Any = self._redis.register_script(_ACQUIRE)
        self._release: Any = self._redis.register_script(_RELEASE)

    def acquire(self, key: str) -> int:
        return int(self._acquire(keys=[self.prefix + key], args=[self.limit, self.window]))

    def release(self, key: str) -> None:
        self._release(keys=[self.prefix + key])


def make_throttle(redis_url: str | None, limit: int) -> Throttle:
    """The throttle for this process's configuration."""
    return RedisThrottle(redis_url, limit) if redis_url else MemoryThrottle(limit)
