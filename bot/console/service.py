"""What the console does with the records: one function per console operation, each a unit of work
on a session the caller opens (blocking code; the HTTP layer runs it in a thread).

Every function receives the signed-in :class:`Principal` and checks what it needs itself (permission,
ownership, visibility), so no endpoint can forget a check. The business rules stay in
:mod:`bot.domain`; personal data leaves here masked, except through :func:`reveal`, which is audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Dict, List

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import messages
from bot.clock import local_today, to_local, utcnow
from bot.console import labels, sessions
from bot.console.permissions import ConsoleError, Principal
from bot.console.throttle import Throttle
from bot.domain import (
    accounts,
    audit,
    bindings,
    canned_replies,
    contacts,
    conversation_search,
    dispatch,
    handoffs,
    metrics,
    routing,
    staff,
    supervision,
    tickets,
    transcript,
)
from bot.domain.handoffs import HandoffError, ReadScope
from bot.domain.models import (
    TICKET_STATUSES,
    TICKET_TYPES,
    Account,
    Bill,
    CannedReply,
    ConsoleNote,
    Contact,
    Handoff,
    QualityChecklistItem,
    QualityScore,
    StaffUser,
    Ticket,
    TicketAttachment,
    TranscriptEntry,
)
from bot.domain.pii import mask_name, mask_phone, redact_text
from bot.domain.rules import get_rules
from bot.messaging.deliver import Delivery

#: Record ids are INTEGER columns (32-bit in PostgreSQL): a larger number in a URL names no record.
MAX_RECORD_ID = 2**31 - 1
MAX_REPLY = 500
PREVIEW_CHARS = 40
ENDED_WITHIN = timedelta(hours=24)  # how far back the queue lists ended conversations
TICKETS_SHOWN = 200  # every ticket of a customer, in practice
BILLS_SHOWN = 6  # the recent bills of each bound account in the side panel
PAST_SHOWN = 20  # the customer's other hand-overs in the side panel
TRANSCRIPT_PAGE = 300
REVEAL_FIELDS = ("name", "phone")


def record_id(value: Any) -> int | None:
    """``value`` as a record id (1..MAX_RECORD_ID), or None when it cannot name a record."""
    try:
        number = int(str(value)) if str(value).isascii() else 0
    except ValueError:
        return None
    return number if 1 <= number <= MAX_RECORD_ID else None


def query_int(value: Any, default: int, low: int = 0, high: int = MAX_RECORD_ID) -> int:
    """A number from a query string within ``low``..``high`` (``default`` when absent); 400 otherwise."""
    if value in (None, ""):
        return default
    text = str(value)
    if not (text.isascii() and text.lstrip("-").isdigit() and len(text) <= 12) or not low <= int(text) <= high:
        raise ConsoleError(400, "bad_query")
    return int(text)


def _iso(dt: datetime | None) -> str | None:
    return to_local(dt).isoformat(timespec="seconds") if dt else None


def _money(value: Any) -> str:
    return f"{value:.2f}"


def handoff_error(exc: HandoffError) -> ConsoleError:
    """The HTTP answer to a refused handoff operation."""
    if exc.reason == "not_found":
        return ConsoleError(404, "not_found")
    if exc.reason == "taken":
        return ConsoleError(409, "taken", owner=exc.owner)
    if exc.reason == "not_owner":
        return ConsoleError(403, "not_owner", owner=exc.owner)
    return ConsoleError(409, "closed")


# ------------------------------------------------------------------------------------------ sign-in


@dataclass(frozen=True)
class SignIn:
    """The outcome of a sign-in: a session ``token`` for the cookie, or ``problem`` (the message for the
    sign-in page) and ``retry_after`` seconds when the address is throttled."""

    token: str | None
    problem: str = ""
    retry_after: int = 0


def sign_in(s: Session, throttle: Throttle, username: str, password: str, ip: str,
            lifetimes: sessions.Lifetimes, now: datetime | None = None) -> SignIn:
    """Check a sign-in against the address's throttle and the username's lockout, then open a session.

    The address's slot is taken before anything else (at most ``CONSOLE_LOGIN_IP_LIMIT`` failures per
    window, also when the attempts run in parallel) and given back when the sign-in succeeds; the
    username's lockout is :func:`bot.domain.staff.authenticate`'s. A refusal returns (it does not raise)
    so that its counts and audit entries commit with the caller's unit of work.
    """
    wait = throttle.acquire(ip)
    if wait:
        return SignIn(None, messages.CONSOLE_ERRORS["login_throttled"], wait)
    try:
        user = staff.authenticate(s, username, password, now)
    except staff.StaffError as exc:
        return SignIn(None, str(exc) or messages.CONSOLE_ERRORS["login_failed"])
    throttle.release(ip)
    sessions.purge_expired(s, lifetimes, now)
    token, _row = sessions.create(s, user, lifetimes, ip, now)
    return SignIn(token)


# ------------------------------------------------------------------------------------------ reading


def _contact(s: Session, handoff: Handoff) -> Contact | None:
    return handoff.contact or contacts.by_sender(s, handoff.sender_id)


def _customer(s: Session, handoff: Handoff, now: datetime) -> Dict[str, Any]:
    """How the console names a customer, most useful first: the masked name and account tail of a
    bound account; an SMS customer's masked phone; else the channel and since when they write to us."""
    contact = _contact(s, handoff)
    bound = bindings.bound_accounts(s, contact) if contact else []
    ref = handoff.sender_id.partition(":")[2][-4:]
    channel = messages.CONSOLE_CHANNEL_LABELS.get(handoff.channel, handoff.channel)
    if bound:
        display = messages.CONSOLE_CUSTOMER_BOUND.format(name=mask_name(bound[0].name),
                                                         tail=bound[0].account_no[-4:])
    elif contact is not None and contact.channel == "sms":
        display = messages.CONSOLE_CUSTOMER_SMS.format(phone=mask_phone(contact.external_id))
    else:
        since = contact.created_at if contact is not None else handoff.requested_at
        display = messages.CONSOLE_CUSTOMER_UNBOUND.format(channel=channel, since=to_local(since).strftime("%m-%d"))
    return {"name": mask_name(bound[0].name) if bound else None, "ref": ref, "accounts": len(bound),
            "display": display}


