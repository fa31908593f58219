"""Sending claimed notices (bot.domain.notices) on each person's channel, within the providers' rate limits.

A WeChat user gets a customer-service message when they wrote within 48 hours, else a template message
when ``WECHAT_TEMPLATE_IDS`` names one for the notice's topic; when WeChat cannot reach them (window closed,
quota used, unsubscribed, no template) the notice goes by SMS to its fallback phone (the ticket's call-back
phone or a bound account's registered phone). A phone person gets an SMS. Every attempt is recorded in the
outbox with the notice's id before it is made.

Transient failures (WeChat busy -1 or rate-limited 45009, network errors; SMS Twilio could not take after its
own retries) put the notice back with a backoff (30 s, 2 min, 8 min …, at most ``MAX_ATTEMPTS`` attempts).
Each provider has a token bucket (``NOTICE_RATE_WECHAT``, ``NOTICE_RATE_SMS`` per worker process).
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Dict, List, Optional, Tuple

from bot.clock import utcnow
from bot.config import Settings, get_settings
from bot.db import session_scope
from bot.domain import notices, transcript
from bot.domain.pii import mask_phone
from bot.messaging import outbox
from bot.messaging.sms import get_sms_sender
from bot.messaging.wechat_api import ERR_TRANSPORT, WeChatApiClient, get_wechat_client

logger = logging.getLogger(__name__)

#: WeChat answers worth trying again later: system busy (-1, also our transport failures), API frequency
#: limit (45009).
WECHAT_TRANSIENT = frozenset({ERR_TRANSPORT, 45009})
#: The customer-service window closed or its quota is used: a template message may still reach them.
WINDOW_CLOSED = frozenset({45015, 45047})
MAX_ATTEMPTS = 5
BACKOFF_S = 30.0


class TokenBucket:
    """At most ``rate`` acquisitions per second, bursts up to ``burst`` (default 1: evenly paced, so no
    one-second window of the provider's ever sees more than ``rate``)."""

    def __init__(self, rate: float, burst: float = 1.0) -> None:
        self.rate = rate
        self.capacity = burst
        self.tokens = self.capacity
        self.updated = time.monotonic()
        self._lock: Optional[asyncio.Lock] = None

    async def acquire(self) -> None:
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            while True:
                now = time.monotonic()
                self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
                self.updated = now
                if self.tokens >= 1:
                    self.tokens -= 1
                    return
                await asyncio.sleep((1 - self.tokens) / self.rate)


@dataclass(frozen=True)
class Outcome:
    status: str  # sent | failed | suppressed | retry
    channel: Optional[str] = None
    error: Optional[str] = None


class NoticeSender:
    """Sends claimed notices through the product's WeChat client and SMS sender."""

    def __init__(self, settings: Optional[Settings] = None, wechat: Optional[WeChatApiClient] = None) -> None:
        self.settings = settings or get_settings()
        self.wechat = wechat or get_wechat_client()
        self.sms = get_sms_sender(self.settings)
        self.templates: Dict[str, str] = dict(self.settings.wechat_template_ids)
        self.wechat_bucket = TokenBucket(self.settings.notice_rate_wechat)
        self.sms_bucket = TokenBucket(self.settings.notice_rate_sms)

    async def close(self) -> None:
        """Close the WeChat client's connections (they belong to the event loop that is ending)."""
        await self.wechat.close()

    async def send(self, job: notices.Job) -> Outcome:
        """One notice; never raises for a provider's refusal (the outcome says what happened)."""
        if job.channel == "wechat" and job.openid and job.contact_active:
            outcome = await self._wechat(job)
            if outcome is not None:
                return outcome
        return await self._sms(job)

    async def _wechat(self, job: notices.Job) -> Optional[Outcome]:
        """The WeChat outcome, or None when only SMS can reach the person now."""
        assert job.openid is not None
        if not self.wechat.configured:  # the embedded demo: the simulator shows the transcript
            await asyncio.to_thread(_demo_wechat, job)
            return Outcome("sent", "wechat")
        template_id = self.templates.get(job.topic)
        if not job.within_window and not template_id:
            return None
        await self.wechat_bucket.acquire()
        if job.within_window:
            result = await self.wechat.send_text(job.openid, job.text, purpose="notice", contact_id=job.contact_id,
                                                 notice_id=job.notice_id)
            channel = "wechat"
        else:
            assert template_id is not None
            result = await self.wechat.send_template(job.openid, template_id, job.template or {"content": job.text},
                                                     purpose="notice", contact_id=job.contact_id,
                                                     notice_id=job.notice_id)
            channel = "wechat_tpl"
        if result.ok:
            await asyncio.to_thread(_in_transcript, job)
            return Outcome("sent", channel)
        if result.errcode in WECHAT_TRANSIENT:
            return Outcome("retry", channel, f"wechat {result.errcode}")
        if result.errcode in WINDOW_CLOSED and job.within_window and template_id:
            await self.wechat_bucket.acquire()
            again = await self.wechat.send_template(job.openid, template_id, job.template or {"content": job.text},
                                                    purpose="notice", contact_id=job.contact_id,
                                                    notice_id=job.notice_id)
            if again.ok:
                await asyncio.to_thread(_in_transcript, job)
                return Outcome("sent", "wechat_tpl")
        logger.info("notice %d: WeChat refused (%d); trying SMS", job.notice_id, result.errcode)
        return None

    async def _sms(self, job: notices.Job) -> Outcome:
        if not job.phone:
            return Outcome("failed", None, "no WeChat delivery and no phone for SMS")
        await self.sms_bucket.acquire()
        try:
            result = await self.sms.send(job.phone, job.text, purpose="notice", contact_id=job.contact_id,
                                         notice_id=job.notice_id)
        except ValueError:
            return Outcome("failed", "sms", "not a mobile number")
        if result.accepted:
            return Outcome("sent", self.sms.channel)
        if result.status == "suppressed":
            return Outcome("suppressed", self.sms.channel, "number opted out of SMS")
        if result.status == "undelivered":
            return Outcome("retry", self.sms.channel, "SMS provider did not accept it")
        logger.warning("notice %d: SMS to %s failed", job.notice_id, mask_phone(job.phone))
        return Outcome("failed", self.sms.channel, "SMS refused")


def _in_transcript(job: notices.Job) -> None:
    """Keep a WeChat notice in the customer's conversation, where agents (and the simulator) see it."""
    if job.sender_id:
        with session_scope() as s:
            transcript.append(s, job.sender_id, "wechat", "out", notices.TRANSCRIPT_AUTHOR, job.text)


def _demo_wechat(job: notices.Job) -> None:
    """Without WECHAT_APPID/SECRET (the embedded demo) a WeChat notice is delivered to the transcript only,
    as SMS without Twilio go to the demo outbox; the outbox records it as ``demo``."""
    assert job.openid is not None
    with session_scope() as s:
        outbox.record(s, "wechat", "notice", job.openid, job.text, status="demo", contact_id=job.contact_id,
                      notice_id=job.notice_id)
        if job.sender_id:
            transcript.append(s, job.sender_id, "wechat", "out", notices.TRANSCRIPT_AUTHOR, job.text)


def _retry_at(attempts: int, now: datetime) -> datetime:
    return now + timedelta(seconds=BACKOFF_S * 4 ** max(0, attempts - 1))


def _settle(job: notices.Job, outcome: Outcome, now: datetime) -> Tuple[int, str, Optional[str], Optional[str],
                                                                      Optional[datetime]]:
    if outcome.status == "retry" and job.attempts < MAX_ATTEMPTS:
        return job.notice_id, "pending", outcome.channel, outcome.error, _retry_at(job.attempts, now)
    status = "failed" if outcome.status == "retry" else outcome.status
    return job.notice_id, status, outcome.channel, outcome.error, None


def _record(settled: List[Tuple[int, str, Optional[str], Optional[str], Optional[datetime]]]) -> None:
    """Record a batch's outcomes in one transaction (a worker killed before it leaves the evidence in the
    outbox, which notices.recover_stale reads)."""
    with session_scope() as s:
        notices.finish_many(s, settled, now=utcnow())


def _claim(limit: int) -> List[notices.Job]:
    with session_scope() as s:
        return notices.claim_due(s, limit=limit)


async def send_due(sender: NoticeSender, batch: Optional[int] = None, deadline_s: Optional[float] = None) -> int:
    """Claim and send due notices, ``notice_concurrency`` at a time, until none are due (or ``deadline_s``
    seconds passed); returns how many were handled. Claims are taken in batches the rate limits let go
    within about two seconds, so a claim is never old while its worker lives."""
    settings = sender.settings
    if settings.is_sqlite:
        # SQLite has one writer: database work from one thread never waits in SQLite's busy handler
        # (which sleeps in steps of up to 100 ms); PostgreSQL takes it from several
        asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(max_workers=1,
                                                                           thread_name_prefix="notices-db"))
    batch = batch or int(max(settings.notice_concurrency,
                             min(200, 2 * max(settings.notice_rate_wechat, settings.notice_rate_sms))))
    started = time.monotonic()
    handled = 0
    gate = asyncio.Semaphore(sender.settings.notice_concurrency)

    async def one(job: notices.Job) -> Tuple[int, str, Optional[str], Optional[str], Optional[datetime]]:
        async with gate:
            try:
                outcome = await sender.send(job)
            except Exception as exc:  # a bug or an unexpected answer: back off rather than lose it
                logger.exception("notice %d: sending failed", job.notice_id)
                outcome = Outcome("retry", None, f"{type(exc).__name__}")
            return _settle(job, outcome, utcnow())

    try:
        while deadline_s is None or time.monotonic() - started < deadline_s:
            jobs = await asyncio.to_thread(_claim, batch)
            if not jobs:
                break
            settled = await asyncio.gather(*(one(j) for j in jobs))
            await asyncio.to_thread(_record, list(settled))
            handled += len(jobs)
    finally:
        await sender.close()
    return handled


__all__ = ["NoticeSender", "TokenBucket", "Outcome", "send_due", "MAX_ATTEMPTS"]
