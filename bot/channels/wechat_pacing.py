"""Keeping WeChat's deadline when the process is overloaded.

Rasa runs its models on the event loop, so every turn in flight adds to how long one pass of the loop
takes — and a timer (our reply budget) cannot fire before the pass ends. Two measures keep replies in
time when more messages arrive than the process can answer:

* :class:`TurnGate` lets only a few Rasa turns run at once (``WECHAT_MAX_CONCURRENT_TURNS``); the rest
  wait their turn in order, costing nothing. It also predicts when a turn queued now would finish, so a
  request whose answer cannot be ready in time replies ``success`` at once instead of waiting in vain.
* :class:`LoopLag` measures how late the loop runs timers; requests stop waiting that much earlier.

Neither changes what a customer is told — only whether it arrives as a passive reply or a moment later
through the customer-service API.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from typing import AsyncIterator, Deque, Optional


class TurnGate:
    """At most ``slots`` Rasa turns at a time, first come first served."""

    def __init__(self, slots: int, initial_turn_s: float = 0.2) -> None:
        self.slots = max(1, slots)
        self.busy = 0
        self.turn_s = initial_turn_s  # moving average of how long a turn holds a slot
        self._waiters: Deque[asyncio.Future[None]] = deque()

    @property
    def waiting(self) -> int:
        return len(self._waiters)

    @property
    def full(self) -> bool:
        """A turn arriving now would have to wait for a slot."""
        return self.busy >= self.slots or bool(self._waiters)

    def expected_finish_in(self) -> float:
        """Seconds until a turn queued now would be done, by the recent average turn."""
        # slots turns finish every turn_s on average: the queue ahead drains at slots / turn_s
        if self.busy < self.slots and not self._waiters:
            return self.turn_s
        return (self.waiting / self.slots + 1) * self.turn_s

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        if self.busy < self.slots and not self._waiters:
            self.busy += 1
        else:
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter  # the slot is handed over by _release, busy already counts it
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():
                    self._release()
                else:
                    self._waiters.remove(waiter)
                raise
        started = time.monotonic()
        try:
            yield
        finally:
            self.turn_s = 0.8 * self.turn_s + 0.2 * (time.monotonic() - started)
            self._release()

    def _release(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)  # the slot passes straight to the next in line
                return
        self.busy -= 1


class LoopLag:
    """How late this event loop has been running timers lately (the largest delay of the last seconds)."""

    def __init__(self, interval_s: float = 0.05, window_s: float = 3.0) -> None:
        self.interval_s = interval_s
        self.window_s = window_s
        self._samples: Deque[tuple[float, float]] = deque()
        self._task: Optional[asyncio.Task[None]] = None

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._watch())

    async def _watch(self) -> None:
        while True:
            before = time.monotonic()
            await asyncio.sleep(self.interval_s)
            now = time.monotonic()
            self._samples.append((now, max(0.0, now - before - self.interval_s)))
            while self._samples and self._samples[0][0] < now - self.window_s:
                self._samples.popleft()

    def recent(self) -> float:
        return max((lag for _at, lag in self._samples), default=0.0)
