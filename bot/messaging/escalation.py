"""The escalation job: run the scan (:func:`bot.domain.escalation.scan`) in one unit of work, then tell
the on-duty supervisor (``ESCALATION_SMS_TO``) by SMS about each ticket that went on the escalation list
in this run — through the product's SMS sender and outbox. The scan marks each ticket once, so a repeated
run sends nothing new. Scheduled periodically by the job queue."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import List

from bot import messages
from bot.clock import fmt_local, utcnow
from bot.config import Settings, get_settings
from bot.db import session_scope
from bot.domain import escalation
from bot.messaging.sms import SmsSender, get_sms_sender

logger = logging.getLogger(__name__)


def scan(now: datetime | None = None) -> List[escalation.Change]:
    """One committed scan at ``now`` (naive UTC, default now)."""
    with session_scope() as s:
        return escalation.scan(s, now or utcnow())


async def tell_on_duty(changes: List[escalation.Change], settings: Settings | None = None,
                       sender: SmsSender | None = None) -> int:
    """SMS the on-duty supervisor one line per newly escalated ticket; how many were accepted."""
    settings = settings or get_settings()
    if not settings.escalation_sms_to:
        return 0
    sender = sender or get_sms_sender(settings)
    sent = 0
    for change in changes:
        if change.kind != "escalated":
            continue
        body = messages.ESCALATION_SMS.format(
            ticket_no=change.ticket_no, type=messages.TICKET_TYPE_LABELS.get(change.ticket_type, change.ticket_type),
            township=change.township or "-", deadline=fmt_local(change.sla_deadline))
        result = await sender.send(settings.escalation_sms_to, body, purpose="escalation")
        sent += result.accepted
    return sent
