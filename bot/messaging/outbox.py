"""The record of outbound messages (``outbound_messages``): what was sent to whom, and how it went.

Nothing we send is silently lost: a message is recorded before it is attempted and its status is
updated as the provider reports (``queued`` → ``sent`` → ``delivered`` / ``failed`` / ``undelivered``;
``demo`` in the embedded demo; ``suppressed`` for an opted-out number).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import List, Optional, Sequence

from sqlalchemy import DateTime, Integer, String, Text, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from bot.clock import utcnow
from bot.domain.models import OutboundMessage, OutboundStatusEvent
from bot.domain.pii import cipher

#: A Chinese (UCS-2) SMS segment holds 70 characters; a multi-part one 67 per segment.
SEGMENT_CHARS, MULTIPART_CHARS = 70, 67


def sms_segments(body: str) -> int:
    """How many SMS segments a Chinese message costs."""
    n = len(body)
    return 1 if n <= SEGMENT_CHARS else math.ceil(n / MULTIPART_CHARS)


def recipient_hash(channel: str, recipient: str) -> str:
    kind = "phone" if channel in ("sms", "demo_sms") else channel
    return cipher().lookup_hash(f"{kind}:{recipient}")


def record(
    s: Session,
    channel: str,
    purpose: str,
    recipient: str,
    body: str,
    status: str = "queued",
    contact_id: int | None = None,
    error: str | None = None,
    now: datetime | None = None,
    notice_id: int | None = None,
) -> OutboundMessage:
    """Record a message before it is attempted (``notice_id``: the notice it carries, bot.domain.notices)."""
    message = OutboundMessage(
        channel=channel,
        purpose=purpose,
        contact_id=contact_id,
        recipient=recipient,
        recipient_hash=recipient_hash(channel, recipient),
        body=body,
        segments=sms_segments(body) if channel in ("sms", "demo_sms") else 1,
        status=status,
        error=error,
        created_at=now or utcnow(),
        updated_at=now or utcnow(),
        notice_id=notice_id,
    )
    s.add(message)
    s.flush()
    return message


def set_status(
    s: Session, message: OutboundMessage, status: str, error: str | None = None, now: datetime | None = None
) -> None:
    message.status = status
    message.updated_at = now or utcnow()
    if error is not None:
        message.error = error[:2000]
    s.add(OutboundStatusEvent(message_id=message.id, status=status, error_code=error[:20] if error else None,
                              at=now or utcnow()))


@dataclass(frozen=True)
class Pending:
    """A message about to be attempted, for :func:`record_many`."""

    channel: str
    purpose: str
    recipient: str
    body: str
    status: str = "queued"
    contact_id: Optional[int] = None
    notice_id: Optional[int] = None


@dataclass(frozen=True)
class Answer:
    """How an attempted message went, for :func:`answer_many`."""

    message_id: int
    status: str
    attempts: int = 1
    error: Optional[str] = None
    provider_id: Optional[str] = None


_outbox = OutboundMessage.__table__
_RECORD = insert(_outbox)
#: One statement for every answer (executed for many at once).
_ANSWER = (update(_outbox).where(_outbox.c.id == bindparam("b_id"))
           .values(status=bindparam("b_status", type_=String), attempts=bindparam("b_attempts", type_=Integer),
                   updated_at=bindparam("b_at", type_=DateTime),
                   error=func.coalesce(bindparam("b_error", type_=Text), _outbox.c.error),
                   provider_id=func.coalesce(bindparam("b_provider_id", type_=String), _outbox.c.provider_id)))


def record_many(s: Session, messages: Sequence[Pending], now: datetime | None = None) -> List[int]:
    """Record several messages before they are attempted (as :func:`record`, in the session's transaction,
    without ORM objects); their ids, in order."""
    now = now or utcnow()
    connection = s.connection()
    ids = []
    for m in messages:
        result = connection.execute(_RECORD, dict(
            channel=m.channel, purpose=m.purpose, contact_id=m.contact_id, recipient=m.recipient,
            recipient_hash=recipient_hash(m.channel, m.recipient), body=m.body,
            segments=sms_segments(m.body) if m.channel in ("sms", "demo_sms") else 1, status=m.status,
            attempts=0, created_at=now, updated_at=now, notice_id=m.notice_id, error=None, provider_id=None))
        ids.append(int(result.inserted_primary_key[0]))
    return ids


def answer_many(s: Session, answers: Sequence[Answer], now: datetime | None = None) -> None:
    """Record how several messages went (as :func:`set_status`, with attempts and the provider's id; an
    error or provider id not given leaves the recorded one)."""
    if not answers:
        return
    now = now or utcnow()
    connection = s.connection()
    connection.execute(_ANSWER, [
        dict(b_id=a.message_id, b_status=a.status, b_attempts=a.attempts, b_at=now,
             b_error=a.error[:2000] if a.error is not None else None, b_provider_id=a.provider_id or None)
        for a in answers])
    connection.execute(insert(OutboundStatusEvent.__table__), [
        dict(message_id=a.message_id, status=a.status, error_code=a.error[:20] if a.error else None, at=now)
        for a in answers])


def by_provider_id(s: Session, provider_id: str) -> OutboundMessage | None:
    """The message a provider's id (Twilio MessageSid, WeChat template msgid) refers to."""
    return s.scalar(select(OutboundMessage).where(OutboundMessage.provider_id == provider_id))


def demo_outbox(s: Session, limit: int = 20, after_id: int = 0) -> List[OutboundMessage]:
    """The demo SMS outbox (embedded demo without Twilio), newest last."""
    q = (
        select(OutboundMessage)
        .where(OutboundMessage.channel == "demo_sms", OutboundMessage.id > after_id)
        .order_by(OutboundMessage.id.desc())
        .limit(limit)
    )
    return list(reversed(list(s.scalars(q))))
