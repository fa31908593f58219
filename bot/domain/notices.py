"""Notices to customers that nobody asked for: who gets which notice, when, and the record that it goes once.

A *notice* (table ``notices``) is one message to one *person* about one *event*. Its key
``<event_key>|<person_key>`` is unique, so planning the same event again — a retried API call, a periodic
scan running twice, a restarted worker — finds the rows already there. A person is a WeChat user
(``w:<contact id>``) or a phone (``p:<keyed hash>``): an SMS customer and the registered phone of their
account are the same person.

Who gets what (issue 12, "Notifications"):

* an outage (planned or fault) reaches everyone with a bound account, or a registered phone, in the
  affected township/villages: each bound WeChat user, and the account's registered phone by SMS only when no
  WeChat user bound to that account got it (``only_if_unreached``, decided when the WeChat notices are done);
* one channel per customer, whatever the notice: a phone (an SMS customer, a registered phone) that is the
  registered phone of an account a WeChat user has bound gets its SMS only when no WeChat user bound to such
  an account got the notice (:func:`plan` marks it ``only_if_unreached``) — WeChat when bound and reachable,
  SMS otherwise, and SMS when WeChat refuses for good (43004 unsubscribed, no template outside the window);
* a ticket's status changes that matter (dispatched, on site, resolved, reopened) reach its opener and
  followers; their own ticket's news goes at any hour (``urgent``);
* bills: a reminder ``bill_reminder_days`` before the due date, a notice when late fees start, and prepaid
  accounts whose estimated days left fall under ``prepaid.low_balance_days`` (``service_rules.yml``).

``NOTICE_QUIET_HOURS`` (local time) hold back everything not urgent until they end (``not_before``); fault
outages and ticket updates are urgent. Sending (``bot.messaging.notify``) claims a notice before sending it
and records the outbound message with the notice's id, so a worker killed mid-send leaves evidence the next
one reads (:func:`recover_stale`): a message the provider accepted, or a message recorded but unanswered
(``unknown`` — never sent again), or nothing (safe to send).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Dict, Iterable, List, Optional, Sequence, Set, Tuple

from sqlalchemy import DateTime, String, Text, bindparam, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, defer

from bot import messages
from bot.clock import TZ, fmt_local, local_to_utc, local_today, to_local, utcnow
from bot.config import get_settings
from bot.domain import accounts as accounts_domain
from bot.domain import contacts, dispatch, tickets
from bot.domain.escalation import Change
from bot.domain.models import (
    Account,
    Bill,
    Binding,
    Contact,
    Notice,
    NoticePreference,
    Outage,
    OutageCall,
    OutboundMessage,
    SatisfactionRating,
    Ticket,
    TicketEvent,
    TicketFollower,
)
from bot.domain.pii import phone_hash
from bot.domain.rules import Rules, get_rules

#: Topics a customer can turn off; ticket news about their own ticket cannot be turned off.
OPTIONAL_TOPICS = ("outage", "bill")
#: A notice whose outcome is final.
FINAL_STATUSES = ("sent", "failed", "suppressed", "opted_out", "covered", "unknown", "withdrawn", "answered")
#: Outbound statuses that mean the provider took the message.
ACCEPTED = ("sent", "delivered", "demo")
#: Tickets a crew goes out for: their customers hear of dispatch and arrival too.
FIELD_TICKET_TYPES = ("repair", "hazard")
#: Ticket statuses whose change the customer hears about ("open" only when a resolved ticket is reopened).
TICKET_NOTICE_STATUSES = ("dispatched", "on_site", "resolved", "open")


# --- quiet hours ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QuietHours:
    """Local (Asia/Shanghai) hours in which non-urgent notices wait; ``start == end`` means none."""

    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> QuietHours:
        """``"21:00-08:00"`` → QuietHours; ValueError for anything else."""
        m = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*", text or "")
        if not m:
            raise ValueError("expected HH:MM-HH:MM")
        h1, m1, h2, m2 = (int(x) for x in m.groups())
        if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
            raise ValueError("expected HH:MM-HH:MM")
        return cls(time(h1, m1), time(h2, m2))

    def contains(self, now: datetime) -> bool:
        """Is ``now`` (naive UTC) within the quiet hours?"""
        if self.start == self.end:
            return False
        t = to_local(now).time()
        if self.start < self.end:
            return self.start <= t < self.end
        return t >= self.start or t < self.end

    def release(self, now: datetime) -> datetime:
        """When a notice due at ``now`` (naive UTC) may go: now, or the end of the quiet hours (naive UTC)."""
        if not self.contains(now):
            return now
        local = to_local(now).replace(tzinfo=None)
        end = datetime.combine(local.date(), self.end)
        if end <= local:
            end += timedelta(days=1)
        return local_to_utc(end.replace(tzinfo=TZ))


NO_QUIET_HOURS = QuietHours(time(0), time(0))


# --- people ------------------------------------------------------------------------------------------------


def person_of_contact(contact: Contact) -> str:
    """The person key of a contact: its WeChat user, or its phone."""
    if contact.channel == "sms":
        return "p:" + phone_hash(contact.external_id)
    return f"w:{contact.id}"


def person_of_phone(phone: str) -> str:
    return "p:" + phone_hash(phone)


@dataclass(frozen=True)
class Recipient:
    person_key: str
    contact_id: Optional[int] = None
    account_id: Optional[int] = None
    phone: Optional[str] = None  # SMS target (phone persons) or SMS fallback (WeChat users)
    only_if_unreached: bool = False


def _bound_contacts(s: Session, account_ids: Sequence[int]) -> Dict[int, List[Contact]]:
    found: Dict[int, List[Contact]] = {}
    if not account_ids:
        return found
    for i in range(0, len(account_ids), 500):
        chunk = list(account_ids[i:i + 500])
        # a WeChat user's openid is not needed to plan (an SMS customer's phone is loaded when read)
        q = (select(Binding.account_id, Contact).join(Contact, Contact.id == Binding.contact_id)
             .where(Binding.account_id.in_(chunk), Binding.unbound_at.is_(None)).order_by(Contact.id)
             .options(defer(Contact.external_id)))
        for account_id, contact in s.execute(q):
            found.setdefault(account_id, []).append(contact)
    return found


def account_recipients(s: Session, accounts: Sequence[Account]) -> List[Recipient]:
    """Everyone to tell about something concerning these accounts: each bound contact (WeChat users, SMS
    customers), then each account's registered phone (only if no bound WeChat user gets it). One per person."""
    bound = _bound_contacts(s, [a.id for a in accounts])
    people: Dict[str, Recipient] = {}
    for account in accounts:
        for contact in bound.get(account.id, []):
            key = person_of_contact(contact)
            if key not in people or people[key].only_if_unreached:
                phone = contact.external_id if contact.channel == "sms" else None
                people[key] = Recipient(key, contact.id, account.id, phone)
    for account in accounts:
        if not account.phone_hash or not account.phone:
            continue
        key = "p:" + account.phone_hash
        if key not in people:
            people[key] = Recipient(key, None, account.id, account.phone, only_if_unreached=True)
    return list(people.values())


