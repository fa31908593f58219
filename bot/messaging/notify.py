"""Sending claimed notices (bot.domain.notices) on each person's channel, within the providers' rate limits.

A WeChat user gets a customer-service message when they wrote within 48 hours, else a template message
when ``WECHAT_TEMPLATE_IDS`` names one for the notice's topic; when WeChat cannot reach them (window closed,
quota used, unsubscribed, no template) the notice goes by SMS to its fallback phone (the ticket's call-back
phone or a bound account's registered phone). A phone person gets an SMS. Every attempt is recorded in the
outbox with the notice's id before it is made.

Transient failures (WeChat busy -1, network errors; SMS Twilio could not take after its own retries) put the
notice back with a backoff (30 s, 2 min, 8 min …, at most ``MAX_ATTEMPTS`` attempts); WeChat's frequency
limit (45009) after 1 s, 2 s, 4 s, 8 s.
Each provider has a :class:`RateLimiter` (``NOTICE_RATE_WECHAT``, ``NOTICE_RATE_SMS`` per worker process).

How a run goes fast (issue 12: 5,000 notices at WeChat's 100/s within 60 s, on 2 shared cores): one task
claims batches (one UPDATE per batch, :func:`bot.domain.notices.claim_due`) ahead of the senders;
``NOTICE_CONCURRENCY`` sender tasks in one event loop share one HTTP session (kept-alive connections) and the
cached access token; the database writes of all of them go through one :class:`Journal`, which commits
whatever has accumulated in one transaction — the outbox row of a message before it is sent (the sender
waits for that commit), and after the answer the outbox status, the transcript entry and the notice's
outcome. No thread or process is started per notice.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Deque, Dict, List, Optional, Sequence, Tuple

from bot.clock import utcnow
from bot.config import Settings, get_settings
from bot.db import session_scope
from bot.domain import notices, transcript
from bot.domain.pii import mask_phone
from bot.messaging import outbox
from bot.messaging.sms import get_sms_sender
from bot.messaging.wechat_api import (
    ERR_TRANSPORT,
    Message,
    WeChatApiClient,
    WeChatResult,
    get_wechat_client,
    recorded_outcome,
    template_message,
    text_message,
)

logger = logging.getLogger(__name__)

#: WeChat answers worth trying again later: system busy (-1, also our transport failures), API frequency
#: limit (45009).
WECHAT_TRANSIENT = frozenset({ERR_TRANSPORT, 45009})
#: The customer-service window closed or its quota is used: a template message may still reach them.
WINDOW_CLOSED = frozenset({45015, 45047})
MAX_ATTEMPTS = 5
BACKOFF_S = 30.0
#: WeChat's frequency limit (45009) asks to slow down for a moment, not for minutes: retries after it come
#: after 1 s, 2 s, 4 s, 8 s (then the notice fails, and a registered phone gets its SMS), and a run waits for
#: retries due within ``SOON_S`` rather than leaving them to the next sweep.
RATE_LIMITED_RETRY_S = 1.0
SOON_S = 5.0
#: A journal commit that failed is tried again this many times (then the stale-claim recovery settles the
#: notices from the outbox).
JOURNAL_TRIES = 3

#: A transcript entry: (sender_id, channel, direction, author, text).
Entry = Tuple[str, str, str, str, str]


class RateLimiter:
    """At most ``rate`` messages per second, evenly spaced, and never more than ``rate`` (at least 1) in any
    sliding second — the provider's own rule — counted when they actually go.

    :meth:`acquire` gives each caller the next slot of a schedule ``1/rate`` s apart; a late wake-up (a
    loaded machine) does not lose its slot — the schedule, not the wake-up, sets the next one — so the
    configured rate is what goes out (after a pause the schedule restarts at the present, catching up
    ``CATCH_UP_S`` at most). :meth:`gate`, called right before the request leaves (after the outbox row is
    committed), holds it while ``rate`` requests already went within the last second: a stall between the
    slot and the request (the database) cannot turn into a burst beyond the limit."""

    CATCH_UP_S = 0.1

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.interval = 1.0 / rate
        self.per_second = max(1, int(rate))
        self.next_at = 0.0
        self.recent: Deque[float] = collections.deque()  # when the last ``per_second`` requests went

    async def acquire(self) -> None:
        """Wait for this caller's slot of the schedule."""
        now = time.monotonic()
        at = max(self.next_at, now - self.CATCH_UP_S)
        self.next_at = at + self.interval
        if at > now:
            await asyncio.sleep(at - now)

    async def gate(self) -> None:
        """Wait until a request may leave without exceeding ``rate`` in the sliding second; count it."""
        while True:
            now = time.monotonic()
            if len(self.recent) < self.per_second or self.recent[0] + 1.0 <= now:
                break
            await asyncio.sleep(self.recent[0] + 1.0 - now)
        self.recent.append(now)
        if len(self.recent) > self.per_second:
            self.recent.popleft()


