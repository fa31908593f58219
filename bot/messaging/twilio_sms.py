"""SMS through Twilio's REST API, and the delivery statuses Twilio reports back.

Why not twilio-python's client: its default HTTP client is blocking (it would stall Rasa's event loop
for every send, as Rasa's own Twilio channel does), and its async client logs request bodies (phone
numbers) and retries without telling us. This module speaks the one call it needs —
``POST {TWILIO_API_BASE_URL}/2010-04-01/Accounts/{sid}/Messages.json`` with basic auth — over aiohttp.

Delivery rules:

* the message is recorded (``outbound_messages``) before the first attempt (base class);
* 5xx, 429 and network errors/timeouts are retried with backoff; when the attempts are used up the
  message is ``undelivered`` with the last error — never silently lost. A timeout may hide a request
  Twilio did accept, so a retry can in rare cases duplicate an SMS; we prefer that to losing it;
* any other 4xx is a permanent refusal (``failed`` with Twilio's code, e.g. 21211 invalid number);
  21610 means the recipient blocked us at Twilio, so the number is also marked opted out;
* on acceptance the MessageSid is saved as ``provider_id``; Twilio then POSTs status callbacks to
  ``PUBLIC_BASE_URL/webhooks/sms/status``, which :func:`record_provider_status` applies.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from typing import Any, Dict, Sequence

import aiohttp

from bot.clock import utcnow
from bot.config import Settings
from bot.db import session_scope
from bot.domain import audit, contacts
from bot.domain.models import OutboundMessage, OutboundStatusEvent
from bot.domain.pii import mask_phone, redact_text
from bot.messaging import outbox
from bot.messaging.sms_base import SmsResult, SmsSender

logger = logging.getLogger(__name__)

#: Twilio error code: the recipient replied STOP to this sender at Twilio's level.
UNSUBSCRIBED_RECIPIENT = 21610

#: Path of the status callback endpoint (the SMS channel serves it; see bot/channels/sms.py).
STATUS_CALLBACK_PATH = "/webhooks/sms/status"

# Order of Twilio's message statuses: a late callback never moves a message backwards.
_RANK = {
    "accepted": 0, "scheduled": 0, "queued": 0, "sending": 1, "sent": 2,
    "delivered": 3, "undelivered": 3, "failed": 3, "read": 4, "canceled": 3,
}


def to_e164(phone: str) -> str:
    """A normalised mainland mobile number (11 digits) as Twilio wants it."""
    return phone if phone.startswith("+") else "+86" + phone


@dataclass(frozen=True)
class _Attempt:
    """The outcome of one POST to Messages.json."""

    retry: bool
    sid: str | None = None
    status: str | None = None
    error: str | None = None
    code: int | None = None
    retry_after: float | None = None


class TwilioSmsSender(SmsSender):
    """Sends through Twilio's Messages API without blocking the event loop."""

    channel = "sms"
    initial_status = "queued"

    def __init__(
        self,
        settings: Settings,
        backoff: Sequence[float] = (1.0, 3.0, 9.0),
        timeout_s: float = 10.0,
    ) -> None:
        """``backoff``: the pauses between attempts (so ``len(backoff) + 1`` attempts in all)."""
        if not settings.twilio_configured:
            raise ValueError("TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM_NUMBER must be set")
        self.account_sid: str = settings.twilio_account_sid  # type: ignore[assignment]
        self._auth = aiohttp.BasicAuth(settings.twilio_account_sid, settings.twilio_auth_token)  # type: ignore[arg-type]
        self.from_number: str = settings.twilio_from_number  # type: ignore[assignment]
        self.url = f"{settings.twilio_api_base_url}/2010-04-01/Accounts/{self.account_sid}/Messages.json"
        self.status_callback = (
            settings.public_base_url + STATUS_CALLBACK_PATH if settings.public_base_url else None
        )
        if self.status_callback is None:
            logger.warning("PUBLIC_BASE_URL not set: Twilio will not report delivery statuses")
        self.backoff = tuple(backoff)
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)

    async def _deliver(self, message_id: int, phone: str, body: str) -> SmsResult:
        form: Dict[str, str] = {"To": to_e164(phone), "From": self.from_number, "Body": body}
        if self.status_callback:
            form["StatusCallback"] = self.status_callback
        last: _Attempt | None = None
        # one session per message: the sender is process-wide, and a session belongs to one event loop
        async with aiohttp.ClientSession(timeout=self.timeout) as session:
            for attempt in range(1, len(self.backoff) + 2):
                last = await self._post(session, form)
                await asyncio.to_thread(_note_attempt, message_id, attempt)
                if not last.retry:
                    break
                if attempt <= len(self.backoff):
                    pause = max(self.backoff[attempt - 1], min(last.retry_after or 0.0, 60.0))
                    logger.warning("sms %d to %s: attempt %d failed (%s); retrying in %.1f s",
                                   message_id, mask_phone(phone), attempt, last.error, pause)
                    await asyncio.sleep(pause)
        assert last is not None
        if last.sid:
            status = last.status or "queued"
            await asyncio.to_thread(_accepted, message_id, last.sid, status)
            logger.info("sms %d to %s accepted by Twilio as %s (%s)", message_id, mask_phone(phone), last.sid,
                        status)
            return SmsResult(message_id, status if status in ("queued", "sent", "delivered") else "queued")
        status = "undelivered" if last.retry else "failed"
        await asyncio.to_thread(_refused, message_id, phone, status, last.error or "unknown error", last.code)
        logger.error("sms %d to %s %s: %s", message_id, mask_phone(phone), status, last.error)
        return SmsResult(message_id, status)

    async def _post(self, session: aiohttp.ClientSession, form: Dict[str, str]) -> _Attempt:
        try:
            async with session.post(self.url, data=form, auth=self._auth) as resp:
                text = await resp.text()
                payload = _json_or_empty(text)
                if resp.status in (200, 201) and payload.get("sid"):
                    return _Attempt(retry=False, sid=str(payload["sid"]), status=str(payload.get("status") or ""))
                code = payload.get("code")
                error = f"HTTP {resp.status}" + (f" code {code}" if code else "")
                if payload.get("message"):
                    # Twilio's messages quote the number ("The 'To' number … is not valid"): never keep it
                    error += f": {redact_text(str(payload['message']))}"
                retry = resp.status == 429 or resp.status >= 500
                return _Attempt(retry=retry, error=error, code=int(str(code)) if str(code or "").isdigit() else None,
                                retry_after=_seconds(resp.headers.get("Retry-After")))
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            return _Attempt(retry=True, error=f"{type(exc).__name__}: {exc}"[:300])