def _preview(s: Session, sender_id: str) -> Dict[str, Any] | None:
    """The customer's newest message, masked and cut to a line, for the queue."""
    entry = transcript.last(s, sender_id, "in")
    if entry is None:
        return None
    text = redact_text(entry.text)
    return {"text": text if len(text) <= PREVIEW_CHARS else text[:PREVIEW_CHARS] + "…", "at": _iso(entry.created_at)}


def _handoff(s: Session, handoff: Handoff, now: datetime) -> Dict[str, Any]:
    data = {
        "id": handoff.id,
        "sender_id": handoff.sender_id,
        "channel": handoff.channel,
        "status": handoff.status,
        "reason": handoff.reason,
        "last_intent": handoff.last_intent,
        "requested_at": _iso(handoff.requested_at),
        "waited_s": int(((handoff.taken_at or now) - handoff.requested_at).total_seconds()),
        "taken_at": _iso(handoff.taken_at),
        "closed_at": _iso(handoff.closed_at),
        "owner": handoff.owner.display_name if handoff.owner else None,
        "owner_username": handoff.owner.username if handoff.owner else None,
        "customer": _customer(s, handoff, now),
        "last_message": _preview(s, handoff.sender_id),
        "skill_group": handoff.skill_group,
        "key_customer": bool(handoff.key_customer),
        "key_customer_reason": routing.key_customer_reason(s, _contact(s, handoff)) if handoff.key_customer else None,
    }
    if handoff.status == "waiting":
        data["position"] = handoffs.position(s, handoff)
    if handoff.status == "active":
        data["unread"] = handoffs.unread(s, handoff)  # for its agent: customer messages not yet seen
    return data


def queue_view(s: Session, p: Principal, now: datetime | None = None) -> Dict[str, Any]:
    """Waiting conversations (longest first), the live ones this user may see, and those that ended in
    the last 24 hours (an agent's own; all for those who see all conversations), newest first."""
    p.require("queue.view")
    now = now or utcnow()
    view_all = p.can("conversation.view_all")
    owner = None if view_all else _user(s, p)
    live = handoffs.active(s, owner=owner)
    ended = handoffs.ended(s, since=now - ENDED_WITHIN, owner=owner)
    return {
        "waiting": [_handoff(s, h, now) for h in handoffs.queue(s)],
        "live": [_handoff(s, h, now) for h in live],
        "ended": [_handoff(s, h, now) for h in ended],
        "now": _iso(now),
    }


def my_routing(s: Session, p: Principal) -> Dict[str, Any]:
    """The signed-in user's routing settings: presence, auto-assignment, groups, capacity."""
    user = _user(s, p)
    return {"presence": user.presence, "auto_assign": bool(user.auto_assign), "max_chats": user.max_chats,
            "skill_groups": [g for g in (user.skill_groups or "").split(",") if g]}


def set_my_routing(s: Session, p: Principal, body: Dict[str, Any]) -> Dict[str, Any]:
    """Set one's presence (online | busy | away) and whether to be given conversations automatically
    (``{"presence": str, "auto_assign": bool}``, either or both). ``ConsoleError`` 400
    ``nothing_to_change`` without either, ``bad_presence`` / ``bad_auto_assign`` for a wrong value."""
    p.require("conversation.take")
    if not {"presence", "auto_assign"} & set(body):
        raise ConsoleError(400, "nothing_to_change")
    if "auto_assign" in body and not isinstance(body["auto_assign"], bool):
        raise ConsoleError(400, "bad_auto_assign")
    user = _user(s, p)
    if "presence" in body:
        presence = str(body.get("presence") or "")
        if presence not in routing.PRESENCES:
            raise ConsoleError(400, "bad_presence")
        user.presence = presence
    if "auto_assign" in body:
        user.auto_assign = body["auto_assign"]
    audit.record(s, p.actor, "staff.presence", "staff", user.username, presence=user.presence,
                 auto_assign=bool(user.auto_assign))
    return my_routing(s, p)


def auto_assign(s: Session, p: Principal) -> Conversation | None:
    """Give the signed-in agent their next conversation when they take conversations automatically
    (online, with room): routing decides (key customers first, returning customer's agent, least loaded)."""
    if not p.can("conversation.take"):
        return None
    user = _user(s, p)
    if not user.auto_assign or user.presence != "online":
        return None
    candidates = list(s.scalars(select(StaffUser).where(StaffUser.active.is_(True), StaffUser.auto_assign.is_(True))))
    handoff = routing.assign_next(s, user, candidates)
    if handoff is None:
        return None
    return Conversation(handoff.id, handoff.sender_id, handoff.channel, notify=True)


