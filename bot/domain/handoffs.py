"""Handing a conversation to a call-center agent: the queue, ownership, hand-back and close.

Ownership changes are single conditional UPDATEs, so two agents racing for one conversation cannot
both win, in SQLite or PostgreSQL, whichever process they are served by.

Who may read what of a conversation is :func:`read_scope`, the one rule every console view of a
conversation (and any search over conversations) goes through.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from typing import List, Sequence, Tuple

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.clock import to_local, utcnow
from bot.domain import audit
from bot.domain.models import ConsoleNote, Contact, Handoff, SatisfactionRating, StaffUser, TranscriptEntry
from bot.domain.staff import has_permission

REASONS = ("asked", "misunderstood", "complaint", "bot_failure")  # bot_failure: a turn the bot could not complete
OPEN = ("waiting", "active")


class HandoffError(Exception):
    """A console action refused; ``reason`` is stable (``not_found``, ``taken``, ``not_owner``, ``closed``)."""

    def __init__(self, reason: str, owner: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.owner = owner


def parse_hours(spec: str) -> Tuple[time, time]:
    """'08:00-20:00' → (08:00, 20:00)."""
    start, _, end = spec.partition("-")
    return time.fromisoformat(start.strip()), time.fromisoformat(end.strip())


def staffed(hours: str, now: datetime | None = None) -> bool:
    """Are agents on duty now (local time)? ``hours`` is CONSOLE_HOURS, e.g. '08:00-20:00'
    ('00:00-00:00' is round the clock; '22:00-06:00' spans midnight)."""
    start, end = parse_hours(hours)
    if start == end:
        return True
    t = to_local(now or utcnow()).time()
    return start <= t < end if start <= end else (t >= start or t < end)


#: intents that say nothing about what the customer came for (manners, yes/no, asking for a person,
#: what the bot did not understand): the console and routing look past them
NOT_A_PURPOSE = frozenset({
    "greet", "goodbye", "thank", "affirm", "deny", "inform", "out_of_scope", "request_human", "nlu_fallback",
    "rate", "subscribe", "share_location", "share_image", "voice_unrecognized", "unsupported_message",
})


def purpose_intent(intents: Sequence[str | None]) -> str | None:
    """What brought the customer: the newest intent of ``intents`` (oldest first, as the customer wrote
    them) that names a business matter — ``["query_bill", "deny", "request_human"]`` → ``query_bill``;
    ``["deny", "request_human"]`` (``算了`` then ``转人工``) → None, not ``deny``."""
    for name in reversed(list(intents)):
        if name and name not in NOT_A_PURPOSE:
            return name
    return None


def open_for(s: Session, sender_id: str) -> Handoff | None:
    return s.scalar(select(Handoff).where(Handoff.sender_id == sender_id, Handoff.status.in_(OPEN)))


def request(
    s: Session,
    sender_id: str,
    channel: str,
    reason: str,
    contact: Contact | None = None,
    last_intent: str | None = None,
    now: datetime | None = None,
    skill_group: str | None = None,
    key_customer: bool = False,
) -> Handoff:
    """Put the conversation in the queue (or return its open handoff); ``skill_group`` and
    ``key_customer`` as :mod:`bot.domain.routing` decided them."""
    if reason not in REASONS:
        raise ValueError(f"unknown handoff reason {reason!r}")
    existing = open_for(s, sender_id)
    if existing is not None:
        return existing
    handoff = Handoff(sender_id=sender_id, channel=channel, reason=reason, contact_id=contact.id if contact else None,
                      last_intent=last_intent, requested_at=now or utcnow(), status="waiting",
                      skill_group=skill_group, key_customer=key_customer)
    try:
        with s.begin_nested():
            s.add(handoff)
    except IntegrityError:
        found = open_for(s, sender_id)
        assert found is not None
        return found
    audit.record(s, f"customer:{sender_id}", "handoff.request", "conversation", sender_id, now=now, reason=reason)
    return handoff


def queue(s: Session) -> List[Handoff]:
    """Waiting conversations in the order they are served: key customers (重点关爱客户) first, then
    longest-waiting first."""
    return list(s.scalars(select(Handoff).where(Handoff.status == "waiting")
                          .order_by(Handoff.key_customer.desc(), Handoff.requested_at, Handoff.id)))


def active(s: Session, owner: StaffUser | None = None) -> List[Handoff]:
    q = select(Handoff).where(Handoff.status == "active")
    if owner is not None:
        q = q.where(Handoff.owner_id == owner.id)
    return list(s.scalars(q.order_by(Handoff.taken_at)))


def ended(s: Session, since: datetime, owner: StaffUser | None = None, limit: int = 50) -> List[Handoff]:
    """Conversations closed (handed back or ended) at or after ``since`` (UTC), newest first; only
    ``owner``'s when given."""
    q = select(Handoff).where(Handoff.status == "closed", Handoff.closed_at >= since)
    if owner is not None:
        q = q.where(Handoff.owner_id == owner.id)
    return list(s.scalars(q.order_by(Handoff.closed_at.desc(), Handoff.id.desc()).limit(limit)))


