"""The personal-data lifecycle: what we hold about a customer, erasing it, and retention.

Personal Information Protection Law (个人信息保护法) art. 45 (a person may see and copy their data) and
art. 47 (we delete it on request, and when the retention period has passed). Records the utility must
keep for its own operation stay, stripped of the person: a ticket keeps its type, status, times and
township/village (for outage statistics and SLA reporting) and loses the callback phone, the
description, the address and the link to the person. The audit log keeps every entry (Cybersecurity
Law art. 21: at least six months); its entries hold customers only as pseudonyms (bot.domain.audit).

The account itself (户号, name, registered phone, address, bills) is the marketing system's record,
imported from it and overwritten by every import: it is not erased here — the marketing system erases it,
and the next import carries that over. Everything this bot learnt from the person (channel identities,
bindings, codes, conversations, trackers, messages sent, tickets' personal fields) is.

A customer asks in the chat (``我的信息``, ``删除我的个人信息``, recognised by the channels before the model):
:func:`file_request` opens a ``privacy`` ticket for the supervisors with the deadline of service_rules.yml
(``sla.personal_data_request_days``) and the command that carries the request out.

Rasa's conversation trackers live in the ``events`` table of ``DATABASE_URL`` when ``TRACKER_STORE=sql``
(the default); they are erased and pruned there when that table exists.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List

from sqlalchemy import (
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    delete,
    func,
    inspect,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from bot import messages
from bot.clock import to_local, utcnow
from bot.domain import audit, notices, tickets
from bot.domain.models import (
    OPEN_TICKET_STATUSES,
    Account,
    AttemptCounter,
    Binding,
    ConsoleNote,
    Contact,
    Handoff,
    Notice,
    NoticePreference,
    OutboundMessage,
    SatisfactionRating,
    Ticket,
    TicketAttachment,
    TicketEvent,
    TicketFollower,
    TranscriptEntry,
    VerificationCode,
)
from bot.domain.pii import cipher
from bot.domain.rules import Rules, get_rules

#: Rasa's SQL tracker store table (rasa.core.tracker_store.SQLTrackerStore.SQLEvent), as far as we touch it
_tracker_events = Table(
    "events", MetaData(),
    Column("id", Integer, primary_key=True),
    Column("sender_id", String(255), nullable=False),
    Column("type_name", String(255), nullable=False),
    Column("timestamp", Float),
    Column("intent_name", String(255)),
    Column("action_name", String(255)),
    Column("data", Text),
)

#: what a pseudonymised conversation id starts with (handoffs and ratings keep their numbers for statistics)
ERASED_SENDER_PREFIX = "erased:"


class CustomerNotFound(LookupError):
    """No account with that number, or no conversation with that sender id."""


@dataclass
class Customer:
    """The person behind a request: their channel identities and, when asked by 户号, the account."""

    key: str  # "account:<account_no>" or "sender:<sender_id>"
    account: Account | None
    contacts: List[Contact]
    sender_ids: List[str]

    @property
    def contact_ids(self) -> List[int]:
        return [c.id for c in self.contacts]


@dataclass
class PruneResult:
    """Rows removed or emptied by :func:`prune`."""

    transcript: int = 0
    tracker_events: int = 0
    outbox_bodies: int = 0
    cutoff: datetime | None = None


#: the ticket type of a customer's request about their personal data, and its subtypes (what was asked)
REQUEST_TICKET_TYPE = "privacy"
REQUEST_KINDS = ("view", "delete")


@dataclass(frozen=True)
class DataRequest:
    """A personal-data request filed from the chat: its ticket, and whether this message opened it
    (``False``: the customer's open request of the same kind, asked again; a retry of the message that
    opened it counts as opening it, so it gets the same answer)."""

    ticket: Ticket
    created: bool

    def reply(self, rules: Rules | None = None) -> str:
        """What the customer is told (bot/messages.py ``PERSONAL_DATA_REPLIES`` / ``PERSONAL_DATA_ALREADY``)."""
        t = self.ticket
        deadline = _local_date(t.sla_deadline) if t.sla_deadline else ""
        if not self.created:
            return messages.PERSONAL_DATA_ALREADY.format(date=_local_date(t.created_at), ticket_no=t.ticket_no,
                                                         deadline=deadline)
        days = (rules or get_rules()).sla.personal_data_request_days
        return messages.PERSONAL_DATA_REPLIES[t.subtype or "view"].format(ticket_no=t.ticket_no, days=days,
                                                                         deadline=deadline)


def _local_date(value: datetime) -> str:
    local = to_local(value)
    return f"{local.month}月{local.day}日"


def file_request(s: Session, contact: Contact, kind: str, source_key: str | None = None,
                 now: datetime | None = None, rules: Rules | None = None) -> DataRequest:
    """File the customer's request to see (``kind="view"``, PIPL art. 45) or delete (``"delete"``, art. 47)
    their personal data as a ``privacy`` ticket due in ``sla.personal_data_request_days`` calendar days, whose
    description names the ``bot export-customer`` / ``bot erase-customer`` command that carries it out. One
    open request per customer and kind: asking again finds it; ``source_key`` (the message id) makes a
    retried message find its ticket. Audited (``customer.data_request``, the customer pseudonymised).
    Raises ``ValueError`` for another kind."""
    if kind not in REQUEST_KINDS:
        raise ValueError(f"unknown personal-data request {kind!r}")
    now = now or utcnow()
    rules = rules or get_rules()
    retried = tickets.by_source(s, source_key)
    if retried is not None:
        return DataRequest(retried, created=True)
    existing = s.scalar(
        select(Ticket).where(Ticket.contact_id == contact.id, Ticket.type == REQUEST_TICKET_TYPE,
                             Ticket.subtype == kind, Ticket.status.in_(OPEN_TICKET_STATUSES))
        .order_by(Ticket.id.desc()).limit(1))
    if existing is not None:
        return DataRequest(existing, created=False)
    deadline = now + timedelta(days=rules.sla.personal_data_request_days)
    description = messages.PERSONAL_DATA_TICKET[kind].format(
        channel=messages.CONSOLE_CHANNEL_LABELS.get(contact.channel, contact.channel),
        deadline=_local_date(deadline), sender_id=contact.sender_id)
    ticket = tickets.create(s, REQUEST_TICKET_TYPE, contact.channel, description, contact=contact, subtype=kind,
                            source_key=source_key, actor=f"customer:{contact.sender_id}", now=now, rules=rules)
    audit.record(s, f"customer:{contact.sender_id}", "customer.data_request", "ticket", ticket.ticket_no, now=now,
                 kind=kind)
    return DataRequest(ticket, created=True)


def _has_trackers(s: Session) -> bool:
    return bool(inspect(s.connection()).has_table("events"))


def find(s: Session, account_no: str | None = None, sender_id: str | None = None) -> Customer:
    """The customer asked for by 户号 (every channel identity ever bound to it) or by Rasa sender id.

    Raises :class:`CustomerNotFound`; ``ValueError`` unless exactly one of the two is given."""
    if (account_no is None) == (sender_id is None):
        raise ValueError("give an account number or a sender id, not both")
    if account_no is not None:
        account = s.scalar(select(Account).where(Account.account_no == account_no.strip()))
        if account is None:
            raise CustomerNotFound(f"no account {account_no}")
        contacts = list(s.scalars(select(Contact).join(Binding, Binding.contact_id == Contact.id)
                                  .where(Binding.account_id == account.id).distinct().order_by(Contact.id)))
        return Customer(f"account:{account.account_no}", account, contacts, [c.sender_id for c in contacts])
    assert sender_id is not None
    contact = s.scalar(select(Contact).where(Contact.sender_id == sender_id))
    held = contact is not None or s.scalar(select(TranscriptEntry.id).where(TranscriptEntry.sender_id == sender_id)
                                           .limit(1)) is not None
    if not held and _has_trackers(s):
        held = s.scalar(select(_tracker_events.c.id).where(_tracker_events.c.sender_id == sender_id).limit(1)) is not None
    if not held:
        raise CustomerNotFound(f"no conversation {sender_id}")
    return Customer(f"sender:{sender_id}", None, [contact] if contact else [], [sender_id])


def _recipient_hashes(customer: Customer) -> List[str]:
    """The outbox's lookup hashes of every address of the customer (bot.messaging.outbox.recipient_hash)."""
    c = cipher()
    hashes = []
    for contact in customer.contacts:
        kind = "phone" if contact.channel == "sms" else contact.channel
        hashes.append(c.lookup_hash(f"{kind}:{contact.external_id}"))
    if customer.account is not None and customer.account.phone:
        hashes.append(c.lookup_hash(f"phone:{customer.account.phone}"))
    return hashes