def _wechat_users_of_phones(s: Session, phones: Sequence[Recipient]) -> List[Tuple[int, int]]:
    """``(account id, contact id)`` of the WeChat users bound (now) to the accounts of these phone
    recipients: their own ``account_id``, or any account registered to the phone."""
    hashes = sorted({r.person_key[2:] for r in phones if r.person_key.startswith("p:")})
    account_ids = sorted({r.account_id for r in phones if r.account_id is not None})
    found: Dict[Tuple[int, int], None] = {}
    for i in range(0, max(len(hashes), len(account_ids)), 500):
        match = or_(Account.phone_hash.in_(hashes[i:i + 500]), Account.id.in_(account_ids[i:i + 500]))
        q = (select(Binding.account_id, Contact.id).join(Contact, Contact.id == Binding.contact_id)
             .join(Account, Account.id == Binding.account_id)
             .where(match, Binding.unbound_at.is_(None), Contact.channel == "wechat").order_by(Contact.id))
        for account_id, contact_id in s.execute(q):
            found[(account_id, contact_id)] = None
    return list(found)


def one_channel(s: Session, recipients: Iterable[Recipient]) -> List[Recipient]:
    """The recipients with every phone that is the registered phone of an account a WeChat user has bound
    marked ``only_if_unreached``: it gets the SMS only when no WeChat user bound to such an account got the
    notice (an SMS customer who later bound their account in WeChat hears it once, on WeChat)."""
    people = list(recipients)
    phones = [r for r in people if r.person_key.startswith("p:") and not r.only_if_unreached]
    if not phones:
        return people
    hashes = [r.person_key[2:] for r in phones]
    covered: Set[str] = set()
    for i in range(0, len(hashes), 500):
        q = (select(Account.phone_hash).join(Binding, Binding.account_id == Account.id)
             .join(Contact, Contact.id == Binding.contact_id)
             .where(Account.phone_hash.in_(hashes[i:i + 500]), Binding.unbound_at.is_(None),
                    Contact.channel == "wechat").distinct())
        covered.update(s.scalars(q))
    return [replace(r, only_if_unreached=True) if r.person_key.startswith("p:") and r.person_key[2:] in covered
            else r for r in people]


def area_accounts(s: Session, township: str, villages: Sequence[str]) -> List[Account]:
    """Accounts in the township (only those villages, when any are named); their holders' names are not
    loaded (planning a village's notices needs the phones, not the names)."""
    q = select(Account).where(Account.township == township).options(defer(Account.name))
    if villages:
        q = q.where(Account.village.in_(list(villages)))
    return list(s.scalars(q.order_by(Account.id)))


def _contact_phone(s: Session, contact: Contact) -> Optional[str]:
    if contact.channel == "sms":
        return contact.external_id
    q = (select(Account.phone).join(Binding, Binding.account_id == Account.id)
         .where(Binding.contact_id == contact.id, Binding.unbound_at.is_(None), Account.phone.is_not(None))
         .order_by(Binding.id).limit(1))
    return s.scalar(q)


def ticket_recipients(s: Session, ticket: Ticket) -> List[Recipient]:
    """The customer who opened the ticket and those who joined it; a WeChat user's SMS fallback is the
    ticket's call-back phone, else a bound account's registered phone."""
    ids = [ticket.contact_id] if ticket.contact_id else []
    ids += [cid for (cid,) in s.execute(select(TicketFollower.contact_id).where(TicketFollower.ticket_id == ticket.id)
                                        .order_by(TicketFollower.id)) if cid not in ids]
    people: Dict[str, Recipient] = {}
    for contact_id in ids:
        contact = s.get(Contact, contact_id)
        if contact is None or contact.channel not in ("wechat", "sms"):
            continue
        key = person_of_contact(contact)
        phone = contact.external_id if contact.channel == "sms" else (
            (ticket.callback_phone if contact_id == ticket.contact_id else None) or _contact_phone(s, contact))
        people.setdefault(key, Recipient(key, contact.id, ticket.account_id, phone))
    return list(people.values())


# --- preferences -------------------------------------------------------------------------------------------


