"""The production topology survives losing a Rasa server under load (issue 14, acceptance 1).

2 Rasa servers + 2 action servers behind nginx, on PostgreSQL (records and Rasa's SQL tracker store),
Redis (lock store, de-duplication) and RabbitMQ (Rasa's event broker). WeChat customers send messages
concurrently — several at once for the same conversation — through the load balancer, and one Rasa
server is killed (SIGKILL) midway. Like WeChat, the client retries a message whose request failed, with
the same MsgId. Afterwards every conversation's events in the tracker store are complete (each message
exactly once), ordered (each turn ends before the next begins), and the event broker received them — at
least once: RabbitMQ confirms a turn's events before the tracker store records them, so a server killed in
between has its turn redone by the retry and published again with the same message id (what consumers
drop repeats by); a server killed after recording has nothing left unpublished.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import urllib.error
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Dict, Iterator, List, Tuple

import aio_pika
import pytest
from sqlalchemy import create_engine, text

from bot.db import dispose_engines
from bot.topology import Topology, start_topology
from tests.conftest import PG_BASE, _pg_admin
from tests.fakes.wechat import WeChatClient, new_msg_id, new_openid
from tests.harness import TEST_WECHAT_TOKEN, current_model

pytestmark = [pytest.mark.rasa, pytest.mark.scaleout]

REDIS_URL = "redis://127.0.0.1:6379/0"
AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"
CONVERSATIONS = 6
MESSAGES_EACH = 4
TEXTS = ["你好", "怎么交电费", "电价是多少", "谢谢"]


@pytest.fixture(scope="module")
def queue_name() -> Iterator[str]:
    name = f"powerbot_test_events_{uuid.uuid4().hex[:8]}"
    yield name

    async def drop() -> None:
        connection = await aio_pika.connect(AMQP_URL)
        async with connection:
            channel = await connection.channel()
            await channel.queue_delete(name)

    asyncio.run(drop())


@pytest.fixture(scope="module")
def topology(pg_template, fake_wechat_api, fake_twilio_api, queue_name, tmp_path_factory) -> Iterator[Tuple[Topology, str]]:
    name = f"powerbot_scale_{uuid.uuid4().hex[:8]}"
    _pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"')
    url = f"{PG_BASE}/{name}"
    env = {**fake_wechat_api.bot_env(), **fake_twilio_api.bot_env(),
           "DATABASE_URL": url, "REDIS_URL": REDIS_URL, "EVENT_BROKER_URL": AMQP_URL,
           "EVENT_BROKER_QUEUE": queue_name, "WECHAT_TOKEN": TEST_WECHAT_TOKEN, "CONSOLE_HOURS": "00:00-00:00",
           "POWERBOT_VAR_DIR": str(tmp_path_factory.mktemp("scale-var")),
           "DEDUP_PENDING_TTL_S": "4", "CONVERSATION_LOCK_LIFETIME_S": "8"}
    running = start_topology(Path(tmp_path_factory.mktemp("scale")), env, current_model(), 2, 2, start_timeout_s=900)
    yield running, url
    running.stop()
    dispose_engines()
    _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _send_like_wechat(client: WeChatClient, openid: str, content: str, msg_id: int) -> int:
    """Post one message; a failed request (the server died, 5xx) is retried with the same MsgId, as
    WeChat does (bounded). Returns the number of attempts it took."""
    for attempt in range(1, 9):
        try:
            reply = client.post_raw(*client.signed(client.text(openid, content, msg_id)), timeout=10)
            if reply.status == 200:
                return attempt
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(1.0)
    raise AssertionError("a message was never accepted")


def _tracker_events(url: str, sender_id: str) -> List[Dict]:
    engine = create_engine(url, future=True)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT type_name, action_name, timestamp, data FROM events "
                                     "WHERE sender_id = :s ORDER BY id"), {"s": sender_id}).all()
    finally:
        engine.dispose()
    return [{"event": r[0], "name": r[1], "timestamp": r[2], **json.loads(r[3])} for r in rows]


async def _consume(queue: str, senders: set, expected_users: set, within_s: float) -> List[Dict]:
    found: List[Dict] = []
    connection = await aio_pika.connect(AMQP_URL)
    async with connection:
        channel = await connection.channel()
        q = await channel.declare_queue(queue, durable=True)
        deadline = time.monotonic() + within_s
        while time.monotonic() < deadline:
            message = await q.get(no_ack=True, fail=False)
            if message is None:
                if expected_users <= {e.get("message_id") for e in found if e.get("event") == "user"}:
                    break
                await asyncio.sleep(0.2)
                continue
            event = json.loads(message.body)
            if event.get("sender_id") in senders:
                found.append(event)
    return found


def test_killing_a_rasa_server_under_load_loses_and_duplicates_no_event(topology, queue_name):
    running, db_url = topology
    client = WeChatClient(running.lb_url + "/webhooks/wechat/webhook")
    conversations = [new_openid("oScale") for _ in range(CONVERSATIONS)]
    plan = [(openid, TEXTS[i], new_msg_id()) for i in range(MESSAGES_EACH) for openid in conversations]
    sent = threading.Event()
    counter = {"n": 0}
    lock = threading.Lock()

    def send(item: Tuple[str, str, int]) -> int:
        attempts = _send_like_wechat(client, *item)
        with lock:
            counter["n"] += 1
            if counter["n"] == len(plan) // 3:
                sent.set()
        return attempts

    victim = running.rasa_servers()[0]
    with ThreadPoolExecutor(max_workers=8) as pool:  # several messages of one conversation at once
        futures = [pool.submit(send, item) for item in plan]
        assert sent.wait(180), "a third of the messages went through before the kill"
        running.kill(victim)
        attempts = [f.result(timeout=300) for f in futures]
    assert victim.proc.poll() is not None and all(a >= 1 for a in attempts)

    senders = {f"wechat:{openid}" for openid in conversations}
    sent_ids = {openid: {f"wx-{msg_id}" for o, _, msg_id in plan if o == openid} for openid in conversations}
    # a message answered `success` (its turn late, e.g. queued behind a dead server's lock) is still worked
    # on: wait until every turn has finished (the bot listens again) in every conversation
    def settled() -> bool:
        for openid in conversations:
            events = _tracker_events(db_url, f"wechat:{openid}")
            users = [e for e in events if e["event"] == "user"]
            if len(users) < MESSAGES_EACH or not (events[-1]["event"] == "action"
                                                  and events[-1]["name"] == "action_listen"):
                return False
        return True

    deadline = time.monotonic() + 240
    while not settled() and time.monotonic() < deadline:
        time.sleep(0.5)
    for openid in conversations:
        events = _tracker_events(db_url, f"wechat:{openid}")
        users = [e["message_id"] for e in events if e["event"] == "user"]
        assert sorted(users) == sorted(sent_ids[openid]), "every message exactly once"
        stamps = [e["timestamp"] for e in events]
        assert stamps == sorted(stamps), "events in order"
        # each turn ends (the bot listens again) before the next message's turn begins
        listening = True
        shape = [e["name"] if e["event"] == "action" else e["event"] for e in events]  # no customer text
        for e in events:
            if e["event"] == "user":
                assert listening, f"two turns of one conversation interleaved: {shape}"
                listening = False
            elif e["event"] == "action" and e["name"] == "action_listen":
                listening = True
        assert listening

    expected = {i for ids in sent_ids.values() for i in ids}
    published = asyncio.run(_consume(queue_name, senders, expected, 60))
    published_users = [e["message_id"] for e in published if e.get("event") == "user"]
    assert set(published_users) == expected, "the event broker received every message"
    # a repeat only for a turn the kill cut short between RabbitMQ's confirmation and the tracker store's
    # write: at most one per turn the victim had under way
    repeats = len(published_users) - len(expected)
    assert repeats <= 8, f"{repeats} repeated events"