def _user(s: Session, p: Principal) -> StaffUser:
    user = staff.get(s, p.username)
    if user is None or not user.active:
        raise ConsoleError(401, "signed_out")
    return user


def _readable(s: Session, p: Principal, handoff_id: int) -> ReadScope:
    """What ``p`` may read of the hand-over: :func:`bot.domain.handoffs.read_scope` (the one rule)."""
    try:
        return handoffs.read_scope(s, handoff_id, _user(s, p))
    except HandoffError as exc:
        raise handoff_error(exc) from None


def _within(at: datetime, scope: ReadScope) -> bool:
    """Is a record made at ``at`` inside what the reader may see of the hand-over?"""
    return (scope.since is None or at > scope.since) and (scope.until is None or at <= scope.until)


def _note(n: ConsoleNote) -> Dict[str, Any]:
    return {"id": n.id, "kind": n.kind, "author": n.author, "at": _iso(n.created_at), "text": redact_text(n.text)}


def _entry(e: TranscriptEntry) -> Dict[str, Any]:
    # customers sometimes type phone or ID numbers: the console shows them masked like everything else
    return {"id": e.id, "at": _iso(e.created_at), "direction": e.direction, "author": e.author,
            "text": redact_text(e.text), "intent": e.intent}


def _attachment(a: TicketAttachment) -> Dict[str, Any]:
    """A photo (``url`` when it is a web address) or a location (``lat``, ``lng``, ``label``)."""
    data: Dict[str, Any] = {"kind": a.kind, "at": _iso(a.created_at)}
    if a.kind == "location":
        coords, _, label = a.ref.partition(" ")
        lat, _, lng = coords.partition(",")
        data.update(lat=lat, lng=lng, label=label)
    else:
        data["url"] = a.ref if a.ref.startswith(("https://", "http://", "/")) else None
        data["ref"] = a.ref
    return data


def _ticket(t: Ticket) -> Dict[str, Any]:
    return {"ticket_no": t.ticket_no, "type": t.type, "status": t.status, "created_at": _iso(t.created_at),
            "sla_deadline": _iso(t.sla_deadline), "account_no": t.account.account_no if t.account else None,
            "address": t.address, "description": redact_text(t.description or ""),
            "attachments": [_attachment(a) for a in t.attachments],
            "corrections": [{"at": _iso(at), "actor": actor, "before": redact_text(before)}
                            for at, actor, before in tickets.description_history(t)]}


def _bill(b: Bill, today: date) -> Dict[str, Any]:
    """One bill as the side panel lists it: ``amount`` in 元 and ``kwh`` as decimal strings, ``due_date``
    a local date, ``overdue`` when unpaid after it."""
    return {"period": b.period, "kwh": str(b.kwh), "amount": _money(b.amount), "due_date": b.due_date.isoformat(),
            "paid": b.paid_at is not None, "paid_at": _iso(b.paid_at),
            "overdue": b.paid_at is None and b.due_date < today}


def _account_summary(s: Session, account: Account, now: datetime) -> Dict[str, Any]:
    summary = accounts.summary(s, account, now)
    today = local_today(now)
    latest = summary.latest
    return {
        "account_no": account.account_no,
        "name": mask_name(account.name),
        "phone": mask_phone(account.phone),
        "address": account.address,
        "township": account.township,
        "category": account.category,
        "tariff": account.tariff,
        "prepaid": account.prepaid,
        "balance": _money(account.balance),
        "days_left": summary.days_left,
        "arrears": {
            "amount": _money(summary.arrears.amount),
            "late_fee": _money(summary.arrears.late_fee),
            "total": _money(summary.arrears.total),
            "overdue": summary.arrears.overdue,
            "periods": [b.period for b in summary.arrears.unpaid],
        },
        "latest_bill": {
            "period": latest.period,
            "kwh": str(latest.kwh),
            "amount": _money(latest.amount),
            "due_date": latest.due_date.isoformat(),
            "paid": latest.paid_at is not None,
        } if latest else None,
        "bills": [_bill(b, today) for b in accounts.recent_bills(s, account, BILLS_SHOWN)],
        "open_tickets": [_ticket(t) for t in summary.open_tickets],
    }


def _past(h: Handoff) -> Dict[str, Any]:
    """One of the customer's other hand-overs, as the side panel lists it (no words of the conversation:
    opening it is a read, audited by :func:`bot.domain.handoffs.read_scope`)."""
    return {"id": h.id, "status": h.status, "channel": h.channel, "reason": h.reason, "last_intent": h.last_intent,
            "skill_group": h.skill_group, "requested_at": _iso(h.requested_at), "closed_at": _iso(h.closed_at),
            "owner": h.owner.display_name if h.owner else None}


