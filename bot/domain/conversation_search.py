"""Finding past conversations (hand-overs) by what a customer or a colleague quotes: a ticket number
(工单号), an account number (户号), or a phone number as the console shows it (``139****5678``, or
only its last four digits).

Which of the hand-overs found a staff member may see is not decided here: every hit goes through
:func:`bot.domain.handoffs.may_read`, the rule :func:`bot.domain.handoffs.read_scope` applies to
every read (supervisors all; an agent only the hand-overs they handled). Every search is audited
(``conversation.search``, with what kind of key was searched and how many hand-overs were shown,
never the key itself); opening a hit is a read, audited by ``read_scope``.

:func:`past_of` lists, for the agent's side panel, the other hand-overs of the customer in front of
them, under the same rule.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import List, Set

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from bot.domain import audit, handoffs
from bot.domain.accounts import normalize_account_no
from bot.domain.models import Account, Binding, Contact, Handoff, StaffUser, Ticket, TicketFollower
from bot.domain.pii import mask_phone
from bot.domain.tickets import TICKET_NO_PREFIX

MAX_HITS = 50
MASKED_PHONE_RE = re.compile(r"^1\d{2}\*{4}\d{4}$")
PHONE_TAIL_RE = re.compile(r"^\d{4}$")
TICKET_NO_RE = re.compile(rf"^{TICKET_NO_PREFIX}\d{{8,}}$")


class SearchError(ValueError):
    """The search key is none of the accepted forms (``reason`` = ``bad_query``)."""

    reason = "bad_query"


@dataclass(frozen=True)
class SearchKey:
    """A parsed search key: ``kind`` is ``ticket_no``, ``account_no``, ``masked_phone`` or ``phone_tail``."""

    kind: str
    value: str


def parse_key(raw: str) -> SearchKey:
    """What the searcher typed, recognised; :class:`SearchError` for anything else (a full phone
    number included: the console never shows one, so nobody searches by it)."""
    text = re.sub(r"\s", "", str(raw or "")).upper().replace("＊", "*")
    if TICKET_NO_RE.match(text):
        return SearchKey("ticket_no", text)
    if MASKED_PHONE_RE.match(text):
        return SearchKey("masked_phone", text)
    if PHONE_TAIL_RE.match(text):
        return SearchKey("phone_tail", text)
    try:
        return SearchKey("account_no", normalize_account_no(text))
    except ValueError:
        raise SearchError(text[:20]) from None


def _contact_ids(s: Session, key: SearchKey) -> Set[int]:
    """Customers (contacts) the key points to: who opened or follows the ticket or was ever bound to
    its account; who was ever bound to the account; whose phone (SMS number or a bound account's
    phone) shows as the masked number or ends with the tail."""
    if key.kind == "ticket_no":
        ticket = s.scalar(select(Ticket).where(Ticket.ticket_no == key.value))
        if ticket is None:
            return set()
        ids = {ticket.contact_id} if ticket.contact_id else set()
        ids |= set(s.scalars(select(TicketFollower.contact_id).where(TicketFollower.ticket_id == ticket.id)))
        if ticket.account_id:
            ids |= set(s.scalars(select(Binding.contact_id).where(Binding.account_id == ticket.account_id)))
        return ids
    if key.kind == "account_no":
        account_id = s.scalar(select(Account.id).where(Account.account_no == key.value))
        return set(s.scalars(select(Binding.contact_id).where(Binding.account_id == account_id))) if account_id else set()
    # phone numbers are stored encrypted: compare the masked form of the phones of customers who
    # were ever handed to an agent (a bounded set), never the clear number
    handed = select(Handoff.sender_id)
    candidates = s.scalars(select(Contact).where(
        or_(Contact.id.in_(select(Handoff.contact_id)), Contact.sender_id.in_(handed))))
    ids = set()
    for contact in candidates:
        phones = [contact.external_id] if contact.channel == "sms" else []
        phones += list(s.scalars(select(Account.phone).join(Binding, Binding.account_id == Account.id)
                                 .where(Binding.contact_id == contact.id)))
        for phone in phones:
            masked = mask_phone(phone)
            if masked and (masked == key.value if key.kind == "masked_phone" else masked[-4:] == key.value):
                ids.add(contact.id)
                break
    return ids


def search(s: Session, raw: str, reader: StaffUser, now: datetime | None = None) -> List[Handoff]:
    """The hand-overs of the customers ``raw`` points to that ``reader`` may read, newest first, at
    most :data:`MAX_HITS`. Audited as ``conversation.search`` (kind of key, number of hits).
    Raises :class:`SearchError` for a key of no accepted form."""
    key = parse_key(raw)  # a key of no accepted form searches nothing, so it has nothing to audit
    contact_ids = _contact_ids(s, key)
    found: List[Handoff] = []
    if contact_ids:
        senders = select(Contact.sender_id).where(Contact.id.in_(contact_ids))
        rows = s.scalars(select(Handoff).where(or_(Handoff.contact_id.in_(contact_ids),
                                                   Handoff.sender_id.in_(senders)))
                         .order_by(Handoff.requested_at.desc(), Handoff.id.desc()))
        found = [h for h in rows if handoffs.may_read(h, reader)][:MAX_HITS]
    audit.record(s, f"staff:{reader.username}", "conversation.search", "conversation", "", now=now, kind=key.kind, hits=len(found))
    return found


def past_of(s: Session, handoff: Handoff, contact: Contact | None, reader: StaffUser,
            limit: int = MAX_HITS) -> List[Handoff]:
    """The customer's other hand-overs that ``reader`` may read (:func:`bot.domain.handoffs.may_read`:
    supervisors all, an agent those they handled and waiting ones), newest first, at most ``limit``.

    The customer is the conversation of ``handoff`` (its sender id) and, when ``contact`` is given (the
    console passes it only while the hand-over is open, with the customer's current records), that
    contact and the contacts bound now to one of the accounts ``contact`` has bound now: the same
    household writing from another phone or channel. Not audited: the list gives dates, agents and
    reasons, never what was said; opening one is a read, audited by :func:`handoffs.read_scope`.
    """
    who = [Handoff.sender_id == handoff.sender_id]
    if contact is not None:
        accounts_now = select(Binding.account_id).where(Binding.contact_id == contact.id, Binding.unbound_at.is_(None))
        household = select(Binding.contact_id).where(Binding.account_id.in_(accounts_now), Binding.unbound_at.is_(None))
        contact_ids = or_(Contact.id == contact.id, Contact.id.in_(household))
        who += [Handoff.contact_id == contact.id, Handoff.contact_id.in_(household),
                Handoff.sender_id.in_(select(Contact.sender_id).where(contact_ids))]
    rows = s.scalars(select(Handoff).where(or_(*who), Handoff.id != handoff.id)
                     .order_by(Handoff.requested_at.desc(), Handoff.id.desc()))
    return [h for h in rows if handoffs.may_read(h, reader)][:limit]