def set_preference(s: Session, person_key: str, topic: str, enabled: bool, now: Optional[datetime] = None) -> None:
    """Turn a topic of notices (``outage`` or ``bill``) off or on for a person. ValueError for another topic."""
    if topic not in OPTIONAL_TOPICS:
        raise ValueError(f"topic must be one of {', '.join(OPTIONAL_TOPICS)}")
    pref = s.scalar(select(NoticePreference).where(NoticePreference.person_key == person_key,
                                                   NoticePreference.topic == topic))
    if pref is None:
        s.add(NoticePreference(person_key=person_key, topic=topic, enabled=enabled, updated_at=now or utcnow()))
    else:
        pref.enabled, pref.updated_at = enabled, now or utcnow()
    s.flush()


def opted_out(s: Session, person_key: str, topic: str) -> bool:
    """Has this person turned this topic off?"""
    return s.scalar(select(NoticePreference.enabled).where(NoticePreference.person_key == person_key,
                                                           NoticePreference.topic == topic)) is False


# --- planning ----------------------------------------------------------------------------------------------


def plan(s: Session, *, event_key: str, kind: str, topic: str, recipients: Iterable[Recipient], text: str,
         urgent: bool, now: datetime, quiet: Optional[QuietHours] = None,
         template: Optional[Dict[str, str]] = None, not_before: Optional[datetime] = None) -> int:
    """Record one notice per recipient for an event (those already recorded are left alone); returns how
    many are new. A notice not ``urgent`` waits for the end of the quiet hours; ``not_before`` (naive UTC)
    delays it further. A customer gets it on one channel (:func:`one_channel`)."""
    due = not_before or now
    if not urgent:
        due = (quiet or quiet_hours()).release(due)
    existing: Set[str] = set(s.scalars(select(Notice.person_key).where(Notice.event_key == event_key)))
    body = messages.NOTICE_SIGNATURE + text
    rows = []
    for r in one_channel(s, (r for r in recipients if r.person_key not in existing)):
        if r.person_key in existing:
            continue
        existing.add(r.person_key)
        rows.append(dict(key=f"{event_key}|{r.person_key}", event_key=event_key, kind=kind, topic=topic,
                         person_key=r.person_key, contact_id=r.contact_id, account_id=r.account_id, phone=r.phone,
                         only_if_unreached=r.only_if_unreached, text=body, template=template, urgent=urgent,
                         not_before=due, status="pending", attempts=0, created_at=now))
    if rows:
        s.flush()
        # one statement for a whole village (thousands of rows); a notice another worker planned for the
        # same event meanwhile (a ticket's job and the minute's sweep at once) is left alone, not an error
        new = (postgresql.insert if s.get_bind().dialect.name == "postgresql" else sqlite.insert)(Notice)
        s.execute(new.on_conflict_do_nothing(index_elements=["key"]), rows)
    return len(rows)


_quiet: Optional[QuietHours] = None


def configure(quiet: QuietHours) -> None:
    """Set the process's quiet hours (done once at start-up from ``NOTICE_QUIET_HOURS``)."""
    global _quiet
    _quiet = quiet


def quiet_hours() -> QuietHours:
    """The process's quiet hours (``NOTICE_QUIET_HOURS``, read at start-up)."""
    global _quiet
    if _quiet is None:
        _quiet = QuietHours.parse(get_settings().notice_quiet_hours)
    return _quiet


def _place(outage: Outage) -> str:
    return outage.township + ("".join(outage.village_list) if len(outage.village_list) <= 3
                              else "".join(outage.village_list[:3]) + "等村")


def _outage_text(outage: Outage, name: str, now: datetime, rules: Rules) -> str:
    at = outage.restored_at or now
    return messages.NOTICE_TEXTS[name].format(
        place=_place(outage), start=fmt_local(outage.start), end=fmt_local(outage.end), eta=fmt_local(outage.end),
        reason=outage.reason or "设备检修", at=fmt_local(at), days=rules.sla.planned_outage_notice_days)


def told_in_chat(s: Session, outage: Outage, contact: Contact, now: Optional[datetime] = None) -> str:
    """A customer wrote in from a fault outage's area and the bot told them its cause and ETA: recorded as
    their notice of it (status ``answered``, not pushed again), so its restoration reaches them. Returns the
    text the bot says (the notice's own words)."""
    now = now or utcnow()
    name = "fault" if outage.kind == "fault" else "planned"
    text = _outage_text(outage, name, now, get_rules())
    event_key = f"outage:{outage.outage_id}:announce:{outage.revision}"
    person = person_of_contact(contact)
    notice = s.scalar(select(Notice).where(Notice.key == f"{event_key}|{person}"))
    if notice is None:
        s.add(Notice(key=f"{event_key}|{person}", event_key=event_key, kind=name, topic="outage", person_key=person,
                     contact_id=contact.id, phone=contact.external_id if contact.channel == "sms" else None,
                     only_if_unreached=False, text=messages.NOTICE_SIGNATURE + text, urgent=True, not_before=now,
                     status="answered", attempts=0, created_at=now))
    elif notice.status == "pending":
        notice.status = "answered"
    s.flush()
    return text


