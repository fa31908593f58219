"""What the console does with the records: one function per console operation, each a unit of work
on a session the caller opens (blocking code; the HTTP layer runs it in a thread).

Every function receives the signed-in :class:`Principal` and checks what it needs itself (permission,
ownership, visibility), so no endpoint can forget a check. The business rules stay in
:mod:`bot.domain`; personal data leaves here masked, except through :func:`reveal`, which is audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Dict, List

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.clock import to_local, utcnow
from bot.console import labels, sessions
from bot.console.permissions import ConsoleError, Principal, may_view
from bot.domain import accounts, audit, bindings, contacts, dispatch, handoffs, metrics, staff, tickets, transcript
from bot.domain.handoffs import HandoffError
from bot.domain.models import (
    TICKET_STATUSES,
    TICKET_TYPES,
    Account,
    Contact,
    Handoff,
    StaffUser,
    Ticket,
    TranscriptEntry,
)
from bot.domain.pii import mask_name, mask_phone, redact_text
from bot.messaging.deliver import Delivery

MAX_REPLY = 500
TRANSCRIPT_PAGE = 300
REVEAL_FIELDS = ("name", "phone")


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


# ------------------------------------------------------------------------------------------ reading


def _contact(s: Session, handoff: Handoff) -> Contact | None:
    return handoff.contact or contacts.by_sender(s, handoff.sender_id)


def _customer(s: Session, handoff: Handoff) -> Dict[str, Any]:
    """How the console names a customer: the masked name on a bound account, else the channel."""
    contact = _contact(s, handoff)
    bound = bindings.bound_accounts(s, contact) if contact else []
    ref = handoff.sender_id.partition(":")[2][-4:]
    return {"name": mask_name(bound[0].name) if bound else None, "ref": ref, "accounts": len(bound)}


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
        "customer": _customer(s, handoff),
    }
    if handoff.status == "waiting":
        data["position"] = handoffs.position(s, handoff)
    return data


def queue_view(s: Session, p: Principal, now: datetime | None = None) -> Dict[str, Any]:
    """Waiting conversations (longest first) and the live ones this user may see."""
    p.require("queue.view")
    now = now or utcnow()
    live = handoffs.active(s) if p.can("conversation.view_all") else handoffs.active(s, owner=_user(s, p))
    return {
        "waiting": [_handoff(s, h, now) for h in handoffs.queue(s)],
        "live": [_handoff(s, h, now) for h in live],
        "now": _iso(now),
    }


def _user(s: Session, p: Principal) -> StaffUser:
    user = staff.get(s, p.username)
    if user is None or not user.active:
        raise ConsoleError(401, "signed_out")
    return user


def _visible(s: Session, p: Principal, handoff_id: int) -> Handoff:
    handoff = s.get(Handoff, handoff_id)
    if handoff is None:
        raise ConsoleError(404, "not_found")
    if not may_view(p, handoff):
        raise ConsoleError(403, "not_owner", owner=handoff.owner.display_name if handoff.owner else None)
    return handoff


def _entry(e: TranscriptEntry) -> Dict[str, Any]:
    # customers sometimes type phone or ID numbers: the console shows them masked like everything else
    return {"id": e.id, "at": _iso(e.created_at), "direction": e.direction, "author": e.author,
            "text": redact_text(e.text), "intent": e.intent}


def _ticket(t: Ticket) -> Dict[str, Any]:
    return {"ticket_no": t.ticket_no, "type": t.type, "status": t.status, "created_at": _iso(t.created_at),
            "sla_deadline": _iso(t.sla_deadline), "account_no": t.account.account_no if t.account else None,
            "description": redact_text(t.description or "")}


def _account_summary(s: Session, account: Account, now: datetime) -> Dict[str, Any]:
    summary = accounts.summary(s, account, now)
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
        "open_tickets": [_ticket(t) for t in summary.open_tickets],
    }


def conversation_view(s: Session, p: Principal, handoff_id: int, now: datetime | None = None) -> Dict[str, Any]:
    """Everything the agent sees about one conversation: the handoff, the customer's bound accounts
    (masked), their tickets, and the latest part of the transcript."""
    now = now or utcnow()
    handoff = _visible(s, p, handoff_id)
    contact = _contact(s, handoff)
    bound = bindings.bound_accounts(s, contact) if contact else []
    entries = _transcript_tail(s, handoff.sender_id)
    return {
        "handoff": _handoff(s, handoff, now),
        "mine": handoff.status == "active" and handoff.owner_id == p.id,
        "accounts": [_account_summary(s, a, now) for a in bound],
        "tickets": [_ticket(t) for t in tickets.for_contact(s, contact, limit=20)] if contact else [],
        "transcript": [_entry(e) for e in entries],
    }


def _transcript_tail(s: Session, sender_id: str) -> List[TranscriptEntry]:
    """The latest ``TRANSCRIPT_PAGE`` entries of a conversation, oldest first."""
    q = (select(TranscriptEntry).where(TranscriptEntry.sender_id == sender_id)
         .order_by(TranscriptEntry.id.desc()).limit(TRANSCRIPT_PAGE))
    return list(reversed(list(s.scalars(q))))


def transcript_since(s: Session, p: Principal, handoff_id: int, after_id: int) -> Dict[str, Any]:
    """New transcript entries (for live polling) and the conversation's current state."""
    handoff = _visible(s, p, handoff_id)
    return {
        "status": handoff.status,
        "owner": handoff.owner.display_name if handoff.owner else None,
        "mine": handoff.status == "active" and handoff.owner_id == p.id,
        "entries": [_entry(e) for e in transcript.since(s, handoff.sender_id, after_id)],
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


# ----------------------------------------------------------------------------------- personal data


def reveal(s: Session, p: Principal, handoff_id: int, body: Dict[str, Any]) -> Dict[str, Any]:
    """One field (name or phone) of one bound account of the conversation's customer, in clear, for a
    stated reason — audited with that reason."""
    p.require("pii.reveal")
    handoff = _visible(s, p, handoff_id)
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
    try:
        before = int(args["before"]) if args.get("before") else None
        limit = max(1, min(200, int(args.get("limit") or 100)))
    except ValueError:
        raise ConsoleError(400, "bad_query") from None
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
        since, until = metrics.period(int(args.get("days") or 7))
    except ValueError:
        raise ConsoleError(400, "bad_query") from None
    return metrics.report(s, since, until).as_dict()


def record_denied(s: Session, p: Principal, what: str, code: str) -> None:
    """A refused console request, so supervisors can see who tried what."""
    audit.record(s, p.actor, "console.denied", "console", what[:64], outcome="denied", code=code)


# -------------------------------------------------------------------------------------------- staff


def _staff(u: StaffUser) -> Dict[str, Any]:
    return {"username": u.username, "display_name": u.display_name, "role": u.role, "active": u.active,
            "locked": bool(u.locked_until and u.locked_until > utcnow()), "created_at": _iso(u.created_at)}


def staff_list(s: Session, p: Principal) -> Dict[str, Any]:
    p.require("staff.manage")
    return {"staff": [_staff(u) for u in staff.all_users(s)]}


def staff_add(s: Session, p: Principal, body: Dict[str, Any]) -> Dict[str, Any]:
    """Create a user with a generated password, shown to the administrator once."""
    p.require("staff.manage")
    try:
        user, password = staff.add(s, str(body.get("username") or ""), str(body.get("role") or ""),
                                   display_name=str(body.get("display_name") or "").strip() or None, actor=p.actor)
    except staff.StaffError as exc:
        raise ConsoleError(400, "refused", str(exc)) from None
    return {"user": _staff(user), "password": password}


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
    return {"user": _staff(user)}


def staff_reset_password(s: Session, p: Principal, username: str) -> Dict[str, Any]:
    """A new generated password (shown once); the user's sessions end and any lockout is lifted."""
    user = _other(s, p, username)
    password = staff.reset_password(s, user, p.actor)
    sessions.revoke_all(s, user)
    return {"user": _staff(user), "password": password}