def position(s: Session, handoff: Handoff) -> int:
    """1-based place in the queue (key customers go first, see :func:`queue`)."""
    earlier = and_(Handoff.key_customer.is_(bool(handoff.key_customer)), Handoff.requested_at <= handoff.requested_at,
                   Handoff.id < handoff.id)
    if not handoff.key_customer:
        earlier = or_(Handoff.key_customer.is_(True), earlier)
    ahead = s.scalar(select(func.count()).select_from(Handoff).where(Handoff.status == "waiting", earlier))
    return int(ahead or 0) + 1


def take(s: Session, handoff_id: int, staff: StaffUser, force: bool = False, now: datetime | None = None) -> Handoff:
    """Make ``staff`` the owner. A waiting conversation goes to the first taker; ``force`` (supervisors)
    takes one another agent owns."""
    now = now or utcnow()
    cond = Handoff.status == "waiting"
    if force:
        cond = Handoff.status.in_(OPEN)
    result = s.execute(
        update(Handoff)
        .where(Handoff.id == handoff_id, cond)
        .values(status="active", owner_id=staff.id, taken_at=now, owner_seen_id=None)
        .execution_options(synchronize_session=False)
    )
    handoff = s.get(Handoff, handoff_id)
    if handoff is not None:
        s.refresh(handoff)
    if not result.rowcount:
        if handoff is None:
            raise HandoffError("not_found")
        if handoff.status == "closed":
            raise HandoffError("closed")
        raise HandoffError("taken", owner=handoff.owner.display_name if handoff.owner else None)
    assert handoff is not None
    audit.record(s, f"staff:{staff.username}", "conversation.take", "conversation", handoff.sender_id, now=now,
                 forced=force)
    return handoff


def owned(s: Session, handoff_id: int, staff: StaffUser) -> Handoff:
    """The handoff if ``staff`` owns it (and it is active)."""
    handoff = s.get(Handoff, handoff_id)
    if handoff is None:
        raise HandoffError("not_found")
    if handoff.status != "active":
        raise HandoffError("closed")
    if handoff.owner_id != staff.id:
        raise HandoffError("not_owner", owner=handoff.owner.display_name if handoff.owner else None)
    return handoff


def finish(s: Session, handoff_id: int, staff: StaffUser, kind: str, now: datetime | None = None) -> Handoff:
    """Hand back to the bot (``handback``) or end the conversation asking for a rating (``close``)."""
    if kind not in ("handback", "close"):
        raise ValueError(kind)
    now = now or utcnow()
    handoff = owned(s, handoff_id, staff)
    result = s.execute(
        update(Handoff)
        .where(Handoff.id == handoff.id, Handoff.status == "active", Handoff.owner_id == staff.id)
        .values(status="closed", closed_at=now, close_kind=kind, rating_requested=kind == "close")
        .execution_options(synchronize_session=False)
    )
    if not result.rowcount:
        raise HandoffError("not_owner")
    s.refresh(handoff)
    audit.record(s, f"staff:{staff.username}", f"conversation.{kind}", "conversation", handoff.sender_id, now=now)
    return handoff