def _told(s: Session, outage: Outage) -> List[Recipient]:
    """Everyone an earlier notice about this outage reached (or may have reached), or the bot told; and the
    WeChat users bound since to the accounts of phones told by SMS (they hear it on WeChat now, the phone only
    if none of them gets it)."""
    q = (select(Notice).where(Notice.event_key.like(f"outage:{outage.outage_id}:%"),
                              Notice.status.in_(("sent", "unknown", "answered"))).order_by(Notice.id))
    people: Dict[str, Recipient] = {}
    for n in s.scalars(q):
        people.setdefault(n.person_key, Recipient(n.person_key, n.contact_id, n.account_id, n.phone,
                                                  only_if_unreached=bool(n.only_if_unreached)))
    phones = [r for r in people.values() if r.person_key.startswith("p:")]
    for account_id, contact_id in _wechat_users_of_phones(s, phones):
        people.setdefault(f"w:{contact_id}", Recipient(f"w:{contact_id}", contact_id, account_id))
    return list(people.values())


def _withdraw(s: Session, outage: Outage) -> Set[str]:
    """Withdraw the notices about this outage not yet sent; the people they were for."""
    q = select(Notice).where(Notice.event_key.like(f"outage:{outage.outage_id}:%"), Notice.status == "pending")
    people = set()
    for n in s.scalars(q):
        n.status = "withdrawn"
        people.add(n.person_key)
    return people


def _reporters(s: Session, outage: Outage) -> List[Recipient]:
    """Customers who reported a repair in the fault's area since shortly before it began, and their followers."""
    q = select(Ticket).where(Ticket.type == "repair", Ticket.township == outage.township,
                             Ticket.created_at >= outage.start - timedelta(hours=2), Ticket.status != "cancelled")
    if outage.village_list:
        q = q.where(Ticket.village.in_(outage.village_list))
    people: Dict[str, Recipient] = {}
    for ticket in s.scalars(q.order_by(Ticket.id)):
        for r in ticket_recipients(s, ticket):
            people.setdefault(r.person_key, r)
    return list(people.values())


def plan_outage(s: Session, outage: Outage, event: str, now: Optional[datetime] = None,
                rules: Optional[Rules] = None) -> int:
    """Plan the notices an outage event calls for; returns how many are new.

    ``event``: ``announce`` (registered), ``changed`` (place or times changed), ``cancelled``, ``restored``,
    ``reminder`` (the day before a planned outage). A planned outage announced less than
    ``planned_outage_notice_days`` ahead says it is at short notice (供电服务承诺: 7 days). Key customers in the
    area of a planned outage go on the 供电所's call list. Fault notices are urgent (any hour).
    """
    now = now or utcnow()
    rules = rules or get_rules()
    fault = outage.kind == "fault"
    event_key = f"outage:{outage.outage_id}:{event}:{outage.revision}"
    urgent = fault
    if event in ("announce", "changed", "reminder"):
        accounts = area_accounts(s, outage.township, outage.village_list)
        recipients = account_recipients(s, accounts)
        if fault:
            recipients = _merge(_reporters(s, outage), recipients)
        if event == "changed":
            _withdraw(s, outage)
            recipients = _merge(_told(s, outage), recipients)
            name = "fault_changed" if fault else "planned_changed"
        elif event == "reminder":
            name = "planned_reminder"
        elif fault:
            name = "fault"
        else:
            short = outage.start - now < timedelta(days=rules.sla.planned_outage_notice_days)
            name = "planned_short" if short else "planned"
        if not fault and event != "reminder":
            _call_list(s, outage, accounts, now)
    elif event == "cancelled":
        _withdraw(s, outage)
        recipients = _told(s, outage)
        name = "planned_cancelled"
    elif event == "restored":
        _withdraw(s, outage)
        recipients = _merge(_told(s, outage), _reporters(s, outage) if fault else [])
        name = "fault_restored" if fault else "planned_restored"
        urgent = True
    else:
        raise ValueError(f"unknown outage event {event!r}")
    text = _outage_text(outage, name, now, rules)
    template = {"place": _place(outage), "time": f"{fmt_local(outage.start)}—{fmt_local(outage.end)}",
                "content": text}
    return plan(s, event_key=event_key, kind=name, topic="outage", recipients=recipients, text=text,
                urgent=urgent, now=now, template=template)


def _merge(first: List[Recipient], second: List[Recipient]) -> List[Recipient]:
    people = {r.person_key: r for r in first}
    for r in second:
        people.setdefault(r.person_key, r)
    return list(people.values())


def _call_list(s: Session, outage: Outage, accounts: Sequence[Account], now: datetime) -> None:
    key_customers = [a for a in accounts if a.key_customer]
    listed = set(s.scalars(select(OutageCall.account_id).where(OutageCall.outage_pk == outage.id)))
    for a in key_customers:
        if a.id not in listed:
            s.add(OutageCall(outage_pk=outage.id, account_id=a.id, reason=a.key_customer_reason, created_at=now))
    s.flush()


def call_list(s: Session, outage: Outage) -> List[OutageCall]:
    """Key customers (重点关爱客户) the 供电所 should call before this planned outage."""
    return list(s.scalars(select(OutageCall).where(OutageCall.outage_pk == outage.id).order_by(OutageCall.id)))


def plan_reminders(s: Session, now: Optional[datetime] = None, rules: Optional[Rules] = None) -> int:
    """The day-before reminder for planned outages starting tomorrow (local date); returns notices planned."""
    now = now or utcnow()
    tomorrow = local_today(now) + timedelta(days=1)
    lo = local_to_utc(datetime.combine(tomorrow, time(0)))
    hi = lo + timedelta(days=1)
    q = select(Outage).where(Outage.kind == "planned", Outage.status == "scheduled", Outage.start >= lo,
                             Outage.start < hi)
    return sum(plan_outage(s, o, "reminder", now, rules) for o in s.scalars(q))


# --- tickets -----------------------------------------------------------------------------------------------


