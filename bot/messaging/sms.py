"""Sending SMS: one interface for every sender in the product (verification codes, WeChat fallback,
agent replies, notifications).

:func:`get_sms_sender` returns the Twilio sender when Twilio is configured, else the demo outbox
(the embedded demo shows it on the simulator page). Every sender honours opt-outs (退订/TD/STOP):
a number that opted out gets nothing until it texts us again. Senders never block the event loop.
The interface lives in :mod:`bot.messaging.sms_base`, below both senders.
"""

from __future__ import annotations

from bot.config import Settings, get_settings
from bot.messaging.sms_base import DemoSmsSender, SmsResult, SmsSender, opted_out
from bot.messaging.twilio_sms import TwilioSmsSender

__all__ = ["DemoSmsSender", "SmsResult", "SmsSender", "TwilioSmsSender", "get_sms_sender", "opted_out"]

_sender: SmsSender | None = None


def get_sms_sender(settings: Settings | None = None) -> SmsSender:
    """The process-wide SMS sender for the configuration."""
    global _sender
    if _sender is None:
        settings = settings or get_settings()
        if settings.twilio_configured:
            _sender = TwilioSmsSender(settings)
        else:
            _sender = DemoSmsSender()
    return _sender
