"""Rasa's event broker feeds analytics consumers from RabbitMQ (issue 14): a turn's events must reach the
queue before the tracker store records them, so a Rasa server that dies right after recording a turn has
lost nothing (Rasa itself publishes in the background and would lose them)."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Iterator, List, Tuple

import aio_pika
import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.stores import ConfirmedPikaEventBroker, ConfirmedSQLTrackerStore

AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"


@pytest.fixture
def queue_name() -> Iterator[str]:
    name = f"powerbot_test_broker_{uuid.uuid4().hex[:8]}"
    yield name

    async def drop() -> None:
        async with await aio_pika.connect(AMQP_URL) as connection:
            channel = await connection.channel()
            await channel.queue_delete(name)

    asyncio.run(drop())


async def _drain(queue: str, sender_id: str) -> List[dict]:
    """What ``queue`` holds now of ``sender_id``'s conversation, without waiting for more (Rasa's exchange
    fans out to every bound queue: other Rasa servers on this machine publish into it too)."""
    found = []
    async with await aio_pika.connect(AMQP_URL) as connection:
        channel = await connection.channel()
        q = await channel.declare_queue(queue, durable=True)
        while (message := await q.get(no_ack=True, fail=False)) is not None:
            event = json.loads(message.body)
            if event.get("sender_id") == sender_id:
                found.append(event)
    return found


def _rasa_server(tmp_path: Path, queue_name: str) -> Tuple[asyncio.AbstractEventLoop, ConfirmedPikaEventBroker,
                                                            ConfirmedSQLTrackerStore]:
    """A Rasa server's event loop, event broker and tracker store, as bot.stores configures them."""
    loop = asyncio.new_event_loop()
    broker = ConfirmedPikaEventBroker(AMQP_URL, username="guest", password="guest", port=5672,
                                      queues=[queue_name], event_loop=loop)
    loop.run_until_complete(broker.connect())
    store = ConfirmedSQLTrackerStore(domain=Domain.empty(), host=f"sqlite:///{tmp_path / 'trackers.db'}",
                                     event_broker=broker)
    return loop, broker, store


def test_a_turn_recorded_by_a_server_that_then_dies_has_reached_the_broker(tmp_path: Path, queue_name: str):
    loop, broker, store = _rasa_server(tmp_path, queue_name)  # its loop stops for good once the turn is recorded
    sender_id = f"wechat:oBroker{uuid.uuid4().hex[:8]}"
    tracker = DialogueStateTracker.from_events(sender_id, [
        ActionExecuted("action_listen"), UserUttered("停电了", message_id="wx-4711")])

    loop.run_until_complete(store.save(tracker))  # recorded; nothing of this loop runs after this point

    published = asyncio.run(_drain(queue_name, sender_id))
    assert [e["message_id"] for e in published if e["event"] == "user"] == ["wx-4711"]
    loop.run_until_complete(broker.close())
    loop.close()


def test_a_second_save_of_the_same_tracker_publishes_nothing_again(tmp_path: Path, queue_name: str):
    loop, broker, store = _rasa_server(tmp_path, queue_name)
    sender_id = f"wechat:oBroker{uuid.uuid4().hex[:8]}"
    tracker = DialogueStateTracker.from_events(sender_id, [
        ActionExecuted("action_listen"), UserUttered("电费多少", message_id="wx-4712")])
    loop.run_until_complete(store.save(tracker))
    loop.run_until_complete(store.save(tracker))

    published = asyncio.run(_drain(queue_name, sender_id))
    assert [e["message_id"] for e in published if e["event"] == "user"] == ["wx-4712"]
    loop.run_until_complete(broker.close())
    loop.close()