def plan_ticket_event(s: Session, event: TicketEvent, now: Optional[datetime] = None) -> int:
    """Plan the notices a ticket status change calls for (dispatched with crew and ETA, on site, resolved
    with the rating request, reopened after resolved); other changes notify nobody. Returns notices planned."""
    now = now or utcnow()
    if event.status not in TICKET_NOTICE_STATUSES:
        return 0
    ticket = s.get(Ticket, event.ticket_id)
    if ticket is None:
        return 0
    if event.status == "open":
        before = s.scalar(select(TicketEvent.status).where(TicketEvent.ticket_id == ticket.id,
                                                           TicketEvent.id < event.id)
                          .order_by(TicketEvent.id.desc()).limit(1))
        if before != "resolved":
            return 0
        name = "ticket_reopened"
    elif ticket.type not in FIELD_TICKET_TYPES:  # complaints, applications …: only the outcome, and the rating
        if event.status != "resolved":
            return 0
        name = "ticket_resolved_other"
    elif event.status == "dispatched":
        name = "ticket_dispatched" if ticket.eta else "ticket_dispatched_no_eta"
    elif event.status == "resolved" and ticket.type == "hazard":  # made safe: no "还没来电" to offer
        name = "ticket_resolved_hazard"
    else:
        name = f"ticket_{event.status}"
    crew = (messages.NOTICE_CREW.format(name=ticket.crew.name) if ticket.crew is not None
            else messages.NOTICE_CREW_UNKNOWN)
    text = messages.NOTICE_TEXTS[name].format(ticket_no=ticket.ticket_no, crew=crew,
                                              type=messages.TICKET_TYPE_LABELS.get(ticket.type, ""),
                                              eta=fmt_local(ticket.eta) if ticket.eta else "")
    template = {"ticket_no": ticket.ticket_no, "status": messages.STATUS_LABELS.get(event.status, ""),
                "content": text}
    recipients = ticket_recipients(s, ticket)
    if event.actor.startswith(CUSTOMER_ACTOR):  # the customer who reopened it was answered in the chat
        actor = contacts.by_sender(s, event.actor[len(CUSTOMER_ACTOR):])
        recipients = [r for r in recipients if actor is None or r.contact_id != actor.id]
    kind = name.replace("_no_eta", "").replace("_other", "").replace("_hazard", "")
    return plan(s, event_key=f"ticket-event:{event.id}", kind=kind, topic="ticket",
                recipients=recipients, text=text, urgent=True, now=now, template=template)


#: How an action names the customer acting on a ticket (TicketEvent.actor).
CUSTOMER_ACTOR = "customer:"
#: A "还没来电" reply reopens a repair ticket resolved at most this long ago.
REOPEN_WINDOW = timedelta(hours=72)
#: A rating reply counts for a resolved notice sent at most this long ago.
RATING_WINDOW = timedelta(days=7)


def reopen_not_restored(s: Session, contact: Contact, now: Optional[datetime] = None) -> Optional[Ticket]:
    """The customer replied "还没来电" to a resolved notice: their latest repair ticket (opened or followed)
    resolved within ``REOPEN_WINDOW`` goes back to ``open`` (audited, as the customer). None when there is
    none (then it is a new outage report)."""
    now = now or utcnow()
    for ticket in tickets.for_contact(s, contact, limit=5, types=["repair"]):
        if ticket.status != "resolved" or ticket.merged_into_id is not None:
            continue
        resolved_at = max((e.at for e in ticket.events if e.status == "resolved"), default=None)
        if resolved_at is not None and now - resolved_at <= REOPEN_WINDOW:
            dispatch.transition(s, ticket, "open", actor=CUSTOMER_ACTOR + contact.sender_id,
                                note=messages.NOTICE_REOPEN_NOTE, now=now)
            return ticket
    return None


def awaiting_rating(s: Session, contact: Contact, now: Optional[datetime] = None) -> Optional[int]:
    """The ticket (id) whose resolved notice, with its rating request, reached this customer within
    ``RATING_WINDOW`` and that they have not rated yet; None otherwise."""
    now = now or utcnow()
    q = (select(Notice.event_key)
         .where(Notice.contact_id == contact.id, Notice.kind == "ticket_resolved", Notice.status == "sent",
                Notice.sent_at >= now - RATING_WINDOW)
         .order_by(Notice.sent_at.desc()))
    rated = set(s.scalars(select(SatisfactionRating.ticket_id).where(SatisfactionRating.contact_id == contact.id,
                                                                     SatisfactionRating.ticket_id.is_not(None))))
    for event_key in s.scalars(q):
        event = s.get(TicketEvent, int(event_key.split(":", 1)[1]))
        if event is not None and event.ticket_id not in rated:
            return event.ticket_id
    return None


def plan_recent_ticket_events(s: Session, now: Optional[datetime] = None, hours: int = 24) -> int:
    """Plan notices for the ticket status changes of the last ``hours`` that have none yet (the worker's
    scan: every status change writes a TicketEvent in its own transaction, this finds it)."""
    now = now or utcnow()
    noticed = select(Notice.event_key).where(Notice.event_key.like("ticket-event:%"))
    planned = {k for (k,) in s.execute(noticed.where(Notice.created_at >= now - timedelta(hours=hours + 1)))}
    q = select(TicketEvent).where(TicketEvent.at >= now - timedelta(hours=hours),
                                  TicketEvent.status.in_(TICKET_NOTICE_STATUSES)).order_by(TicketEvent.id)
    return sum(plan_ticket_event(s, e, now) for e in s.scalars(q) if f"ticket-event:{e.id}" not in planned)


