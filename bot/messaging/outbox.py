"""The record of outbound messages (``outbound_messages``): what was sent to whom, and how it went.

Nothing we send is silently lost: a message is recorded before it is attempted and its status is
updated as the provider reports (``queued`` → ``sent`` → ``delivered`` / ``failed`` / ``undelivered``;
``demo`` in the embedded demo; ``suppressed`` for an opted-out number).
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import List

from sqlalchemy import select
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