def conversation_view(s: Session, p: Principal, handoff_id: int, now: datetime | None = None) -> Dict[str, Any]:
    """Everything the agent may see about one conversation: the handoff, the latest part of the
    transcript in the reader's window, and — while the hand-over is open — the customer's bound
    accounts (masked, each with its recent bills), every ticket (all types, with photos and location),
    and their other hand-overs this reader may read (``past_conversations``,
    :func:`bot.domain.conversation_search.past_of`; of an ended hand-over only those of the same
    conversation id). Reading an ended hand-over is audited (``read_scope``)."""
    now = now or utcnow()
    scope = _readable(s, p, handoff_id)
    handoff = scope.handoff
    contact = _contact(s, handoff) if scope.current_records else None
    bound = bindings.bound_accounts(s, contact) if contact else []
    entries = transcript.tail(s, handoff.sender_id, TRANSCRIPT_PAGE, scope.since, scope.until)
    if entries:
        handoffs.mark_seen(s, handoff, _user(s, p), entries[-1].id)
    return {
        "handoff": _handoff(s, handoff, now),
        "mine": handoff.status == "active" and handoff.owner_id == p.id,
        "accounts": [_account_summary(s, a, now) for a in bound],
        "tickets": [_ticket(t) for t in tickets.for_contact(s, contact, limit=TICKETS_SHOWN)] if contact else [],
        "transcript": [_entry(e) for e in entries],
        "notes": [_note(n) for n in handoffs.notes(s, handoff)],
        "past_conversations": [_past(h) for h in conversation_search.past_of(s, handoff, contact, _user(s, p),
                                                                             PAST_SHOWN)],
    }


def search_view(s: Session, p: Principal, query: Any, now: datetime | None = None) -> Dict[str, Any]:
    """Past (and open) conversations found by ticket number, 户号 or masked phone, only those ``p``
    may read (:func:`bot.domain.handoffs.may_read`); audited. ``ConsoleError`` 400 ``bad_search`` for
    a key of no accepted form."""
    p.require("queue.view")
    now = now or utcnow()
    try:
        found = conversation_search.search(s, str(query or "")[:40], _user(s, p), now=now)
    except conversation_search.SearchError:
        raise ConsoleError(400, "bad_search") from None
    return {"results": [_handoff(s, h, now) for h in found]}


# ------------------------------------------------------------------------------------ canned replies


def _canned(r: CannedReply) -> Dict[str, Any]:
    return {"id": r.id, "title": r.title, "text": r.text, "updated_by": r.updated_by, "updated_at": _iso(r.updated_at)}


def canned_list(s: Session, p: Principal, seed_from: List[Dict[str, str]]) -> Dict[str, Any]:
    """The canned replies (as written, variables unfilled); the file's entries ``seed_from`` are added
    first if nobody ever managed the replies (:func:`bot.domain.canned_replies.seed`)."""
    if not (p.can("conversation.reply") or p.can("canned.manage")):
        raise ConsoleError(403, "forbidden", permission="conversation.reply")
    if not s.scalar(select(CannedReply.id).limit(1)):
        canned_replies.seed(s, seed_from)
    return {"replies": [_canned(r) for r in canned_replies.all_replies(s)]}


def _canned_error(exc: canned_replies.CannedReplyError) -> ConsoleError:
    return ConsoleError(404 if exc.reason == "not_found" else 400, "canned_" + exc.reason)


def canned_save(s: Session, p: Principal, reply_id: int | None, body: Dict[str, Any]) -> Dict[str, Any]:
    """Add (``reply_id`` None) or change a canned reply: ``{"title", "text"}``; supervisors only."""
    p.require("canned.manage")
    try:
        if reply_id is None:
            reply = canned_replies.add(s, p.actor, body.get("title"), body.get("text"))
        else:
            reply = canned_replies.edit(s, p.actor, reply_id, body.get("title"), body.get("text"))
    except canned_replies.CannedReplyError as exc:
        raise _canned_error(exc) from None
    return _canned(reply)


def canned_delete(s: Session, p: Principal, reply_id: int) -> Dict[str, Any]:
    p.require("canned.manage")
    try:
        canned_replies.delete(s, p.actor, reply_id)
    except canned_replies.CannedReplyError as exc:
        raise _canned_error(exc) from None
    return {"deleted": reply_id}


def canned_fill(s: Session, p: Principal, handoff_id: int, reply_id: int) -> Dict[str, Any]:
    """A canned reply's text filled in for the agent's own conversation (``{"text", "missing"}``;
    ``missing``: the variables left as written)."""
    conv = owned(s, p, handoff_id, "conversation.reply")
    reply = s.get(CannedReply, reply_id)
    if reply is None:
        raise ConsoleError(404, "canned_not_found")
    handoff = s.get(Handoff, conv.handoff_id)
    filled = canned_replies.fill(s, reply.text, _contact(s, handoff) if handoff else None)
    return {"text": filled.text, "missing": filled.missing}


def transcript_since(s: Session, p: Principal, handoff_id: int, after_id: int) -> Dict[str, Any]:
    """New transcript entries in the reader's window (for live polling) and the conversation's state."""
    scope = _readable(s, p, handoff_id)
    handoff = scope.handoff
    entries = transcript.since(s, handoff.sender_id, after_id, start=scope.since, end=scope.until)
    if entries:
        handoffs.mark_seen(s, handoff, _user(s, p), entries[-1].id)
    return {
        "status": handoff.status,
        "owner": handoff.owner.display_name if handoff.owner else None,
        "mine": handoff.status == "active" and handoff.owner_id == p.id,
        "entries": [_entry(e) for e in entries],
        "notes": [_note(n) for n in handoffs.notes(s, handoff) if _within(n.created_at, scope)],
    }