#: A claim on a notice: (notice id, claim token) — see :class:`bot.domain.notices.Job`.
Claim = Tuple[int, str]


class ClaimLost(Exception):
    """The notice is no longer held by this worker's claim (settled as stale and claimed by another worker):
    it is not sent, and not marked, from here."""


class Journal:
    """The sender's database writes, committed in groups: one transaction (in the database thread) takes
    whatever the sender tasks have asked for since the last one.

    :meth:`record` writes an outbox row before its message is attempted and returns its id once committed
    (at once: a sender waits for it) — unless the notice's claim is no longer held (:class:`ClaimLost`);
    :meth:`held` only checks the claim (before an SMS, whose sender records it). :meth:`later` queues what is
    written after the fact (outbox answers, transcript entries, notices' outcomes — marked only under the
    claim that took them), which rides along with the next record's commit, or is committed on its own
    after ``LATER_S`` (or on :meth:`drain`). A failed commit fails the waiting calls and keeps the
    after-the-fact rows for the next try (``JOURNAL_TRIES``)."""

    LATER_S = 0.02

    def __init__(self) -> None:
        self._records: List[Tuple[Optional[outbox.Pending], Claim, asyncio.Future[Optional[int]]]] = []
        self._answers: List[outbox.Answer] = []
        self._entries: List[Entry] = []
        self._outcomes: List[notices.Outcome] = []
        self._tokens: Dict[int, str] = {}
        self._task: Optional[asyncio.Task[None]] = None
        self._wake: Optional[asyncio.Event] = None
        self._draining = False
        self.commits = 0

    async def record(self, message: outbox.Pending, claim: Claim) -> int:
        """Record ``message`` (committed when this returns); its outbox id. :class:`ClaimLost` when the
        notice is no longer held by ``claim`` (nothing recorded)."""
        message_id = await self._submit(message, claim)
        if message_id is None:
            raise ClaimLost(claim[0])
        return message_id

    async def held(self, claim: Claim) -> None:
        """Return when the notice is still held by ``claim``; :class:`ClaimLost` otherwise."""
        if await self._submit(None, claim) is None:
            raise ClaimLost(claim[0])

    async def _submit(self, message: Optional[outbox.Pending], claim: Claim) -> Optional[int]:
        future: asyncio.Future[Optional[int]] = asyncio.get_running_loop().create_future()
        self._records.append((message, claim, future))
        self._kick()
        assert self._wake is not None
        self._wake.set()
        return await future

    def later(self, answers: Sequence[outbox.Answer] = (), entries: Sequence[Entry] = (),
              outcomes: Sequence[notices.Outcome] = (), claims: Sequence[Claim] = ()) -> None:
        """Queue rows written after the fact, with the next commit (``outcomes`` marked only under their
        ``claims``)."""
        self._answers.extend(answers)
        self._entries.extend(entries)
        self._outcomes.extend(outcomes)
        self._tokens.update(claims)
        self._kick()

    async def drain(self) -> None:
        """Commit everything queued now and wait until it is committed (or given up)."""
        self._draining = True
        try:
            while self._task is not None and not self._task.done():
                assert self._wake is not None
                self._wake.set()
                await asyncio.shield(self._task)
        finally:
            self._draining = False

    def _kick(self) -> None:
        if self._wake is None:
            self._wake = asyncio.Event()
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._commit_all())

    async def _commit_all(self) -> None:
        assert self._wake is not None
        failures = 0
        while self._records or self._answers or self._entries or self._outcomes:
            if not self._records and not self._draining:  # wait a little for a record to ride along with
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), self.LATER_S)
                except asyncio.TimeoutError:
                    pass
            records, self._records = self._records, []
            answers, self._answers = self._answers, []
            entries, self._entries = self._entries, []
            outcomes, self._outcomes = self._outcomes, []
            tokens = {o[0]: self._tokens.pop(o[0], "") for o in outcomes}
            try:
                ids = await asyncio.to_thread(_write, [(m, c) for m, c, _ in records], answers, entries, outcomes,
                                              tokens)
            except Exception as exc:
                failures += 1
                logger.exception("notice records could not be committed (try %d of %d)", failures, JOURNAL_TRIES)
                for _message, _claim, future in records:
                    if not future.done():
                        future.set_exception(exc)
                if failures < JOURNAL_TRIES:
                    self._answers[:0], self._entries[:0], self._outcomes[:0] = answers, entries, outcomes
                    self._tokens.update(tokens)
                    await asyncio.sleep(0.5)
                continue
            failures = 0
            self.commits += 1
            for (_message, _claim, future), message_id in zip(records, ids, strict=True):
                if not future.done():
                    future.set_result(message_id)