@dataclass(frozen=True)
class ReadScope:
    """What one staff member may read of one hand-over: the transcript entries created after ``since``
    and up to ``until`` (naive UTC; None = no bound), and — only while the hand-over is open — the
    customer's current records (accounts, balances, tickets)."""

    handoff: Handoff
    since: datetime | None
    until: datetime | None
    current_records: bool


def _segment_start(s: Session, handoff: Handoff) -> datetime | None:
    """When the previous hand-over of this conversation ended: the hand-over's part of the transcript
    starts there (its bot conversation before the request included, earlier agents' chats not)."""
    return s.scalar(
        select(func.max(Handoff.closed_at)).where(
            Handoff.sender_id == handoff.sender_id, Handoff.id != handoff.id, Handoff.status == "closed",
            Handoff.closed_at <= handoff.requested_at)
    )


def may_read(handoff: Handoff, reader: StaffUser) -> bool:
    """Whether ``reader`` may open ``handoff`` at all (the first half of :func:`read_scope`): those
    with ``conversation.view_all`` every one, those who see the queue a waiting one, anyone else only
    the hand-overs they handled (own)."""
    sees_all = has_permission(reader, "conversation.view_all")
    queue_view = handoff.status == "waiting" and has_permission(reader, "queue.view")
    return sees_all or queue_view or handoff.owner_id == reader.id


def read_scope(s: Session, handoff_id: int, reader: StaffUser, now: datetime | None = None) -> ReadScope:
    """May ``reader`` read hand-over ``handoff_id``, and which part of it?

    Those who see all conversations (``conversation.view_all``: supervisors, administrators) read the
    whole transcript. Anyone who sees the queue reads a *waiting* hand-over (to decide whether to take
    it). Otherwise only the hand-over's owner reads it, and only its own time window: from the end of
    the conversation's previous hand-over to this one's end — not what the customer said later, to
    the bot or to another agent, through an old id. The customer's current accounts and tickets are
    shown only while the hand-over is open. Every read of an ended hand-over is audited
    (``conversation.read``), whoever reads it.

    Raises :class:`HandoffError` ``not_found`` or ``not_owner``.
    """
    handoff = s.get(Handoff, handoff_id)
    if handoff is None:
        raise HandoffError("not_found")
    if not may_read(handoff, reader):
        raise HandoffError("not_owner", owner=handoff.owner.display_name if handoff.owner else None)
    sees_all = has_permission(reader, "conversation.view_all")
    ended = handoff.status == "closed"
    if ended:
        audit.record(s, f"staff:{reader.username}", "conversation.read", "conversation", handoff.sender_id,
                     now=now, handoff=handoff.id)
    if sees_all:
        return ReadScope(handoff, None, None, not ended)
    return ReadScope(handoff, _segment_start(s, handoff), handoff.closed_at if ended else None, not ended)


def unread(s: Session, handoff: Handoff) -> int:
    """How many customer messages of an active hand-over its agent has not seen: those written since
    the agent took it (or it was transferred to them) after the last entry they looked at
    (:func:`mark_seen`). 0 for a hand-over nobody owns."""
    if handoff.status != "active" or handoff.taken_at is None:
        return 0
    count = s.scalar(select(func.count()).select_from(TranscriptEntry).where(
        TranscriptEntry.sender_id == handoff.sender_id, TranscriptEntry.direction == "in",
        TranscriptEntry.id > (handoff.owner_seen_id or 0), TranscriptEntry.created_at >= handoff.taken_at))
    return int(count or 0)


def mark_seen(s: Session, handoff: Handoff, reader: StaffUser, last_entry_id: int) -> None:
    """The owner has seen the conversation up to transcript entry ``last_entry_id`` (others' reads,
    a supervisor's included, change nothing). Never moves backwards."""
    if handoff.status != "active" or handoff.owner_id != reader.id or last_entry_id <= (handoff.owner_seen_id or 0):
        return
    s.execute(update(Handoff).where(Handoff.id == handoff.id, Handoff.owner_id == reader.id,
                                    or_(Handoff.owner_seen_id.is_(None), Handoff.owner_seen_id < last_entry_id))
              .values(owner_seen_id=last_entry_id).execution_options(synchronize_session=False))
    s.refresh(handoff)