def plan_escalations(s: Session, changes: Sequence[Change], phone: str, now: Optional[datetime] = None) -> int:
    """An SMS to the on-duty supervisor (``ESCALATION_SMS_TO``) for each ticket newly put on the escalation
    list (the back office's escalation scan). Returns notices planned."""
    now = now or utcnow()
    total = 0
    supervisor = Recipient(person_of_phone(phone), phone=phone)
    for change in changes:
        ticket_no = change.ticket_no
        text = messages.NOTICE_ESCALATED.format(
            ticket_no=ticket_no, type=messages.TICKET_TYPE_LABELS.get(change.ticket_type, ""),
            township=change.township or "")
        total += plan(s, event_key=f"escalated:{ticket_no}", kind="escalated", topic="staff", recipients=[supervisor],
                      text=text, urgent=True, now=now)
    return total


# --- bills -------------------------------------------------------------------------------------------------


def plan_bill_notices(s: Session, now: Optional[datetime] = None, rules: Optional[Rules] = None) -> int:
    """Bill reminders ``bill_reminder_days`` before the due date of unpaid bills, a notice on the first days
    late fees accrue (the day after the due date, or the day after that if missed), and prepaid accounts
    whose estimated days left are under ``prepaid.low_balance_days`` (at most once a week while low).
    Returns notices planned."""
    now = now or utcnow()
    rules = rules or get_rules()
    today = local_today(now)
    total = 0
    due_day = today + timedelta(days=rules.bill_reminder_days)
    reminders = select(Bill).where(Bill.paid_at.is_(None), Bill.due_date > today, Bill.due_date <= due_day)
    late = select(Bill).where(Bill.paid_at.is_(None), Bill.due_date < today,
                              Bill.due_date >= today - timedelta(days=2))
    for name, q in (("bill_due", reminders), ("bill_overdue", late)):
        for bill in s.scalars(q.order_by(Bill.id)):
            account = bill.account
            text = messages.NOTICE_TEXTS[name].format(
                account_no=account.account_no, period=_period(bill.period), amount=_yuan(bill.amount),
                due=f"{bill.due_date.month}月{bill.due_date.day}日")
            total += plan(s, event_key=f"bill:{bill.id}:{name}", kind=name, topic="bill",
                          recipients=account_recipients(s, [account]), text=text, urgent=False, now=now,
                          template={"account_no": account.account_no, "amount": _yuan(bill.amount), "content": text})
    week = today - timedelta(days=today.weekday())
    for account in s.scalars(select(Account).where(Account.prepaid.is_(True)).order_by(Account.id)):
        days = accounts_domain.prepaid_days_left(s, account)
        if days is None or days >= rules.prepaid_low_balance_days:
            continue
        text = messages.NOTICE_TEXTS["prepaid_low"].format(account_no=account.account_no,
                                                           balance=_yuan(account.balance), days=days)
        total += plan(s, event_key=f"prepaid-low:{account.id}:{week.isoformat()}", kind="prepaid_low",
                      topic="bill", recipients=account_recipients(s, [account]), text=text, urgent=False, now=now,
                      template={"account_no": account.account_no, "amount": _yuan(account.balance), "content": text})
    return total


def _period(period: str) -> str:
    y, m = period.split("-")
    return f"{int(y)}年{int(m)}月"


def _yuan(amount: Decimal) -> str:
    return f"{Decimal(amount):.2f}"


# --- sending: claims and outcomes --------------------------------------------------------------------------


@dataclass(frozen=True)
class Job:
    """Everything the sender needs for one claimed notice (decrypted; kept in memory only)."""

    notice_id: int
    person_key: str
    kind: str
    topic: str
    text: str
    template: Optional[Dict[str, str]]
    contact_id: Optional[int]
    sender_id: Optional[str]  # the contact's conversation, where a WeChat notice is kept in the transcript
    channel: str  # wechat | sms
    openid: Optional[str]
    contact_active: bool
    within_window: bool  # the customer wrote within 48 h: a customer-service message is allowed
    phone: Optional[str]
    attempts: int  # including this one
    claim_token: str = ""  # the claim that took it: only that claim may send and mark it


#: The transcript author of a notice (agents and the simulator see notices in the conversation).
TRANSCRIPT_AUTHOR = "notice"

#: WeChat's customer-service window after the customer's last message.
SERVICE_WINDOW = timedelta(hours=48)


#: A WeChat user's notice in one of these states covers the registered phone of their account: it reached
#: them (or may have), they chose not to hear it, or the bot told them in the chat.
COVERING = frozenset({"sent", "opted_out", "unknown", "answered"})


@dataclass(frozen=True)
class _Candidate:
    id: int
    person_key: str
    topic: str
    event_key: str
    account_id: Optional[int]
    only_if_unreached: bool