def _tickets_where(customer: Customer) -> Any:
    conditions = [Ticket.contact_id.in_(customer.contact_ids)]
    if customer.account is not None:
        conditions.append(Ticket.account_id == customer.account.id)
    return or_(*conditions)


def _iso(value: datetime | None) -> str | None:
    return value.replace(tzinfo=timezone.utc).isoformat() if value else None


def export(s: Session, customer: Customer, actor: str, now: datetime | None = None) -> Dict[str, Any]:
    """Everything we hold about ``customer``, decrypted, as JSON-ready data (PIPL art. 45): the account,
    channel identities, bindings, tickets, transcript, messages sent, hand-overs and the number of tracker
    events. Times are ISO 8601 UTC. The export is audited (``customer.export``, the customer pseudonymised)."""
    account = customer.account
    hashes = _recipient_hashes(customer)
    data: Dict[str, Any] = {
        "account": None if account is None else {
            "account_no": account.account_no, "name": account.name, "phone": account.phone,
            "address": account.address, "bills": len(account.bills),
        },
        "contacts": [{"channel": c.channel, "sender_id": c.sender_id, "external_id": c.external_id,
                      "active": c.active, "created_at": _iso(c.created_at),
                      "last_inbound_at": _iso(c.last_inbound_at)} for c in customer.contacts],
        "bindings": [{"account_no": b.account.account_no, "method": b.method, "verified_at": _iso(b.verified_at),
                      "unbound_at": _iso(b.unbound_at)}
                     for b in s.scalars(select(Binding).where(Binding.contact_id.in_(customer.contact_ids))
                                        .order_by(Binding.id))],
        "tickets": [{"ticket_no": t.ticket_no, "type": t.type, "status": t.status, "created_at": _iso(t.created_at),
                     "address": t.address, "description": t.description, "callback_phone": t.callback_phone}
                    for t in s.scalars(select(Ticket).where(_tickets_where(customer)).order_by(Ticket.id))],
        "transcript": [{"at": _iso(e.created_at), "direction": e.direction, "author": e.author, "text": e.text}
                       for e in s.scalars(select(TranscriptEntry)
                                          .where(TranscriptEntry.sender_id.in_(customer.sender_ids))
                                          .order_by(TranscriptEntry.id))],
        "messages_sent": [{"at": _iso(m.created_at), "channel": m.channel, "purpose": m.purpose, "body": m.body,
                           "status": m.status}
                          for m in s.scalars(select(OutboundMessage)
                                             .where(or_(OutboundMessage.contact_id.in_(customer.contact_ids),
                                                        OutboundMessage.recipient_hash.in_(hashes)))
                                             .order_by(OutboundMessage.id))],
        "handoffs": [{"requested_at": _iso(h.requested_at), "reason": h.reason, "status": h.status}
                     for h in s.scalars(select(Handoff).where(Handoff.sender_id.in_(customer.sender_ids))
                                        .order_by(Handoff.id))],
        "tracker_events": (s.scalar(select(func.count()).select_from(_tracker_events).where(
            _tracker_events.c.sender_id.in_(customer.sender_ids))) or 0) if _has_trackers(s) else 0,
    }
    audit.record(s, actor, "customer.export", "customer", subject_of(customer), now=now,
                 sections={k: len(v) if isinstance(v, list) else int(v is not None) for k, v in data.items()
                           if k != "tracker_events"})
    return data