NOTE_KINDS = ("note", "whisper", "transfer")


def add_note(s: Session, handoff: Handoff, staff: StaffUser, kind: str, text: str,
             now: datetime | None = None) -> ConsoleNote:
    """A note staff write for each other about a conversation (``note``: internal, ``whisper``: a
    supervisor to the agent, ``transfer``: why it was passed on). Never sent to the customer.
    ``ValueError`` on an unknown kind or an empty text."""
    text = str(text or "").strip()[:1000]
    if kind not in NOTE_KINDS or not text:
        raise ValueError("bad note")
    note = ConsoleNote(handoff_id=handoff.id, kind=kind, author=f"staff:{staff.username}", text=text,
                       created_at=now or utcnow())
    s.add(note)
    s.flush()
    audit.record(s, f"staff:{staff.username}", f"conversation.{kind}", "conversation", handoff.sender_id, now=now,
                 chars=len(text))
    return note


def notes(s: Session, handoff: Handoff) -> List[ConsoleNote]:
    """The conversation's staff notes, oldest first (every hand-over of the same customer)."""
    q = (select(ConsoleNote).join(Handoff, Handoff.id == ConsoleNote.handoff_id)
         .where(Handoff.sender_id == handoff.sender_id).order_by(ConsoleNote.id))
    return list(s.scalars(q))


def transfer(s: Session, handoff_id: int, staff: StaffUser, note: str, to_agent: StaffUser | None = None,
             to_group: str | None = None, now: datetime | None = None) -> Handoff:
    """Pass an active conversation on, with a note: to another agent (who owns it at once) or to a
    skill group (back in the queue, keeping its place; the bot stays paused). Only its owner may.
    Raises :class:`HandoffError` (``not_owner``, ``closed``) or ``ValueError`` (no target, no note)."""
    if (to_agent is None) == (to_group is None) or not str(note or "").strip():
        raise ValueError("a transfer needs one target and a note")
    handoff = owned(s, handoff_id, staff)
    values: dict = {"owner_id": to_agent.id, "taken_at": now or utcnow(), "owner_seen_id": None} if to_agent else {
        "status": "waiting", "owner_id": None, "taken_at": None, "skill_group": to_group, "owner_seen_id": None}
    result = s.execute(update(Handoff).where(Handoff.id == handoff.id, Handoff.status == "active",
                                             Handoff.owner_id == staff.id)
                       .values(**values).execution_options(synchronize_session=False))
    if not result.rowcount:
        raise HandoffError("not_owner")
    s.refresh(handoff)
    target = f"staff:{to_agent.username}" if to_agent is not None else f"group:{to_group}"
    add_note(s, handoff, staff, "transfer", note, now=now)
    audit.record(s, f"staff:{staff.username}", "conversation.transfer", "conversation", handoff.sender_id, now=now,
                 to=target)
    return handoff


def awaiting_rating(s: Session, sender_id: str) -> Handoff | None:
    """The latest closed handoff of this conversation that still waits for the customer's rating."""
    return s.scalar(
        select(Handoff)
        .where(Handoff.sender_id == sender_id, Handoff.status == "closed", Handoff.rating_requested.is_(True))
        .order_by(Handoff.closed_at.desc())
        .limit(1)
    )


def rate(s: Session, handoff: Handoff, score: int, now: datetime | None = None) -> SatisfactionRating:
    """Record the customer's 1–5 rating against the agent who owned the conversation."""
    if not 1 <= score <= 5:
        raise ValueError("score must be 1..5")
    handoff.rating_requested = False
    rating = SatisfactionRating(contact_id=handoff.contact_id, sender_id=handoff.sender_id, score=score,
                                handoff_id=handoff.id, staff_id=handoff.owner_id, created_at=now or utcnow())
    s.add(rating)
    s.flush()
    return rating


def counts(s: Session) -> List[Tuple[str, str, int]]:
    """Hand-overs in the database as (reason, status, number) — for the operators' metrics."""
    rows = s.execute(select(Handoff.reason, Handoff.status, func.count()).group_by(Handoff.reason, Handoff.status))
    return [(reason, status, int(n)) for reason, status, n in rows]
