"""Pacing under overload: the turn gate (few Rasa turns at once, in order) and the loop-lag measure."""

from __future__ import annotations

import asyncio
import time

from bot.channels.wechat_pacing import LoopLag, TurnGate
from tests.eventually import eventually_async


async def test_gate_runs_at_most_its_slots_in_arrival_order():
    gate = TurnGate(slots=2)
    release = {i: asyncio.Event() for i in range(5)}
    started, running, peak = [], 0, 0

    async def turn(i: int) -> None:
        nonlocal running, peak
        async with gate.slot():
            started.append(i)
            running += 1
            peak = max(peak, running)
            await release[i].wait()
            running -= 1

    tasks = [asyncio.create_task(turn(i)) for i in range(5)]
    while len(started) < 2:
        await asyncio.sleep(0)
    assert started == [0, 1] and gate.waiting == 3
    for i in range(5):
        release[i].set()
        await tasks[i]
    assert started == [0, 1, 2, 3, 4] and peak == 2
    assert gate.busy == 0 and gate.waiting == 0


async def test_gate_predicts_longer_waits_for_longer_queues():
    gate = TurnGate(slots=2, initial_turn_s=0.5)
    assert gate.expected_finish_in() == 0.5 and not gate.full
    hold = asyncio.Event()

    async def turn() -> None:
        async with gate.slot():
            await hold.wait()

    tasks = [asyncio.create_task(turn()) for _ in range(6)]
    while gate.waiting < 4:
        await asyncio.sleep(0)
    assert gate.full and gate.expected_finish_in() == (4 / 2 + 1) * 0.5
    hold.set()
    await asyncio.gather(*tasks)


async def test_a_cancelled_waiter_gives_its_place_up():
    gate = TurnGate(slots=1)
    hold = asyncio.Event()

    async def turn() -> None:
        async with gate.slot():
            await hold.wait()

    first = asyncio.create_task(turn())
    second = asyncio.create_task(turn())
    while gate.waiting < 1:
        await asyncio.sleep(0)
    second.cancel()
    hold.set()
    await first
    assert second.cancelled() and gate.busy == 0 and gate.waiting == 0


async def test_loop_lag_sees_a_blocked_loop():
    lag = LoopLag(interval_s=0.01, window_s=5)
    lag.start()
    await asyncio.sleep(0)  # let the watcher start its first timer
    spin_until = time.monotonic() + 0.3
    while time.monotonic() < spin_until:  # CPU work on the loop, as a model prediction would be
        pass
    async def lag_seen() -> bool:
        return lag.recent() >= 0.2

    await eventually_async(lag_seen, 5, interval=0.01, what="the loop lag to be measured")
