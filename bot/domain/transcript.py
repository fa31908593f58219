"""The transcript of every conversation (customer, bot, agent), encrypted at rest.

Channels append what came in and what went out; the console reads it to show a conversation live.
"""

from __future__ import annotations

from datetime import datetime
from typing import List, Sequence, Tuple

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from bot.clock import utcnow
from bot.domain.models import TranscriptEntry


def append(
    s: Session,
    sender_id: str,
    channel: str,
    direction: str,
    author: str,
    text: str,
    intent: str | None = None,
    now: datetime | None = None,
) -> TranscriptEntry:
    entry = TranscriptEntry(sender_id=sender_id, channel=channel, direction=direction, author=author,
                            text=text[:4000], intent=intent, created_at=now or utcnow())
    s.add(entry)
    s.flush()
    return entry


def append_many(s: Session, entries: Sequence[Tuple[str, str, str, str, str]], now: datetime | None = None) -> None:
    """Append several outgoing or incoming entries at once: ``(sender_id, channel, direction, author, text)``
    (one statement; the notice sender keeps each WeChat notice in its customer's conversation this way)."""
    if entries:
        at = now or utcnow()
        s.connection().execute(insert(TranscriptEntry.__table__), [
            dict(sender_id=sender_id, channel=channel, direction=direction, author=author, text=text[:4000],
                 intent=None, created_at=at) for sender_id, channel, direction, author, text in entries])


def since(s: Session, sender_id: str, after_id: int = 0, limit: int = 500, start: datetime | None = None,
          end: datetime | None = None) -> List[TranscriptEntry]:
    """Entries of one conversation after ``after_id``, oldest first (for live polling); only those
    created after ``start`` and up to ``end`` when given (naive UTC: a reader's window)."""
    q = select(TranscriptEntry).where(TranscriptEntry.sender_id == sender_id, TranscriptEntry.id > after_id)
    if start is not None:
        q = q.where(TranscriptEntry.created_at > start)
    if end is not None:
        q = q.where(TranscriptEntry.created_at <= end)
    return list(s.scalars(q.order_by(TranscriptEntry.id).limit(limit)))


def tail(s: Session, sender_id: str, limit: int, start: datetime | None = None,
         end: datetime | None = None) -> List[TranscriptEntry]:
    """The latest ``limit`` entries of one conversation (within ``start``..``end`` when given), oldest first."""
    q = select(TranscriptEntry).where(TranscriptEntry.sender_id == sender_id)
    if start is not None:
        q = q.where(TranscriptEntry.created_at > start)
    if end is not None:
        q = q.where(TranscriptEntry.created_at <= end)
    return list(reversed(list(s.scalars(q.order_by(TranscriptEntry.id.desc()).limit(limit)))))


def last(s: Session, sender_id: str, direction: str) -> TranscriptEntry | None:
    """The newest entry of a conversation going ``direction`` ("in" from the customer, "out" to them)."""
    return s.scalar(
        select(TranscriptEntry)
        .where(TranscriptEntry.sender_id == sender_id, TranscriptEntry.direction == direction)
        .order_by(TranscriptEntry.id.desc())
        .limit(1)
    )