def subject_of(customer: Customer) -> str:
    """The audit log's pseudonym of the request (a reviewer holding the 户号 or sender id can recompute it)."""
    return audit.subject(customer.key)


def erase(s: Session, customer: Customer, actor: str, now: datetime | None = None) -> Dict[str, int]:
    """Remove or irreversibly anonymise everything of ``customer`` (PIPL art. 47), in the caller's unit
    of work: channel identities, bindings, verification codes and attempt counters are deleted; the
    transcript, hand-overs' notes, tracker events and ticket attachments are deleted; hand-overs and ratings
    keep their numbers under a random ``erased:`` id; messages sent keep channel, purpose, status and times
    (body and recipient emptied); tickets keep type, status, times, township/village (callback phone,
    description, address, notes and the link to the person removed). Returns rows touched per kind;
    the erasure itself is audited (``customer.erase``)."""
    now = now or utcnow()
    ids, senders = customer.contact_ids, customer.sender_ids
    hashes = _recipient_hashes(customer)
    account_id = customer.account.id if customer.account is not None else None
    counts: Dict[str, int] = {}

    def run(name: str, statement: Any) -> None:
        counts[name] = counts.get(name, 0) + (s.execute(statement.execution_options(synchronize_session=False))
                                              .rowcount or 0)

    run("outbox", update(OutboundMessage)
        .where(or_(OutboundMessage.contact_id.in_(ids), OutboundMessage.recipient_hash.in_(hashes)))
        .values(body="", recipient="", recipient_hash="erased", contact_id=None, error=None))
    run("transcript", delete(TranscriptEntry).where(TranscriptEntry.sender_id.in_(senders)))
    handoff_ids = list(s.scalars(select(Handoff.id).where(
        or_(Handoff.sender_id.in_(senders), Handoff.contact_id.in_(ids)))))
    run("handoff_notes", delete(ConsoleNote).where(ConsoleNote.handoff_id.in_(handoff_ids)))
    for handoff_id in handoff_ids:  # one random id each: an open hand-over's id must stay unique
        s.execute(update(Handoff).where(Handoff.id == handoff_id).values(
            sender_id=ERASED_SENDER_PREFIX + secrets.token_hex(8), contact_id=None))
        s.execute(update(Handoff).where(Handoff.id == handoff_id, Handoff.status != "closed").values(
            status="closed", closed_at=now, close_kind="closed"))
    counts["handoffs"] = len(handoff_ids)
    run("ratings", update(SatisfactionRating)
        .where(or_(SatisfactionRating.sender_id.in_(senders), SatisfactionRating.contact_id.in_(ids)))
        .values(sender_id=ERASED_SENDER_PREFIX, contact_id=None))

    ticket_ids = list(s.scalars(select(Ticket.id).where(_tickets_where(customer))))
    run("ticket_attachments", delete(TicketAttachment).where(TicketAttachment.ticket_id.in_(ticket_ids)))
    run("ticket_notes", update(TicketEvent).where(TicketEvent.ticket_id.in_(ticket_ids)).values(note=""))
    run("ticket_events_by_customer", update(TicketEvent)
        .where(TicketEvent.actor.in_([f"customer:{sid}" for sid in senders])).values(actor="customer:erased"))
    run("tickets", update(Ticket).where(Ticket.id.in_(ticket_ids)).values(
        description="", callback_phone=None, callback_pending=False, address=None, contact_id=None,
        account_id=None, source_key=None, updated_at=now))
    run("ticket_followers", delete(TicketFollower).where(TicketFollower.contact_id.in_(ids)))

    # notices: kept as counts (event, kind, status, times) under a random person; the person's phone,
    # text and link removed, what was still to be sent withdrawn; their notice preferences deleted
    person_keys = [notices.person_of_contact(c) for c in customer.contacts]
    if customer.account is not None and customer.account.phone_hash:
        person_keys.append("p:" + customer.account.phone_hash)
    notice_ids = list(s.scalars(select(Notice.id).where(
        or_(Notice.contact_id.in_(ids), Notice.person_key.in_(person_keys)))))
    for notice_id in notice_ids:  # one random person each: a notice's key must stay unique
        person = ERASED_SENDER_PREFIX + secrets.token_hex(8)
        s.execute(update(Notice).where(Notice.id == notice_id).values(
            person_key=person, key=f"erased|{person}", contact_id=None, phone=None, text="", template=None,
            error=None))
        s.execute(update(Notice).where(Notice.id == notice_id, Notice.status.notin_(notices.FINAL_STATUSES))
                  .values(status="withdrawn"))
    counts["notices"] = len(notice_ids)
    run("notice_preferences", delete(NoticePreference).where(NoticePreference.person_key.in_(person_keys)))

    code_where = [VerificationCode.contact_id.in_(ids)]
    binding_where = [Binding.contact_id.in_(ids)]
    counter_names = [f"bind-sender:{i}" for i in ids]
    if customer.account is not None:
        code_where.append(VerificationCode.account_id == account_id)
        binding_where.append(Binding.account_id == account_id)
        counter_names.append(f"bind-wrong:{account_id}")
        if customer.account.phone_hash:
            counter_names += [f"otp-phone-{w}:{customer.account.phone_hash[:40]}" for w in ("d", "h")]
    run("verification_codes", delete(VerificationCode).where(or_(*code_where)))
    run("bindings", delete(Binding).where(or_(*binding_where)))
    run("attempt_counters", delete(AttemptCounter).where(AttemptCounter.name.in_(counter_names)))
    if _has_trackers(s):
        run("tracker_events", delete(_tracker_events).where(_tracker_events.c.sender_id.in_(senders)))
    run("contacts", delete(Contact).where(Contact.id.in_(ids)))
    audit.record(s, actor, "customer.erase", "customer", subject_of(customer), now=now,
                 by="account" if customer.account is not None else "sender", rows=counts)
    return counts


