"""The SMS sender interface every sender implements (verification codes, WeChat fallback, agent
replies, notifications): record first, honour opt-outs (退订/TD/STOP), then deliver.

The Twilio sender (:mod:`bot.messaging.twilio_sms`) and the demo outbox build on this;
:func:`bot.messaging.sms.get_sms_sender` picks one for the configuration.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from sqlalchemy import select

from bot.db import session_scope
from bot.domain.models import Contact
from bot.domain.pii import cipher, mask_phone, normalize_phone
from bot.messaging import outbox

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SmsResult:
    message_id: int
    status: str  # demo | queued | sent | suppressed | failed | undelivered

    @property
    def accepted(self) -> bool:
        return self.status in ("demo", "queued", "sent", "delivered")


def opted_out(phone: str) -> bool:
    """Has this number opted out of our SMS (an inactive SMS contact)?"""
    h = cipher().lookup_hash(f"sms:{normalize_phone(phone)}")
    with session_scope() as s:
        active = s.scalar(select(Contact.active).where(Contact.channel == "sms", Contact.external_hash == h))
    return active is False


class SmsSender:
    """Base class: records, checks opt-out, then hands over to :meth:`_deliver`."""

    channel = "sms"

    async def send(self, to: str, body: str, purpose: str, contact_id: int | None = None,
                   notice_id: int | None = None) -> SmsResult:
        """Send ``body`` to ``to`` (``notice_id``: the notice it carries, recorded with the message)."""
        phone = normalize_phone(to)
        if await asyncio.to_thread(opted_out, phone):
            message_id = await asyncio.to_thread(self._record, phone, body, purpose, contact_id, "suppressed",
                                                 notice_id)
            logger.info("sms to %s suppressed: number opted out", mask_phone(phone))
            return SmsResult(message_id, "suppressed")
        message_id = await asyncio.to_thread(self._record, phone, body, purpose, contact_id, self.initial_status,
                                             notice_id)
        logger.info("sms %s to %s (%s, %d segments)", purpose, mask_phone(phone), self.channel,
                    outbox.sms_segments(body))
        return await self._deliver(message_id, phone, body)

    initial_status = "queued"

    def _record(self, phone: str, body: str, purpose: str, contact_id: int | None, status: str,
                notice_id: int | None = None) -> int:
        with session_scope() as s:
            return outbox.record(s, self.channel, purpose, phone, body, status=status, contact_id=contact_id,
                                 notice_id=notice_id).id

    async def _deliver(self, message_id: int, phone: str, body: str) -> SmsResult:
        raise NotImplementedError


class DemoSmsSender(SmsSender):
    """No Twilio credentials: messages land in the demo outbox shown by the simulator."""

    channel = "demo_sms"
    initial_status = "demo"

    async def _deliver(self, message_id: int, phone: str, body: str) -> SmsResult:
        return SmsResult(message_id, "demo")
