"""The tracker store keeps each conversation's latest tracker in the Rasa process (issue 14, speed): every
read must still answer exactly what Rasa's own SQL tracker store answers from the database — after our
own writes, after another server's writes, after a new session starts, and after an erasure."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import List

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, Event, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker, EventVerbosity
from sqlalchemy import create_engine, text

from bot.stores import ConfirmedSQLTrackerStore

DOMAIN = Domain.load(str(Path(__file__).resolve().parents[2] / "domain.yml"))
SENDER = "wechat:oCacheTest"


def _turn(n: int, text_: str) -> List[Event]:
    return [UserUttered(text_, {"name": "report_outage", "confidence": 0.9}, message_id=f"wx-{n}"),
            SlotSet("account_no", f"100{n:04d}"), ActionExecuted("utter_ask_address"),
            BotUttered("请告诉我地址"), ActionExecuted("action_listen")]


def _same(ours: DialogueStateTracker | None, rasas: DialogueStateTracker | None) -> None:
    assert (ours is None) == (rasas is None)
    if ours is not None and rasas is not None:
        assert ours.current_state(EventVerbosity.ALL) == rasas.current_state(EventVerbosity.ALL)
        assert {k: s.value for k, s in ours.slots.items()} == {k: s.value for k, s in rasas.slots.items()}
        assert ours.active_loop == rasas.active_loop


def _stores(db) -> tuple:
    return (ConfirmedSQLTrackerStore(domain=DOMAIN, host=db.url), SQLTrackerStore(domain=DOMAIN, host=db.url))


def test_every_turn_reads_back_what_rasas_store_reads(db):
    ours, rasas = _stores(db)

    async def conversation() -> None:
        tracker = DialogueStateTracker.from_events(SENDER, [ActionExecuted("action_listen")], DOMAIN.slots)
        for n, utterance in enumerate(["停电了", "我家停电了", "幸福村3组", "还没来电"] * 3):
            tracker = await ours.retrieve(SENDER) or tracker
            for event in _turn(n, utterance):
                tracker.update(event)
            await ours.save(tracker)
            _same(await ours.retrieve(SENDER), await rasas.retrieve(SENDER))
        assert len((await rasas.retrieve(SENDER)).events) == 1 + 12 * 5  # each event stored once

    asyncio.run(conversation())


def test_a_turn_written_by_another_server_is_read_from_the_database(db):
    ours, other = _stores(db)

    async def conversation() -> None:
        tracker = DialogueStateTracker.from_events(SENDER, _turn(1, "停电了"), DOMAIN.slots)
        await ours.save(tracker)
        await ours.retrieve(SENDER)  # kept
        theirs = await other.retrieve(SENDER)
        for event in _turn(2, "电线掉下来了"):
            theirs.update(event)
        await other.save(theirs)
        _same(await ours.retrieve(SENDER), await other.retrieve(SENDER))
        assert (await ours.retrieve(SENDER)).latest_message.text == "电线掉下来了"

    asyncio.run(conversation())


def test_a_new_session_reads_only_the_new_sessions_events(db):
    ours, rasas = _stores(db)

    async def conversation() -> None:
        tracker = DialogueStateTracker.from_events(SENDER, _turn(1, "停电了"), DOMAIN.slots)
        await ours.save(tracker)
        tracker = await ours.retrieve(SENDER)
        for event in [ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen"),
                      *_turn(2, "你好")]:
            tracker.update(event)
        await ours.save(tracker)
        _same(await ours.retrieve(SENDER), await rasas.retrieve(SENDER))
        tracker = await ours.retrieve(SENDER)
        for event in _turn(3, "电费多少"):
            tracker.update(event)
        await ours.save(tracker)
        _same(await ours.retrieve(SENDER), await rasas.retrieve(SENDER))

    asyncio.run(conversation())


def test_an_erased_conversation_is_gone_from_the_process_too(db):
    ours, rasas = _stores(db)

    async def conversation() -> None:
        await ours.save(DialogueStateTracker.from_events(SENDER, _turn(1, "停电了"), DOMAIN.slots))
        assert await ours.retrieve(SENDER) is not None
        engine = create_engine(db.url)
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM events WHERE sender_id = :s"), {"s": SENDER})
        engine.dispose()
        assert await ours.retrieve(SENDER) is None
        assert await rasas.retrieve(SENDER) is None

    asyncio.run(conversation())


def test_the_process_keeps_a_bounded_number_of_conversations(db):
    ours = ConfirmedSQLTrackerStore(domain=DOMAIN, host=db.url, cache_size=3)
    rasas = SQLTrackerStore(domain=DOMAIN, host=db.url)

    async def conversations() -> None:
        for n in range(5):
            await ours.save(DialogueStateTracker.from_events(f"{SENDER}{n}", _turn(n, "停电了"), DOMAIN.slots))
        for n in range(5):
            _same(await ours.retrieve(f"{SENDER}{n}"), await rasas.retrieve(f"{SENDER}{n}"))

    asyncio.run(conversations())
    assert len(ours._snapshots) == 3
