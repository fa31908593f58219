"""De-duplication of WeChat's retries: in one process, and across processes through Redis."""

from __future__ import annotations

import asyncio
import secrets

import redis

from bot.channels.dedup import SeenStore

REDIS_URL = "redis://127.0.0.1:6379/0"


async def test_in_process_first_claim_wins():
    store = SeenStore()
    assert await store.claim("gh:msg:1")
    assert not await store.claim("gh:msg:1")
    assert await store.claim("gh:msg:2")


async def test_in_process_claims_expire():
    store = SeenStore(ttl_s=0)
    assert await store.claim("gh:msg:1")
    assert await store.claim("gh:msg:1")


async def test_across_processes_exactly_one_claim_wins():
    """Two stores stand for two Rasa processes behind a load balancer, racing for WeChat's 3 retries."""
    key = f"gh:msg:{secrets.randbits(60)}"
    first, second = SeenStore(REDIS_URL), SeenStore(REDIS_URL)
    outcomes = await asyncio.gather(*(store.claim(key) for _ in range(3) for store in (first, second)))
    assert sorted(outcomes) == [False] * 5 + [True]
    assert not await SeenStore(REDIS_URL).claim(key)  # a third process later: still a retry
    for store in (first, second):
        await store.close()


async def test_redis_down_falls_back_to_this_process():
    store = SeenStore("redis://127.0.0.1:1/0")
    assert await store.claim("gh:msg:7")
    assert not await store.claim("gh:msg:7")
    await store.close()


async def test_in_process_the_first_value_kept_under_a_key_wins():
    store = SeenStore()
    assert await store.remember("1700000000:123", "body-a") == "body-a"
    assert await store.remember("1700000000:123", "body-a") == "body-a"  # WeChat's retry
    assert await store.remember("1700000000:123", "body-b") == "body-a"  # a replay with another body
    assert await store.remember("1700000000:124", "body-b") == "body-b"


async def test_across_processes_the_first_value_kept_wins():
    key = f"{secrets.randbits(40)}:{secrets.randbits(30)}"
    first, second = SeenStore(REDIS_URL, ttl_s=60), SeenStore(REDIS_URL, ttl_s=60)
    kept = await asyncio.gather(first.remember(key, "body-a"), second.remember(key, "body-b"))
    assert kept[0] == kept[1] and kept[0] in ("body-a", "body-b")
    assert await SeenStore(REDIS_URL).remember(key, "body-c") == kept[0]
    for store in (first, second):
        await store.close()


async def _eventually_claimable(store: SeenStore, key: str, within_s: float) -> tuple[bool, bool]:
    deadline = asyncio.get_running_loop().time() + within_s
    while True:
        claimed, retaken = await store.claim_pending(key)
        if claimed or asyncio.get_running_loop().time() > deadline:
            return claimed, retaken
        await asyncio.sleep(0.05)


async def test_a_dead_servers_claim_expires_within_wechats_retry_window_and_says_it_was_retaken():
    key = f"gh:msg:{secrets.randbits(60)}"
    dead, alive = SeenStore(REDIS_URL, pending_ttl_s=0.5), SeenStore(REDIS_URL, pending_ttl_s=0.5)
    assert await dead.claim_pending(key) == (True, False)
    assert await alive.claim_pending(key) == (False, False), "a retry while the first server works is ignored"
    assert await _eventually_claimable(alive, key, 5) == (True, True)
    for store in (dead, alive):
        await store.close()


async def test_a_claim_held_by_a_working_server_does_not_expire_and_a_settled_one_lasts():
    key = f"gh:msg:{secrets.randbits(60)}"
    working, other = SeenStore(REDIS_URL, pending_ttl_s=0.3), SeenStore(REDIS_URL, pending_ttl_s=0.3)
    assert (await working.claim_pending(key))[0]
    holding = asyncio.ensure_future(working.hold(key))
    assert await _eventually_claimable(other, key, 1.5) == (False, False)
    holding.cancel()
    await working.settle(key)
    assert await _eventually_claimable(other, key, 1.0) == (False, False)
    for store in (working, other):
        await store.close()


async def test_in_process_pending_claims_expire_too():
    store = SeenStore(pending_ttl_s=0.2)
    assert await store.claim_pending("gh:msg:9") == (True, False)
    assert await store.claim_pending("gh:msg:9") == (False, False)
    assert await _eventually_claimable(store, "gh:msg:9", 3) == (True, True)


async def test_a_claim_that_lapses_is_no_answer_only_a_settled_one_is():
    # a retry that waited in vain for a dead server's claim must not take the claim's lapsing for an answer
    # (and tell WeChat "success", ending its retries): the message would be lost
    key = f"gh:msg:{secrets.randbits(60)}"
    dead, alive = SeenStore(REDIS_URL, pending_ttl_s=30), SeenStore(REDIS_URL, pending_ttl_s=30)
    assert (await dead.claim_pending(key))[0]
    assert not await alive.is_answered(key), "being worked on"
    redis.Redis.from_url(REDIS_URL).delete(alive.storage_key(key))  # the dead server's claim lapses this very moment
    assert not await alive.is_answered(key), "lapsed"
    assert (await alive.claim_pending(key))[0]
    await alive.settle(key)
    assert await dead.is_answered(key)
    for store in (dead, alive):
        await store.close()


async def test_in_one_process_a_claimed_message_not_under_way_here_was_answered():
    store = SeenStore(pending_ttl_s=30)
    assert (await store.claim_pending("gh:msg:10"))[0]
    assert await store.is_answered("gh:msg:10")
