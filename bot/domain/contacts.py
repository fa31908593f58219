"""Customers as channels see them: a WeChat openid or an SMS phone number.

The Rasa sender id is derived here and never contains a phone number: SMS conversations are keyed
by a prefix of the phone's keyed hash.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.clock import utcnow
from bot.domain.models import Contact
from bot.domain.pii import cipher, normalize_phone


def _external_hash(channel: str, external_id: str) -> str:
    return cipher().lookup_hash(f"{channel}:{external_id}")


def normalize_external(channel: str, external_id: str) -> str:
    return normalize_phone(external_id) if channel == "sms" else external_id.strip()


def sender_id_for(channel: str, external_id: str) -> str:
    """The conversation id Rasa uses for this customer on this channel."""
    external_id = normalize_external(channel, external_id)
    if channel == "sms":
        return "sms:" + _external_hash("sms", external_id)[:24]
    return f"{channel}:{external_id}"


def by_sender(s: Session, sender_id: str) -> Contact | None:
    return s.scalar(select(Contact).where(Contact.sender_id == sender_id))


def get_or_create(s: Session, channel: str, external_id: str, now: datetime | None = None,
                  sender_id: str | None = None) -> Contact:
    """The contact for a channel identity, created on first sight (safe under concurrent first messages).

    ``sender_id`` overrides the derived conversation id (for senders of test channels)."""
    external_id = normalize_external(channel, external_id)
    h = _external_hash(channel, external_id)
    found = s.scalar(select(Contact).where(Contact.channel == channel, Contact.external_hash == h))
    if found is not None:
        return found
    contact = Contact(
        channel=channel,
        sender_id=sender_id or sender_id_for(channel, external_id),
        external_hash=h,
        external_id=external_id,
        created_at=now or utcnow(),
    )
    try:
        with s.begin_nested():
            s.add(contact)
    except IntegrityError:
        found = s.scalar(select(Contact).where(Contact.channel == channel, Contact.external_hash == h))
        assert found is not None
        return found
    return contact


def for_sender(s: Session, sender_id: str, now: datetime | None = None) -> Contact:
    """The contact behind a Rasa sender id; senders of other channels (REST, tests) get one lazily."""
    found = by_sender(s, sender_id)
    if found is not None:
        return found
    channel, _, external = sender_id.partition(":")
    if channel in ("wechat", "rest") and external:
        return get_or_create(s, channel, external, now)
    # a conversation of another client (rasa shell, rasa test): keep its id as it is
    return get_or_create(s, "rest", sender_id, now, sender_id=sender_id)


def mark_inbound(s: Session, contact: Contact, now: datetime | None = None) -> None:
    """The customer wrote to us: the WeChat 48-hour window restarts, an SMS opt-out ends."""
    contact.last_inbound_at = now or utcnow()
    contact.active = True