def _coverage(s: Session, phones: Sequence[_Candidate]) -> Dict[int, Optional[str]]:
    """For registered phones' notices (``only_if_unreached``), by notice id: ``covered`` when a WeChat user
    bound to its account (or to an account registered to the phone) got the event (or chose not to),
    ``wait`` while one may still get it, None when the SMS should go. A few queries for the whole batch."""
    verdicts: Dict[int, Optional[str]] = {c.id: None for c in phones}
    if not phones:
        return verdicts
    pairs = _wechat_users_of_phones(s, [Recipient(c.person_key, account_id=c.account_id) for c in phones])
    by_account: Dict[int, Set[str]] = {}
    for account_id, contact_id in pairs:
        by_account.setdefault(account_id, set()).add(f"w:{contact_id}")
    by_phone: Dict[str, Set[str]] = {}
    hashes = sorted({c.person_key[2:] for c in phones if c.person_key.startswith("p:")})
    for i in range(0, len(hashes), 500):
        q = select(Account.id, Account.phone_hash).where(Account.phone_hash.in_(hashes[i:i + 500]))
        for account_id, h in s.execute(q):
            by_phone.setdefault(h, set()).update(by_account.get(account_id, set()))
    wanted = {c.id: (by_account.get(c.account_id, set()) if c.account_id is not None else set())
              | by_phone.get(c.person_key[2:], set()) for c in phones}
    persons = sorted(set().union(*wanted.values()))
    events = sorted({c.event_key for c in phones if wanted[c.id]})
    statuses: Dict[Tuple[str, str], str] = {}
    for i in range(0, len(persons), 500):
        q = select(Notice.event_key, Notice.person_key, Notice.status).where(
            Notice.event_key.in_(events), Notice.person_key.in_(persons[i:i + 500]))
        statuses.update({(e, p): st for e, p, st in s.execute(q)})
    for c in phones:
        seen = {statuses[(c.event_key, p)] for p in wanted[c.id] if (c.event_key, p) in statuses}
        if seen & COVERING:
            verdicts[c.id] = "covered"
        elif seen & {"pending", "sending"}:
            verdicts[c.id] = "wait"
    return verdicts


def claim_due(s: Session, now: Optional[datetime] = None, limit: int = 200) -> List[Job]:
    """Claim up to ``limit`` notices that are due (pending, ``not_before`` passed), oldest first, with one
    conditional UPDATE (``pending`` → ``sending``, with a token of this claim) and read back the rows that
    carry the token, so two workers never both take one. Notices for opted-out people are closed
    ``opted_out``; a registered phone's notice waits until the WeChat users of its account are done and is
    closed ``covered`` when one of them got it. Commit before sending."""
    now = now or utcnow()
    q = (select(Notice.id, Notice.person_key, Notice.topic, Notice.event_key, Notice.account_id,
                Notice.only_if_unreached)
         .where(Notice.status == "pending", Notice.not_before <= now)
         .order_by(Notice.only_if_unreached, Notice.id).limit(limit * 2))
    if s.get_bind().dialect.name == "postgresql":
        q = q.with_for_update(skip_locked=True)  # concurrent workers take different rows
    candidates = [_Candidate(*row) for row in s.execute(q)]
    if not candidates:
        return []
    prefs = _disabled(s, {c.person_key for c in candidates if c.topic in OPTIONAL_TOPICS})
    opted = [c.id for c in candidates if c.topic in OPTIONAL_TOPICS and (c.person_key, c.topic) in prefs]
    skip = set(opted)
    verdicts = _coverage(s, [c for c in candidates if c.only_if_unreached and c.id not in skip])
    take: List[int] = []
    covered: List[int] = []
    for c in candidates:
        if len(take) >= limit:
            break
        if c.id in skip:
            continue
        verdict = verdicts.get(c.id) if c.only_if_unreached else None
        if verdict == "covered":
            covered.append(c.id)
        elif verdict is None:
            take.append(c.id)
    for status, ids in (("opted_out", opted), ("covered", covered)):
        if ids:
            s.execute(update(Notice).where(Notice.id.in_(ids), Notice.status == "pending")
                      .values(status=status, claimed_at=now).execution_options(synchronize_session="evaluate"))
    if not take:
        return []
    token = secrets.token_hex(16)
    s.execute(update(Notice).where(Notice.id.in_(take), Notice.status == "pending")
              .values(status="sending", claimed_at=now, claim_token=token, attempts=Notice.attempts + 1)
              .execution_options(synchronize_session=False))
    claimed = s.scalars(select(Notice).where(Notice.id.in_(take), Notice.claim_token == token)
                        .order_by(Notice.only_if_unreached, Notice.id)
                        .execution_options(populate_existing=True)).all()
    contact_ids = {n.contact_id for n in claimed if n.contact_id}
    people = ({c.id: c for c in s.scalars(select(Contact).where(Contact.id.in_(contact_ids)))} if contact_ids
              else {})
    jobs: List[Job] = []
    for notice in claimed:
        contact = people.get(notice.contact_id) if notice.contact_id else None
        wechat = contact if contact is not None and contact.channel == "wechat" else None
        jobs.append(Job(
            notice_id=notice.id, person_key=notice.person_key, kind=notice.kind, topic=notice.topic,
            text=notice.text, template=notice.template, contact_id=notice.contact_id,
            sender_id=contact.sender_id if contact is not None else None,
            channel="wechat" if wechat else "sms", openid=wechat.external_id if wechat else None,
            contact_active=contact.active if contact is not None else True,
            within_window=bool(wechat and wechat.last_inbound_at and now - wechat.last_inbound_at < SERVICE_WINDOW),
            phone=notice.phone, attempts=notice.attempts, claim_token=token,
        ))
    return jobs


def _disabled(s: Session, persons: Set[str]) -> Set[Tuple[str, str]]:
    """(person, topic) pairs turned off, among these persons."""
    found: Set[Tuple[str, str]] = set()
    keys = sorted(persons)
    for i in range(0, len(keys), 500):
        q = select(NoticePreference.person_key, NoticePreference.topic).where(
            NoticePreference.enabled.is_(False), NoticePreference.person_key.in_(keys[i:i + 500]))
        found.update((p, t) for p, t in s.execute(q))
    return found


Outcome = Tuple[int, str, Optional[str], Optional[str], Optional[datetime]]

