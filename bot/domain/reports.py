"""What a report (outage, hazard, complaint) needs before a crew or a clerk can act on it: a place
that resolves to a township and village of the county (or a bound account), and a number to call
back. The rules of issue 13 (no ticket nobody can act on):

* a place is *resolved* when it names a township and a village the records know (bot.domain.places),
  or comes from a bound account; otherwise the customer is told what is missing and asked again,
  and after ``place_tries`` failed answers (service_rules.yml ``reports``) the ticket is filed with
  ``place_to_confirm`` — only then does the reply say someone will call to confirm it;
* a call-back number is an SMS customer's own phone, a bound account's registered phone the customer
  confirmed, or an 11-digit mobile number they gave (bot.domain.pii.normalize_phone).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import List, Optional

from sqlalchemy.orm import Session

from bot.domain import bindings, places
from bot.domain.models import Account, Contact
from bot.domain.pii import normalize_phone
from bot.domain.places import Place
from bot.domain.rules import Rules, ServicePoint, get_rules


@dataclass(frozen=True)
class PlaceCheck:
    """A typed place checked against the gazetteer.

    ``missing``: None (resolved: township and village), ``village`` (a township only) or ``place``
    (no township or village of the county at all)."""

    place: Place
    missing: Optional[str]

    @property
    def resolved(self) -> bool:
        return self.missing is None


def check_place(s: Session, text: str) -> PlaceCheck:
    """Does ``text`` name a township and a village of the county? (A village alone implies its township.)"""
    place = places.resolve(s, text or "")
    if place.township and place.village:
        return PlaceCheck(place, None)
    if place.township:
        return PlaceCheck(place, "village")
    return PlaceCheck(place, "place")


def account_place(account: Account) -> Place:
    """The place of a bound account (its township and village from the marketing system)."""
    return Place(account.township, account.village, account.area_type)


def own_phone(contact: Contact) -> Optional[str]:
    """An SMS customer's own number: texting from it shows it reaches them (None on WeChat)."""
    return contact.external_id if contact.channel == "sms" else None


def offerable_phone(s: Session, contact: Contact, account_no: Optional[str] = None) -> Optional[Account]:
    """The bound account whose registered phone to offer as the call-back number ("尾号5678的手机能联系到
    您吗？"): the account of the report when known, else the only bound account with a phone."""
    bound: List[Account] = [a for a in bindings.bound_accounts(s, contact) if a.phone]
    if account_no:
        chosen = [a for a in bound if a.account_no == account_no]
        if chosen:
            return chosen[0]
    return bound[0] if len(bound) == 1 else None


def service_point(township: Optional[str], rules: Rules | None = None) -> ServicePoint:
    """The 供电所 serving a township (the county service hall when unknown)."""
    return (rules or get_rules()).contacts.for_township(township)


def callback_number(text: str) -> Optional[str]:
    """The 11-digit mainland mobile number in a message — grouped (`139-1234-5678`, `139 1234 5678`),
    full-width or after +86 — normalised to 11 digits; None when there is none."""
    digits = re.sub(r"[\s\-－—]", "", (text or "").translate(str.maketrans("０１２３４５６７８９＋", "0123456789+")))
    for candidate in re.findall(r"(?<!\d)(?:\+?86)?(1\d{10})(?!\d)", digits):
        try:
            return normalize_phone(candidate)
        except ValueError:
            continue
    return None