# ------------------------------------------------------------------------------------- conversation


@dataclass(frozen=True)
class Conversation:
    """What the HTTP layer needs to talk to the customer and to Rasa after a database step."""

    handoff_id: int
    sender_id: str
    channel: str
    notify: bool = False  # the customer is to be told an agent joined (not on a retry or a takeover)


def take(s: Session, p: Principal, handoff_id: int, force: bool = False) -> Conversation:
    """Become the owner. Without ``force`` only a waiting conversation can be taken (first wins);
    with it (supervisors) also one another agent owns. Taking one you own already changes nothing, so
    a retried request (after a lost answer, or to pause the bot again) does not fail."""
    p.require("conversation.take")
    if force:
        p.require("conversation.takeover_any")
    user = _user(s, p)
    before = s.get(Handoff, handoff_id)
    if before is not None and before.status == "active" and before.owner_id == user.id:
        return Conversation(before.id, before.sender_id, before.channel)
    was_waiting = before is not None and before.status == "waiting"
    try:
        handoff = handoffs.take(s, handoff_id, user, force=force)
    except HandoffError as exc:
        raise handoff_error(exc) from None
    return Conversation(handoff.id, handoff.sender_id, handoff.channel, notify=was_waiting)


def owned(s: Session, p: Principal, handoff_id: int, permission: str) -> Conversation:
    """The conversation if ``p`` may do ``permission`` and owns it now."""
    p.require(permission)
    try:
        handoff = handoffs.owned(s, handoff_id, _user(s, p))
    except HandoffError as exc:
        current = s.get(Handoff, handoff_id)
        if current is not None and current.status == "waiting":
            raise ConsoleError(409, "not_taken") from None
        raise handoff_error(exc) from None
    return Conversation(handoff.id, handoff.sender_id, handoff.channel)


def clean_reply(text: Any) -> str:
    text = str(text or "").strip()
    if not text:
        raise ConsoleError(400, "empty")
    if len(text) > MAX_REPLY:
        raise ConsoleError(400, "too_long", limit=MAX_REPLY)
    return text


def author(p: Principal) -> str:
    """The transcript author of an agent's messages."""
    return f"agent:{p.username}"


def record_reply(s: Session, p: Principal, conv: Conversation, text: str, delivery: Delivery) -> Dict[str, Any]:
    """The agent's reply went out: keep it in the transcript and the audit log (not its text — the
    transcript, encrypted, holds that)."""
    entry = transcript.append(s, conv.sender_id, conv.channel, "out", author(p), text)
    audit.record(s, p.actor, "conversation.reply", "conversation", conv.sender_id, transcript_id=entry.id,
                 chars=len(text), delivery=f"{delivery.channel}/{delivery.status}")
    return _entry(entry)


def record_notice(s: Session, conv: Conversation, text: str) -> None:
    """A notice the console sent on its own (takeover, hand-back, rating prompt)."""
    transcript.append(s, conv.sender_id, conv.channel, "out", "system", text)


def is_active(s: Session, handoff_id: int) -> bool:
    handoff = s.get(Handoff, handoff_id)
    return handoff is not None and handoff.status == "active"


def finish(s: Session, p: Principal, handoff_id: int, kind: str) -> Conversation:
    """Hand the conversation back to the bot, or close it asking the customer for a rating."""
    conv = owned(s, p, handoff_id, f"conversation.{kind}")
    try:
        handoffs.finish(s, handoff_id, _user(s, p), kind)
    except HandoffError as exc:
        raise handoff_error(exc) from None
    return conv


def add_note(s: Session, p: Principal, handoff_id: int, body: Dict[str, Any]) -> Dict[str, Any]:
    """An internal note (``kind`` ``note``: by the owner or a supervisor) or a whisper to the agent
    (``whisper``: supervisors, on a live conversation). Never sent to the customer."""
    kind = str(body.get("kind") or "note")
    text = str(body.get("text") or "").strip()
    if not text:
        raise ConsoleError(400, "empty")
    handoff = _readable(s, p, handoff_id).handoff
    if kind == "whisper":
        p.require("conversation.takeover_any")
        if handoff.status != "active":
            raise ConsoleError(409, "not_taken")
    elif kind == "note":
        if not (p.can("conversation.view_all") or (handoff.status == "active" and handoff.owner_id == p.id)):
            raise ConsoleError(403, "not_owner", owner=handoff.owner.display_name if handoff.owner else None)
    else:
        raise ConsoleError(400, "bad_note")
    return _note(handoffs.add_note(s, handoff, _user(s, p), kind, text))


def agents_view(s: Session, p: Principal) -> Dict[str, Any]:
    """Colleagues one can transfer to: active agents and supervisors with presence, groups and load."""
    p.require("conversation.reply")
    load = routing.loads(s)
    people = s.scalars(select(StaffUser).where(StaffUser.active.is_(True), StaffUser.role.in_(("agent", "supervisor")))
                       .order_by(StaffUser.username))
    return {"agents": [{"username": u.username, "display_name": u.display_name, "presence": u.presence,
                        "load": load.get(u.id, 0), "max_chats": u.max_chats,
                        "skill_groups": [g for g in (u.skill_groups or "").split(",") if g]} for u in people]}


