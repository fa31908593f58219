"""Background work on Huey: sending notices, and the periodic scans nobody has to remember.

The queue is ``SqliteHuey`` in ``POWERBOT_VAR_DIR/jobs.db`` for the embedded default, ``RedisHuey`` when
``REDIS_URL`` is set (production). ``bot worker`` runs the consumer (``bot run`` starts one too).

Huey does not acknowledge tasks: a worker killed mid-task loses it. Nothing depends on a task surviving —
the database is the truth. Notices are rows planned in the same transaction as what caused them
(bot.domain.notices); :func:`send_notices` claims and sends what is due, and the every-minute sweep settles
notices a dead worker left claimed, plans notices for ticket status changes, releases what the quiet hours
held back and sends it. Enqueue :func:`send_notices` (``kick()``) after committing something that planned
notices, to send them at once instead of at the next sweep.

Periodic tasks (crontab, local time of the process — run it with ``TZ`` as you like, the tasks use UTC):
every minute the sweep and the escalation scan (bot.domain.escalation); every hour the day-before reminders
of planned outages and the bill notices (both idempotent: planned once per event and person).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from datetime import timedelta

from huey import Huey, RedisHuey, SqliteHuey, crontab

from bot.clock import utcnow
from bot.config import Settings, get_settings
from bot.db import create_private_file, session_scope
from bot.domain import escalation, notices
from bot.messaging.notify import NoticeSender, send_due

logger = logging.getLogger(__name__)


def make_huey(settings: Settings) -> Huey:
    """The queue for the configuration: Redis when ``REDIS_URL`` is set, else a SQLite file under var/."""
    if settings.redis_url:
        return RedisHuey("powerbot", url=settings.redis_url)
    path = settings.var_dir / "jobs.db"
    create_private_file(path)  # queued jobs name customers' tickets: owner-only, like the records
    return SqliteHuey("powerbot", filename=str(path))


huey = make_huey(get_settings())

# One sending run per process at a time (claims in the database keep runs of several processes apart);
# a run asked for while one is going makes that one look again before it stops.
_sending = threading.Lock()
_again = threading.Event()


def run_sender() -> int:
    """Send every due notice now (blocking); returns how many were handled."""
    _again.set()
    if not _sending.acquire(blocking=False):
        return 0
    handled = 0
    try:
        while _again.is_set():
            _again.clear()
            handled += asyncio.run(send_due(NoticeSender()))
    finally:
        _sending.release()
    return handled


def recover() -> None:
    """Settle notices left claimed by a worker that is gone (see notices.recover_stale); not while this
    process is sending (its own claims are not stale, however slowly the rate limit lets them go)."""
    if _sending.locked():
        return
    timeout = timedelta(seconds=get_settings().notice_claim_timeout_s)
    with session_scope() as s:
        counts = notices.recover_stale(s, timeout)
    if any(counts.values()):
        logger.warning("notices left by a stopped worker: %s", counts)


@huey.task(retries=3, retry_delay=10, retry_backoff=2)
def send_notices() -> int:
    """Send the notices that are due (enqueued after planning some, and by the sweep)."""
    return run_sender()


def kick() -> None:
    """Ask the worker to send due notices now (call after committing something that planned notices).
    Never fails its caller: if the queue cannot be reached, the every-minute sweep sends them."""
    try:
        send_notices()
    except Exception:
        logger.exception("could not enqueue sending notices; the next sweep will")


def ticket_changed_soon() -> None:
    """Ask the worker to notify about a ticket status change now (call after committing it). Never fails
    its caller: if the queue cannot be reached, the every-minute sweep finds the change."""
    try:
        ticket_changed()
    except Exception:
        logger.exception("could not enqueue the ticket notices; the next sweep will")


def scan_escalations() -> int:
    """The back office's escalation scan; an SMS to ``ESCALATION_SMS_TO`` for each new escalation.
    Returns the marks set."""
    settings = get_settings()
    now = utcnow()
    with session_scope() as s:
        changes = escalation.scan(s, now)
        if settings.escalation_sms_to:
            notices.plan_escalations(s, [c for c in changes if c.kind == "escalated"], settings.escalation_sms_to,
                                     now=now)
    return len(changes)


@huey.periodic_task(crontab(minute="*"), retries=2, retry_delay=5)
def every_minute() -> None:
    """The sweep: settle dead workers' claims, notices for ticket changes, the escalation scan, then send
    what is due (including what the quiet hours held back)."""
    recover()
    with session_scope() as s:
        notices.plan_recent_ticket_events(s)
    scan_escalations()
    run_sender()


@huey.periodic_task(crontab(minute="7"), retries=2, retry_delay=60)
def every_hour() -> None:
    """Day-before reminders of planned outages, bill reminders, late-fee and prepaid low-balance notices."""
    with session_scope() as s:
        notices.plan_reminders(s)
        notices.plan_bill_notices(s)
    run_sender()


@huey.task()
def ticket_changed() -> None:
    """Plan and send the notices of recent ticket status changes now (call after committing one)."""
    with session_scope() as s:
        notices.plan_recent_ticket_events(s)
    run_sender()


def run_worker(workers: int = 2) -> None:
    """Run the Huey consumer in this process until SIGINT/SIGTERM: first settle what a previous worker
    left, then send what is due, then the periodic tasks and whatever is enqueued."""
    # an idle consumer looks for tasks at least every second (Huey backs off to 10 s by default), so a
    # notice asked for by the API goes within a second or two
    consumer = huey.create_consumer(workers=workers, worker_type="thread", periodic=True, max_delay=1.0,
                                    flush_locks=not get_settings().redis_url, check_worker_health=True)
    recover()
    send_notices()
    consumer.run()


__all__ = ["huey", "make_huey", "send_notices", "kick", "ticket_changed", "ticket_changed_soon", "every_minute", "every_hour",
           "run_worker", "run_sender", "recover", "scan_escalations"]