def prune(s: Session, retention_days: int, actor: str = "cli:prune", now: datetime | None = None) -> PruneResult:
    """Delete transcript entries and tracker events, and empty the bodies of messages sent, older than
    ``retention_days`` days before ``now`` (UTC; DATA_RETENTION_DAYS, default 180 — PIPL art. 19: no longer
    than the purpose needs). The audit log is never pruned here (append-only, kept at least six months)."""
    now = now or utcnow()
    cutoff = now - timedelta(days=retention_days)
    result = PruneResult(cutoff=cutoff)
    result.transcript = s.execute(delete(TranscriptEntry).where(TranscriptEntry.created_at < cutoff)
                                  .execution_options(synchronize_session=False)).rowcount or 0
    result.outbox_bodies = s.execute(
        update(OutboundMessage).where(OutboundMessage.created_at < cutoff, OutboundMessage.recipient_hash != "pruned")
        .values(body="", recipient="", recipient_hash="pruned", error=None)
        .execution_options(synchronize_session=False)).rowcount or 0
    if _has_trackers(s):
        epoch = cutoff.replace(tzinfo=timezone.utc).timestamp()
        result.tracker_events = s.execute(delete(_tracker_events).where(_tracker_events.c.timestamp < epoch)
                                          ).rowcount or 0
    audit.record(s, actor, "data.prune", "retention", f"{retention_days}d", now=now,
                 transcript=result.transcript, outbox_bodies=result.outbox_bodies,
                 tracker_events=result.tracker_events)
    return result


__all__ = ["Customer", "CustomerNotFound", "PruneResult", "erase", "export", "find", "prune"]