def _json_or_empty(text: str) -> Dict[str, Any]:
    """Twilio's JSON body, or {} when a proxy or an outage answered with something else."""
    try:
        value = json.loads(text) if text else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _seconds(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None


def _note_attempt(message_id: int, attempt: int) -> None:
    with session_scope() as s:
        message = s.get(OutboundMessage, message_id)
        if message is not None:
            message.attempts = attempt


def _accepted(message_id: int, sid: str, status: str) -> None:
    with session_scope() as s:
        message = s.get(OutboundMessage, message_id)
        if message is None:
            return
        message.provider_id = sid
        if _RANK.get(status, 0) >= _RANK.get(message.status, 0):
            # a status callback may already have moved it on
            outbox.set_status(s, message, status)


def _refused(message_id: int, phone: str, status: str, error: str, code: int | None) -> None:
    with session_scope() as s:
        message = s.get(OutboundMessage, message_id)
        if message is None:
            return
        outbox.set_status(s, message, status, error=error)
        if code == UNSUBSCRIBED_RECIPIENT:
            # Twilio will refuse every later message too: record the opt-out so senders stop trying
            contact = contacts.get_or_create(s, "sms", phone)
            contact.active = False
            audit.record(s, "system", "sms.opt_out", "contact", contact.sender_id, reason="twilio_21610",
                         phone=mask_phone(phone))


def record_provider_status(message_sid: str, status: str, error_code: str | None = None) -> bool:
    """Apply a delivery status Twilio reported for ``message_sid``; False when the message is unknown.

    Every report is kept as an ``outbound_status_events`` row; the message's own status only moves
    forward (callbacks can arrive out of order).
    """
    status = (status or "").strip().lower()[:20]
    error = f"twilio {error_code}" if error_code and error_code not in ("0", "") else None
    with session_scope() as s:
        message = outbox.by_provider_id(s, message_sid)
        if message is None:
            return False
        if _RANK.get(status, 0) >= _RANK.get(message.status, 0):
            outbox.set_status(s, message, status, error=error)
        else:
            s.add(OutboundStatusEvent(message_id=message.id, status=status, error_code=error_code, at=utcnow()))
        return True


__all__ = ["TwilioSmsSender", "record_provider_status", "to_e164", "STATUS_CALLBACK_PATH"]