def transfer(s: Session, p: Principal, handoff_id: int, body: Dict[str, Any]) -> Conversation:
    """Pass the conversation one owns to a colleague (``to_agent``: username) or a skill group
    (``to_group``), with a ``note`` the next agent reads."""
    conv = owned(s, p, handoff_id, "conversation.reply")
    note = str(body.get("note") or "").strip()
    if not note:
        raise ConsoleError(400, "note_required")
    to_agent = to_group = None
    if body.get("to_agent"):
        to_agent = staff.get(s, str(body["to_agent"]))
        if (to_agent is None or to_agent.id == p.id
                or not staff.has_permission(to_agent, "conversation.reply")):  # who can answer the customer
            raise ConsoleError(400, "bad_target")
    elif str(body.get("to_group") or "") in routing.GROUPS:
        to_group = str(body["to_group"])
    else:
        raise ConsoleError(400, "bad_target")
    try:
        handoffs.transfer(s, handoff_id, _user(s, p), note, to_agent=to_agent, to_group=to_group)
    except HandoffError as exc:
        raise handoff_error(exc) from None
    return conv


# ------------------------------------------------------------------------------------------ tickets


def _bound_account(s: Session, contact: Contact | None, account_no: str | None) -> Account | None:
    if not account_no:
        return None
    for account in bindings.bound_accounts(s, contact) if contact else []:
        if account.account_no == str(account_no).strip():
            return account
    raise ConsoleError(400, "not_bound")


def create_ticket(s: Session, p: Principal, handoff_id: int, body: Dict[str, Any]) -> Dict[str, Any]:
    """Open a ticket for the customer of a conversation the agent owns."""
    conv = owned(s, p, handoff_id, "ticket.create")
    ticket_type = str(body.get("type") or "")
    if ticket_type not in TICKET_TYPES:
        raise ConsoleError(400, "bad_type")
    description = str(body.get("description") or "").strip()
    if not description:
        raise ConsoleError(400, "empty")
    handoff = s.get(Handoff, conv.handoff_id)
    assert handoff is not None
    contact = _contact(s, handoff) or contacts.for_sender(s, conv.sender_id)
    account = _bound_account(s, contact, body.get("account_no"))
    ticket = tickets.create(s, ticket_type, conv.channel, description[:2000], contact=contact, account=account,
                            priority="urgent" if ticket_type == "hazard" else "normal", actor=p.actor)
    return _ticket(ticket)


def set_ticket_status(s: Session, p: Principal, handoff_id: int, ticket_no: str, body: Dict[str, Any]) -> Dict[str, Any]:
    """Move a ticket of the conversation's customer to another status along the allowed transitions
    (status belongs to dispatchers and supervisors, not to agents)."""
    conv = owned(s, p, handoff_id, "tickets.work")
    status = str(body.get("status") or "")
    if status not in TICKET_STATUSES:
        raise ConsoleError(400, "bad_status")
    ticket = tickets.by_no(s, ticket_no)
    handoff = s.get(Handoff, conv.handoff_id)
    contact = _contact(s, handoff) if handoff else None
    if ticket is None or contact is None or not tickets.visible_to(s, ticket, contact):
        raise ConsoleError(404, "ticket_not_found")
    if ticket.status != status:
        try:
            dispatch.transition(s, ticket, status, p.actor, note=str(body.get("note") or "")[:500])
        except dispatch.DispatchError as exc:
            raise ConsoleError(409, f"ticket_{exc.reason}", **{k: str(v) for k, v in exc.info.items()}) from None
    return _ticket(ticket)


def correct_ticket_description(s: Session, p: Principal, handoff_id: int, ticket_no: str,
                               body: Dict[str, Any]) -> Dict[str, Any]:
    """Correct the description of a ticket of the conversation's customer (``description``: the new
    text, 1–2000 characters); the old text stays in the ticket's history, the change in the audit log."""
    conv = owned(s, p, handoff_id, "ticket.update")
    text = str(body.get("description") or "").strip()
    if not text:
        raise ConsoleError(400, "empty")
    ticket = tickets.by_no(s, ticket_no)
    handoff = s.get(Handoff, conv.handoff_id)
    contact = _contact(s, handoff) if handoff else None
    if ticket is None or contact is None or not tickets.visible_to(s, ticket, contact):
        raise ConsoleError(404, "ticket_not_found")
    if " ".join(text.split()) != (ticket.description or ""):
        tickets.correct_description(s, ticket, text, p.actor)
        s.flush()
        s.refresh(ticket)
    return _ticket(ticket)


# ----------------------------------------------------------------------------------- personal data


def reveal(s: Session, p: Principal, handoff_id: int, body: Dict[str, Any]) -> Dict[str, Any]:
    """One field (name or phone) of one bound account of the conversation's customer, in clear, for a
    stated reason — audited with that reason."""
    p.require("pii.reveal")
    scope = _readable(s, p, handoff_id)
    if not scope.current_records:
        raise ConsoleError(409, "closed")  # an ended hand-over shows no current personal data
    handoff = scope.handoff
    field = str(body.get("field") or "")
    if field not in REVEAL_FIELDS:
        raise ConsoleError(400, "bad_field")
    reason = " ".join(str(body.get("reason") or "").split())
    if len(reason) < 2:
        raise ConsoleError(400, "reason_required")
    account = _bound_account(s, _contact(s, handoff), str(body.get("account_no") or ""))
    if account is None:
        raise ConsoleError(400, "account_required")
    value = account.name if field == "name" else (account.phone or "")
    audit.record(s, p.actor, "pii.reveal", "account", account.account_no, field=field, reason=reason[:200],
                 conversation=handoff.sender_id)
    return {"account_no": account.account_no, "field": field, "value": value}