_notices = Notice.__table__
#: One statement for every outcome (executed for many at once): only a notice still ``sending`` changes.
_FINISH = (update(_notices).where(_notices.c.id == bindparam("b_id"), _notices.c.status == "sending")
           .values(status=bindparam("b_status", type_=String),
                   not_before=func.coalesce(bindparam("b_not_before", type_=DateTime), _notices.c.not_before),
                   sent_at=func.coalesce(bindparam("b_sent_at", type_=DateTime), _notices.c.sent_at),
                   channel=func.coalesce(bindparam("b_channel", type_=String), _notices.c.channel),
                   error=func.coalesce(bindparam("b_error", type_=Text), _notices.c.error)))


_FINISH_CLAIMED = _FINISH.where(_notices.c.claim_token == bindparam("b_token", type_=String))


def finish_many(s: Session, outcomes: Sequence[Outcome], now: Optional[datetime] = None,
                tokens: Optional[Dict[int, str]] = None) -> None:
    """Record how claimed notices went, ``(notice_id, status, channel, error, retry_at)`` each: ``sent``
    (``sent_at`` = ``now``), ``failed``/``suppressed``, or back to ``pending`` at ``retry_at`` (naive UTC) for a
    transient error. One statement for all; a notice no longer ``sending`` (settled already) is left alone,
    so a mark is idempotent. With ``tokens`` (notice id → claim token, as :class:`Job` carries it) only a
    notice still held by that claim is marked: a worker whose claim went stale (settled by
    :func:`recover_stale` and claimed again by another) cannot mark what the other is sending."""
    if not outcomes:
        return
    now = now or utcnow()
    s.flush()
    rows = [dict(b_id=notice_id, b_status="pending" if retry_at is not None else status, b_not_before=retry_at,
                 b_sent_at=now if status == "sent" and retry_at is None else None, b_channel=channel or None,
                 b_error=error[:2000] if error else None, b_token=(tokens or {}).get(notice_id, ""))
            for notice_id, status, channel, error, retry_at in outcomes]
    if tokens is None:
        for row in rows:
            del row["b_token"]
    s.connection().execute(_FINISH_CLAIMED if tokens is not None else _FINISH, rows)
    ids = {o[0] for o in outcomes}
    for obj in list(s.identity_map.values()):  # notices this session holds are read again
        if isinstance(obj, Notice) and obj.id in ids:
            s.expire(obj)


def finish(s: Session, notice_id: int, status: str, channel: Optional[str] = None, error: Optional[str] = None,
           retry_at: Optional[datetime] = None, now: Optional[datetime] = None) -> None:
    """Record how a claimed notice went (see :func:`finish_many`)."""
    finish_many(s, [(notice_id, status, channel, error, retry_at)], now)


def still_claimed(s: Session, claims: Sequence[Tuple[int, str]]) -> Set[int]:
    """Of these ``(notice id, claim token)`` pairs, the notices still ``sending`` under that claim (checked
    again right before a message leaves: a claim settled as stale is not sent from)."""
    held: Set[int] = set()
    pairs = dict(claims)
    ids = sorted(pairs)
    for i in range(0, len(ids), 500):
        q = select(Notice.id, Notice.claim_token).where(Notice.id.in_(ids[i:i + 500]), Notice.status == "sending")
        held.update(nid for nid, token in s.execute(q) if token == pairs[nid])
    return held


def recover_stale(s: Session, older_than: timedelta, now: Optional[datetime] = None) -> Dict[str, int]:
    """Settle notices claimed longer than ``older_than`` ago by a worker that is gone (killed, crashed): a
    message the provider accepted → ``sent``; a message recorded but never answered → ``unknown`` (it may
    have gone; it is not sent again); no message, or only refused ones → ``pending`` (safe to send).
    Returns counts by outcome."""
    now = now or utcnow()
    q = select(Notice).where(Notice.status == "sending", Notice.claimed_at < now - older_than)
    counts = {"sent": 0, "unknown": 0, "pending": 0}
    for notice in s.scalars(q).all():
        rows = s.execute(select(OutboundMessage.status, OutboundMessage.provider_id, OutboundMessage.channel)
                         .where(OutboundMessage.notice_id == notice.id)).all()
        if any(st in ACCEPTED or pid for st, pid, _ch in rows):
            notice.status, notice.sent_at = "sent", now
            notice.channel = next(ch for st, pid, ch in rows if st in ACCEPTED or pid)
        elif any(st == "queued" for st, _pid, _ch in rows):
            notice.status = "unknown"
            notice.error = "worker stopped while the provider was being called"
        else:
            notice.status = "pending"
        counts[notice.status] += 1
    return counts


def due_count(s: Session, now: Optional[datetime] = None) -> int:
    """How many notices are waiting to go now."""
    now = now or utcnow()
    return s.scalar(select(func.count()).select_from(Notice).where(Notice.status == "pending",
                                                                  Notice.not_before <= now)) or 0


def next_due(s: Session, after: Optional[datetime] = None) -> Optional[datetime]:
    """When the earliest pending notice may go (naive UTC) — of those not due before ``after``, when
    given — or None."""
    q = select(func.min(Notice.not_before)).where(Notice.status == "pending")
    if after is not None:
        q = q.where(Notice.not_before > after)
    return s.scalar(q)


__all__ = ["QuietHours", "NO_QUIET_HOURS", "Recipient", "Job", "plan", "plan_outage", "plan_reminders",
           "plan_ticket_event", "plan_recent_ticket_events", "plan_bill_notices", "claim_due", "finish",
           "finish_many", "still_claimed", "recover_stale", "set_preference", "opted_out", "person_of_contact", "person_of_phone",
           "call_list", "one_channel",
           "configure", "quiet_hours", "due_count", "next_due"]
