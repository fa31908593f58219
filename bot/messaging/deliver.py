"""Deliver a message to a conversation outside a passive reply, through the customer's own channel.

Used by the WeChat channel when the bot answers after WeChat's deadline, by agents replying from the
console, and by notifications. WeChat messages go through the customer-service message API; when
WeChat refuses because the 48-hour window closed or the quota is used up (45015, 45047) — or the
customer unsubscribed (43004) — the message goes by SMS to the phone of an account the customer bound.
SMS conversations get an SMS. Every attempt is recorded in ``outbound_messages``; nothing is dropped
silently.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass
from typing import List, Tuple

from bot import metrics
from bot.config import get_settings
from bot.db import session_scope
from bot.domain import bindings, contacts
from bot.messaging import outbox
from bot.messaging.sms import get_sms_sender
from bot.messaging.wechat_api import get_wechat_client

logger = logging.getLogger(__name__)

#: WeChat errors after which the customer can only be reached another way.
WECHAT_UNREACHABLE = {45015, 45047, 43004}
#: the openids of the demo's WeChat simulator (``/simulator/``): people trying the bot, not WeChat users
SIMULATOR_OPENID = re.compile(r"^sim-[A-Za-z0-9]{6,40}$")


@dataclass(frozen=True)
class Delivery:
    channel: str  # wechat | sms | demo_sms | simulator | none
    status: str  # sent | queued | demo | suppressed | failed | undeliverable
    detail: str = ""


def _contact_info(sender_id: str) -> Tuple[int, str, str, List[str]] | None:
    with session_scope() as s:
        contact = contacts.by_sender(s, sender_id)
        if contact is None:
            return None
        phones = [a.phone for a in bindings.bound_accounts(s, contact) if a.phone]
        return contact.id, contact.channel, contact.external_id, phones


def _record_simulated(contact_id: int, openid: str, text: str, purpose: str) -> None:
    with session_scope() as s:
        outbox.record(s, "wechat", purpose, openid, text, status="demo", contact_id=contact_id)


def _record_undeliverable(contact_id: int, channel: str, recipient: str, text: str, purpose: str, error: str) -> None:
    with session_scope() as s:
        outbox.record(s, channel, purpose, recipient, text, status="undelivered", contact_id=contact_id, error=error)


async def send_to_conversation(sender_id: str, text: str, purpose: str = "reply") -> Delivery:
    """Send ``text`` to the customer behind ``sender_id`` on their channel, falling back to SMS."""
    delivery = await _send_to_conversation(sender_id, text, purpose)
    metrics.OUTBOUND.labels(delivery.channel, delivery.status).inc()
    return delivery


async def _send_to_conversation(sender_id: str, text: str, purpose: str) -> Delivery:
    info = await asyncio.to_thread(_contact_info, sender_id)
    if info is None:
        logger.warning("no contact for %s: message not delivered", sender_id)
        return Delivery("none", "undeliverable", "unknown conversation")
    contact_id, channel, external_id, phones = info
    if channel == "wechat" and SIMULATOR_OPENID.match(external_id) and get_settings().simulator_enabled:
        # the simulator page shows the conversation's transcript: that is where this customer reads it
        await asyncio.to_thread(_record_simulated, contact_id, external_id, text, purpose)
        return Delivery("simulator", "demo")
    if channel == "wechat":
        result = await get_wechat_client().send_text(external_id, text, purpose=purpose, contact_id=contact_id)
        if result.ok:
            return Delivery("wechat", "sent")
        if result.errcode not in WECHAT_UNREACHABLE:
            return Delivery("wechat", "failed", f"errcode {result.errcode}")
        if not phones:
            await asyncio.to_thread(_record_undeliverable, contact_id, "wechat", external_id, text, purpose,
                            f"wechat {result.errcode}; no bound phone for SMS")
            return Delivery("none", "undeliverable", f"wechat {result.errcode}, no phone")
        sms = await get_sms_sender().send(phones[0], text, purpose="fallback", contact_id=contact_id)
        return Delivery(get_sms_sender().channel, sms.status, f"wechat {result.errcode}")
    if channel == "sms":
        sms = await get_sms_sender().send(external_id, text, purpose=purpose, contact_id=contact_id)
        return Delivery(get_sms_sender().channel, sms.status)
    # REST and other test channels cannot be reached after the request; the transcript keeps it
    await asyncio.to_thread(_record_undeliverable, contact_id, channel, external_id, text, purpose, "no push channel")
    return Delivery("none", "undeliverable", f"{channel} has no push channel")


__all__ = ["Delivery", "send_to_conversation", "WECHAT_UNREACHABLE", "SIMULATOR_OPENID"]