# -------------------------------------------------------------------------------------------- audit


def audit_view(s: Session, p: Principal, args: Dict[str, str]) -> Dict[str, Any]:
    """Audit entries, newest first; read-only (the log has no update or delete, here or in the DB)."""
    p.require("audit.view")
    before = query_int(args.get("before"), 0, 1) or None
    limit = max(1, min(200, query_int(args.get("limit"), 100)))
    rows = audit.entries(s, limit=limit, before_id=before, actor=args.get("actor") or None,
                         action=args.get("action") or None)
    return {"entries": [{"id": e.id, "at": _iso(e.at), "actor": e.actor, "action": e.action,
                         "target_type": e.target_type, "target_id": e.target_id, "outcome": e.outcome,
                         "detail": e.detail, "actor_label": labels.audit_actor(e.actor),
                         "target_label": labels.audit_target(e.target_type, e.target_id),
                         "detail_lines": labels.audit_detail_lines(e.detail)} for e in rows]}


def metrics_view(s: Session, p: Principal, args: Dict[str, str]) -> Dict[str, Any]:
    """Service quality over the last ``days`` days (default 7): bot, agents, tickets, satisfaction."""
    p.require("metrics.view")
    try:
        since, until = metrics.period(query_int(args.get("days"), 7))
    except ValueError:
        raise ConsoleError(400, "bad_query") from None
    return metrics.report(s, since, until).as_dict()


# -------------------------------------------------------------------------------------------- supervision


def wall_view(s: Session, p: Principal, now: datetime | None = None) -> Dict[str, Any]:
    """The supervisors' live wall: every waiting and active conversation with its wait and first-response
    time against the targets of the service rules (``supervision:``), flagged when over."""
    p.require("conversation.view_all")
    now = now or utcnow()
    targets = get_rules().supervision
    lines = supervision.wall(s, targets, now)
    return {
        "targets": {"wait_s": targets.wait_target_seconds, "first_response_s": targets.first_response_target_seconds},
        "conversations": [{**_handoff(s, line.handoff, now), "wait_s": line.wait_s, "wait_over": line.wait_over,
                           "first_response_s": line.first_response_s, "responding_s": line.responding_s,
                           "first_response_over": line.first_response_over} for line in lines],
        "now": _iso(now),
    }


QUALITY_ERRORS = {"not_found": (404, "not_found"), "not_closed": (409, "not_closed"),
                  "no_agent": (409, "not_closed"), "scored": (409, "already_scored"),
                  "bad_items": (400, "bad_quality_items")}


def _checklist(s: Session) -> Dict[str, str]:
    """The checklist items in use, ``{code: label}`` in order; seeded from the service rules
    (``supervision.quality_checklist``) the first time, before supervisors manage it."""
    if not supervision.checklist_items(s, include_retired=True):
        supervision.seed_checklist(s, get_rules().supervision.quality_checklist)
    return {item.code: item.label for item in supervision.checklist_items(s)}


def _quality(s: Session, q: QualityScore | None) -> Dict[str, Any] | None:
    """A check as made: each item with the label it was scored under (checks made before labels were
    kept get the item's label now, or its code)."""
    if q is None:
        return None
    known = {i.code: i.label for i in supervision.checklist_items(s, include_retired=True)}
    items = {code: {**result, "label": result.get("label") or known.get(code, code)}
             for code, result in (q.items or {}).items()}
    return {"score": q.score, "items": items, "scorer": q.scorer, "at": _iso(q.created_at)}


def _sampled(s: Session, h: Handoff, q: QualityScore | None, now: datetime) -> Dict[str, Any]:
    return {**_handoff(s, h, now), "quality": _quality(s, q)}


def quality_sample(s: Session, p: Principal, body: Dict[str, Any], now: datetime | None = None) -> Dict[str, Any]:
    """Draw a random sample of conversations closed in the last ``days`` days (default 7), of one agent
    (``agent``: username) or all, not yet checked; audited (``quality.sample``)."""
    p.require("quality.score")
    now = now or utcnow()
    try:
        since, until = metrics.period(query_int(body.get("days"), 7), now)
    except ValueError:
        raise ConsoleError(400, "bad_query") from None
    agent = None
    if body.get("agent"):
        agent = s.scalar(select(StaffUser).where(StaffUser.username == str(body["agent"])))
        if agent is None:
            raise ConsoleError(404, "not_found")
    rules = get_rules().supervision
    size = max(1, min(50, query_int(body.get("size"), rules.sample_size)))
    drawn = supervision.sample(s, since, until, size, agent=agent)
    audit.record(s, p.actor, "quality.sample", "console", "quality", now=now, agent=agent.username if agent else None,
                 days=(until - since).days, drawn=len(drawn))
    return {"conversations": [_sampled(s, h, None, now) for h in drawn], "checklist": _checklist(s)}


def quality_checks(s: Session, p: Principal, now: datetime | None = None) -> Dict[str, Any]:
    """The checklist and the latest quality checks (newest first), for the supervisors' screen."""
    p.require("quality.score")
    now = now or utcnow()
    rows = s.scalars(select(QualityScore).order_by(QualityScore.id.desc()).limit(50)).all()
    return {"checklist": _checklist(s),
            "checks": [_sampled(s, s.get(Handoff, q.handoff_id), q, now) for q in rows]}