def _write(records: Sequence[Tuple[Optional[outbox.Pending], Claim]], answers: Sequence[outbox.Answer],
           entries: Sequence[Entry], outcomes: Sequence[notices.Outcome], tokens: Dict[int, str]
           ) -> List[Optional[int]]:
    """One transaction of the journal: the after-the-fact rows, then the claims checked and the outbox rows
    of those still held (their ids; 0 for a claim only checked; None for a claim lost)."""
    now = utcnow()
    with session_scope() as s:
        outbox.answer_many(s, answers, now)
        transcript.append_many(s, entries, now)
        notices.finish_many(s, outcomes, now, tokens=tokens)
        held = notices.still_claimed(s, [claim for _m, claim in records])
        kept = [m for m, (notice_id, _t) in records if m is not None and notice_id in held]
        ids = iter(outbox.record_many(s, kept, now))
        return [None if notice_id not in held else (next(ids) if m is not None else 0)
                for m, (notice_id, _t) in records]


@dataclass(frozen=True)
class Outcome:
    status: str  # sent | failed | suppressed | retry
    channel: Optional[str] = None
    error: Optional[str] = None
    rate_limited: bool = False  # a retry asked for by the provider's frequency limit


class NoticeSender:
    """Sends claimed notices through the product's WeChat client and SMS sender."""

    def __init__(self, settings: Optional[Settings] = None, wechat: Optional[WeChatApiClient] = None) -> None:
        self.settings = settings or get_settings()
        self.wechat = wechat or get_wechat_client()
        self.sms = get_sms_sender(self.settings)
        self.templates: Dict[str, str] = dict(self.settings.wechat_template_ids)
        self.wechat_limit = RateLimiter(self.settings.notice_rate_wechat)
        self.sms_limit = RateLimiter(self.settings.notice_rate_sms)
        self.journal = Journal()

    async def close(self) -> None:
        """Commit what is left and close the WeChat client's connections (they belong to the event loop that
        is ending)."""
        await self.journal.drain()
        await self.wechat.close()

    async def send(self, job: notices.Job) -> Outcome:
        """One notice; never raises for a provider's refusal (the outcome says what happened).
        :class:`ClaimLost` when the notice's claim was settled as stale meanwhile (nothing sent)."""
        if job.channel == "wechat" and job.openid and job.contact_active:
            outcome = await self._wechat(job)
            if outcome is not None:
                return outcome
        return await self._sms(job)

    async def _post(self, job: notices.Job, message: Message) -> WeChatResult:
        """Send one WeChat message within the rate limit, recorded in the outbox before (committed) and after."""
        await self.wechat_limit.acquire()
        message_id = await self.journal.record(outbox.Pending("wechat", "notice", message.openid, message.summary,
                                                              contact_id=job.contact_id, notice_id=job.notice_id),
                                               (job.notice_id, job.claim_token))
        await self.wechat_limit.gate()
        result, attempts = await self.wechat.post(message)
        status, error, provider_id = recorded_outcome(message, result)
        self.journal.later(answers=[outbox.Answer(message_id, status, attempts, error, provider_id)])
        return result

    def _in_transcript(self, job: notices.Job) -> None:
        """Keep a WeChat notice in the customer's conversation, where agents (and the simulator) see it."""
        if job.sender_id:
            self.journal.later(entries=[(job.sender_id, "wechat", "out", notices.TRANSCRIPT_AUTHOR, job.text)])

    async def _wechat(self, job: notices.Job) -> Optional[Outcome]:
        """The WeChat outcome, or None when only SMS can reach the person now."""
        assert job.openid is not None
        if not self.wechat.configured:  # the embedded demo: the simulator shows the transcript
            # without WECHAT_APPID/SECRET a WeChat notice is delivered to the transcript only, as SMS without
            # Twilio go to the demo outbox; the outbox records it as ``demo``
            await self.journal.record(outbox.Pending("wechat", "notice", job.openid, job.text, status="demo",
                                                     contact_id=job.contact_id, notice_id=job.notice_id),
                                      (job.notice_id, job.claim_token))
            self._in_transcript(job)
            return Outcome("sent", "wechat")
        template_id = self.templates.get(job.topic)
        if not job.within_window and not template_id:
            return None
        template = job.template or {"content": job.text}
        if job.within_window:
            result = await self._post(job, text_message(job.openid, job.text))
            channel = "wechat"
        else:
            assert template_id is not None
            result = await self._post(job, template_message(job.openid, template_id, template))
            channel = "wechat_tpl"
        if result.ok:
            self._in_transcript(job)
            return Outcome("sent", channel)
        if result.errcode in WECHAT_TRANSIENT:
            return Outcome("retry", channel, f"wechat {result.errcode}", rate_limited=result.errcode == 45009)
        if result.errcode in WINDOW_CLOSED and job.within_window and template_id:
            again = await self._post(job, template_message(job.openid, template_id, template))
            if again.ok:
                self._in_transcript(job)
                return Outcome("sent", "wechat_tpl")
        logger.info("notice %d: WeChat refused (%d); trying SMS", job.notice_id, result.errcode)
        return None

    async def _sms(self, job: notices.Job) -> Outcome:
        if not job.phone:
            return Outcome("failed", None, "no WeChat delivery and no phone for SMS")
        await self.sms_limit.acquire()
        await self.journal.held((job.notice_id, job.claim_token))
        await self.sms_limit.gate()
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


