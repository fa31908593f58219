"""Conversation locks across Rasa servers (Redis): a slow turn keeps its lock and the turns queued behind
it wait their turn; the lock of a server that died lapses within CONVERSATION_LOCK_LIFETIME_S, well
inside WeChat's retry window."""

from __future__ import annotations

import asyncio
import secrets
from typing import List

from bot.stores import ShortLockRedisLockStore

LIFETIME_S = 0.5


def store() -> ShortLockRedisLockStore:
    lock_store = ShortLockRedisLockStore(host="127.0.0.1", port=6379, key_prefix="powerbottest")
    lock_store.lock_lifetime_s = LIFETIME_S
    return lock_store


async def test_a_turn_longer_than_the_lock_lifetime_keeps_the_lock_and_the_next_turn_waits():
    conversation = f"conv-{secrets.token_hex(6)}"
    first, second = store(), store()
    order: List[str] = []
    release = asyncio.Event()
    holding = asyncio.Event()

    async def slow_turn() -> None:
        async with first.lock(conversation):
            order.append("slow turn starts")
            holding.set()
            await release.wait()
            order.append("slow turn ends")

    async def next_turn() -> None:
        await holding.wait()
        async with second.lock(conversation):
            order.append("next turn")

    turns = asyncio.gather(slow_turn(), next_turn())
    await holding.wait()
    await asyncio.sleep(LIFETIME_S * 4)  # four lifetimes: without renewal both tickets would have lapsed
    assert order == ["slow turn starts"]
    release.set()
    await turns
    assert order == ["slow turn starts", "slow turn ends", "next turn"]


async def test_a_dead_servers_lock_lapses_within_its_lifetime():
    conversation = f"conv-{secrets.token_hex(6)}"
    dead, alive = store(), store()
    dead.issue_ticket(conversation, LIFETIME_S)  # taken, never renewed nor released: the server died
    loop = asyncio.get_running_loop()
    started = loop.time()
    async with alive.lock(conversation):
        waited = loop.time() - started
    assert waited < LIFETIME_S + 1.0