def quality_score(s: Session, p: Principal, handoff_id: int, body: Dict[str, Any]) -> Dict[str, Any]:
    """Score one closed conversation against the checklist in use: ``{"items": {code: {"passed": bool,
    "comment": str}}}`` for every item. 400 on a missing or unknown item, 409 when already scored or
    not closed."""
    p.require("quality.score")
    items = body.get("items")
    if not isinstance(items, dict) or not all(isinstance(v, dict) for v in items.values()):
        raise ConsoleError(400, "bad_quality_items")
    try:
        check = supervision.score(s, handoff_id, _user(s, p), items, _checklist(s))
    except supervision.QualityError as exc:
        status, code = QUALITY_ERRORS[exc.reason]
        raise ConsoleError(status, code) from None
    return _quality(s, check) or {}


def _checklist_item(item: QualityChecklistItem) -> Dict[str, Any]:
    return {"id": item.id, "code": item.code, "label": item.label, "active": item.retired_at is None,
            "retired_at": _iso(item.retired_at), "updated_by": item.updated_by, "updated_at": _iso(item.updated_at)}


def checklist_view(s: Session, p: Principal) -> Dict[str, Any]:
    """Every checklist item, those in use first then the retired, for supervisors to manage."""
    p.require("quality.manage")
    _checklist(s)
    items = supervision.checklist_items(s, include_retired=True)
    return {"items": [_checklist_item(i) for i in sorted(items, key=lambda i: i.retired_at is not None)]}


def _checklist_error(exc: supervision.ChecklistError) -> ConsoleError:
    return ConsoleError(404 if exc.reason == "not_found" else 400, "checklist_" + exc.reason)


def checklist_add(s: Session, p: Principal, body: Dict[str, Any]) -> Dict[str, Any]:
    """Add an item (``{"label": str, "code": str (optional)}``); supervisors only, audited."""
    p.require("quality.manage")
    _checklist(s)  # the rules' items first, so an item added to an empty table is not the only one
    try:
        return _checklist_item(supervision.add_item(s, p.actor, body.get("label"), body.get("code")))
    except supervision.ChecklistError as exc:
        raise _checklist_error(exc) from None


def checklist_rename(s: Session, p: Principal, item_id: int, body: Dict[str, Any]) -> Dict[str, Any]:
    """Rename an item (``{"label": str}``); past checks keep the label they were scored under."""
    p.require("quality.manage")
    try:
        return _checklist_item(supervision.rename_item(s, p.actor, item_id, body.get("label")))
    except supervision.ChecklistError as exc:
        raise _checklist_error(exc) from None


def checklist_retire(s: Session, p: Principal, item_id: int) -> Dict[str, Any]:
    """Stop scoring against an item; past checks keep it. 400 ``checklist_last_item`` for the last one."""
    p.require("quality.manage")
    try:
        return _checklist_item(supervision.retire_item(s, p.actor, item_id))
    except supervision.ChecklistError as exc:
        raise _checklist_error(exc) from None


def record_denied(s: Session, p: Principal, what: str, code: str) -> None:
    """A refused console request, so supervisors can see who tried what."""
    audit.record(s, p.actor, "console.denied", "console", what[:64], outcome="denied", code=code)


# -------------------------------------------------------------------------------------------- staff


def _staff(s: Session, u: StaffUser) -> Dict[str, Any]:
    return {"username": u.username, "display_name": u.display_name, "role": u.role, "active": u.active,
            "locked": staff.locked_until(s, u.username) is not None, "created_at": _iso(u.created_at)}


def staff_list(s: Session, p: Principal) -> Dict[str, Any]:
    p.require("staff.manage")
    return {"staff": [_staff(s, u) for u in staff.all_users(s)]}


def staff_add(s: Session, p: Principal, body: Dict[str, Any]) -> Dict[str, Any]:
    """Create a user with a generated password, shown to the administrator once."""
    p.require("staff.manage")
    try:
        user, password = staff.add(s, str(body.get("username") or ""), str(body.get("role") or ""),
                                   display_name=str(body.get("display_name") or "").strip() or None, actor=p.actor)
    except staff.StaffError as exc:
        raise ConsoleError(400, "refused", str(exc)) from None
    return {"user": _staff(s, user), "password": password}


def _other(s: Session, p: Principal, username: str) -> StaffUser:
    p.require("staff.manage")
    user = staff.get(s, username)
    if user is None:
        raise ConsoleError(404, "no_such_staff")
    return user


def staff_set_active(s: Session, p: Principal, username: str, active: bool) -> Dict[str, Any]:
    user = _other(s, p, username)
    if user.id == p.id and not active:
        raise ConsoleError(400, "self")
    staff.set_active(s, user, active, p.actor)
    if not active:
        sessions.revoke_all(s, user)
    return {"user": _staff(s, user)}


def staff_reset_password(s: Session, p: Principal, username: str) -> Dict[str, Any]:
    """A new generated password (shown once); the user's sessions end and any lockout is lifted."""
    user = _other(s, p, username)
    password = staff.reset_password(s, user, p.actor)
    sessions.revoke_all(s, user)
    return {"user": _staff(s, user), "password": password}