def _retry_at(attempts: int, now: datetime, rate_limited: bool = False) -> datetime:
    if rate_limited:
        return now + timedelta(seconds=min(BACKOFF_S, RATE_LIMITED_RETRY_S * 2 ** max(0, attempts - 1)))
    return now + timedelta(seconds=BACKOFF_S * 4 ** max(0, attempts - 1))


def _settle(job: notices.Job, outcome: Outcome, now: datetime) -> notices.Outcome:
    if outcome.status == "retry" and job.attempts < MAX_ATTEMPTS:
        return (job.notice_id, "pending", outcome.channel, outcome.error,
                _retry_at(job.attempts, now, outcome.rate_limited))
    status = "failed" if outcome.status == "retry" else outcome.status
    return job.notice_id, status, outcome.channel, outcome.error, None


def _claim(limit: int) -> List[notices.Job]:
    with session_scope() as s:
        return notices.claim_due(s, limit=limit)


def _due_soon() -> Optional[float]:
    """Seconds until the next pending notice not yet due is, when that is within ``SOON_S``; else None."""
    now = utcnow()
    with session_scope() as s:
        at = notices.next_due(s, after=now)
    if at is None:
        return None
    wait = (at - now).total_seconds()
    return wait if wait <= SOON_S else None


async def send_due(sender: NoticeSender, batch: Optional[int] = None, deadline_s: Optional[float] = None) -> int:
    """Claim and send due notices until none are due (or ``deadline_s`` seconds passed); returns how many
    were handled.

    One task claims batches of ``batch`` (default: what the rate limits let go in about two seconds) into a
    queue holding one batch, so at most two batches are claimed ahead of the senders — a claim is never old
    while its worker lives, and a worker killed leaves them for :func:`bot.domain.notices.recover_stale`;
    ``NOTICE_CONCURRENCY`` sender tasks take from the queue. When nothing is due while notices are in
    flight (registered phones waiting for their account's WeChat users) the claimer looks again as each one
    finishes."""
    settings = sender.settings
    if settings.is_sqlite:
        # SQLite has one writer: database work from one thread never waits in SQLite's busy handler
        # (which sleeps in steps of up to 100 ms); PostgreSQL takes it from several
        asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(max_workers=1,
                                                                           thread_name_prefix="notices-db"))
    batch = batch or int(max(settings.notice_concurrency,
                             min(200, 2 * max(settings.notice_rate_wechat, settings.notice_rate_sms))))
    senders = settings.notice_concurrency
    queue: asyncio.Queue[Optional[notices.Job]] = asyncio.Queue(maxsize=batch)
    finished = asyncio.Event()
    started = time.monotonic()
    counts = {"in_flight": 0, "handled": 0}

    async def claim_into_queue() -> bool:
        jobs = await asyncio.to_thread(_claim, batch)
        for job in jobs:
            await queue.put(job)
        return bool(jobs)

    async def claimer() -> None:
        try:
            while deadline_s is None or time.monotonic() - started < deadline_s:
                if await claim_into_queue():
                    continue
                if queue.empty() and counts["in_flight"] == 0:
                    await sender.journal.drain()  # the last outcomes may settle waiting phones
                    if await claim_into_queue():
                        continue
                    soon = await asyncio.to_thread(_due_soon)  # a retry after the frequency limit
                    if soon is None:
                        break
                    await asyncio.sleep(soon + 0.05)
                    continue
                finished.clear()
                await finished.wait()
                await sender.journal.drain()
        finally:
            for _ in range(senders):
                await queue.put(None)

    async def send_from_queue() -> None:
        while True:
            job = await queue.get()
            if job is None:
                return
            counts["in_flight"] += 1
            try:
                outcome: Optional[Outcome] = await sender.send(job)
            except ClaimLost:
                logger.warning("notice %d: claim settled as stale meanwhile; left to the worker holding it",
                               job.notice_id)
                outcome = None
            except Exception as exc:  # a bug or an unexpected answer: back off rather than lose it
                logger.exception("notice %d: sending failed", job.notice_id)
                outcome = Outcome("retry", None, f"{type(exc).__name__}")
            if outcome is not None:
                sender.journal.later(outcomes=[_settle(job, outcome, utcnow())],
                                     claims=[(job.notice_id, job.claim_token)])
            counts["in_flight"] -= 1
            counts["handled"] += 1
            finished.set()  # the claimer may look again (its outcome is queued for the journal)

    try:
        await asyncio.gather(claimer(), *(send_from_queue() for _ in range(senders)))
    finally:
        await sender.close()
    return counts["handled"]


__all__ = ["NoticeSender", "RateLimiter", "Journal", "ClaimLost", "Outcome", "send_due", "MAX_ATTEMPTS"]
