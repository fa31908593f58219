"""The one way tests wait for something: poll a predicate until it holds or a deadline passes.

Never a bare ``sleep`` for timing: :func:`eventually` returns as soon as the predicate is true
(returning its value), and fails with ``what`` when it is still false after ``timeout`` seconds.
"""

from __future__ import annotations

import asyncio
import time
from typing import Awaitable, Callable, TypeVar

T = TypeVar("T")


def eventually(predicate: Callable[[], T], timeout: float = 10.0, interval: float = 0.1,
               what: str = "the condition") -> T:
    """Call ``predicate`` every ``interval`` seconds until it returns a truthy value (returned) or
    ``timeout`` seconds have passed (``AssertionError`` naming ``what``; the last exception the
    predicate raised, if any, is chained)."""
    deadline = time.monotonic() + timeout
    last_error: BaseException | None = None
    while True:
        try:
            value = predicate()
            if value:
                return value
        except AssertionError as error:  # a predicate may assert, to say why it is not yet true
            last_error = error
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}") from last_error
        time.sleep(interval)


async def eventually_async(predicate: Callable[[], Awaitable[T]], timeout: float = 10.0, interval: float = 0.05,
                           what: str = "the condition") -> T:
    """:func:`eventually` for a coroutine predicate, inside an event loop (does not block the loop)."""
    deadline = time.monotonic() + timeout
    last_error: BaseException | None = None
    while True:
        try:
            value = await predicate()
            if value:
                return value
        except AssertionError as error:
            last_error = error
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}") from last_error
        await asyncio.sleep(interval)
