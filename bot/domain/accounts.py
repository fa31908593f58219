"""Accounts and their money: bills, arrears with late fees, prepaid days left, month comparisons.

These functions answer for an :class:`Account` the caller already holds. Whether the person asking
may see that account is decided before, by :func:`bot.domain.bindings.authorize`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import List, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import textnorm
from bot.clock import local_today
from bot.domain import tariffs
from bot.domain.models import OPEN_TICKET_STATUSES, Account, Bill, Ticket
from bot.domain.pii import normalize_phone, phone_hash
from bot.domain.rules import Rules, get_rules

ACCOUNT_NO_RE = re.compile(r"^(\d{10}|\d{13})$")


def normalize_account_no(raw: str) -> str:
    """A 10- or 13-digit 户号 from what a customer typed, in any grouping or digit width (``5100 0000 01``,
    ``５１００-００００-０１``, bot/textnorm.py); raises ValueError otherwise."""
    text = (raw or "").strip()
    spans = textnorm.find_numbers(text)
    whole = len(spans) == 1 and spans[0].start == 0 and spans[0].end == len(text)
    digits = spans[0].digits if whole else re.sub(r"[\s\-]", "", textnorm.to_halfwidth(text))
    if not ACCOUNT_NO_RE.match(digits):
        raise ValueError("户号应为10位或13位数字")
    return digits


def get_by_no(s: Session, account_no: str) -> Account | None:
    """The account with this number, or None (also for malformed input)."""
    try:
        number = normalize_account_no(account_no)
    except ValueError:
        return None
    return s.scalar(select(Account).where(Account.account_no == number))


def by_phone(s: Session, phone: str) -> List[Account]:
    """Accounts registered to a phone number (found by its keyed hash)."""
    try:
        h = phone_hash(normalize_phone(phone))
    except ValueError:
        return []
    return list(s.scalars(select(Account).where(Account.phone_hash == h).order_by(Account.account_no)))


def latest_bill(s: Session, account: Account) -> Bill | None:
    return s.scalar(select(Bill).where(Bill.account_id == account.id).order_by(Bill.period.desc()).limit(1))


def recent_bills(s: Session, account: Account, limit: int = 6) -> List[Bill]:
    """The account's latest ``limit`` bills, newest period first (amounts in 元, usage in kWh, due
    dates local dates; ``paid_at`` None while unpaid)."""
    q = select(Bill).where(Bill.account_id == account.id).order_by(Bill.period.desc()).limit(max(0, limit))
    return list(s.scalars(q))


def bills_for(s: Session, account: Account, periods: Sequence[str]) -> List[Bill]:
    """Bills of the given YYYY-MM periods that exist, oldest first."""
    if not periods:
        return []
    q = select(Bill).where(Bill.account_id == account.id, Bill.period.in_(list(periods))).order_by(Bill.period)
    return list(s.scalars(q))


def bill_for(s: Session, account: Account, period: str) -> Bill | None:
    return s.scalar(select(Bill).where(Bill.account_id == account.id, Bill.period == period))


@dataclass(frozen=True)
class Arrears:
    unpaid: List[Bill]
    amount: Decimal  # unpaid bill amounts
    late_fee: Decimal
    overdue: bool

    @property
    def total(self) -> Decimal:
        return self.amount + self.late_fee


def arrears(s: Session, account: Account, today: date | None = None, rules: Rules | None = None) -> Arrears:
    """Unpaid bills with the late fee accrued on each overdue one."""
    today = today or local_today()
    unpaid = list(
        s.scalars(select(Bill).where(Bill.account_id == account.id, Bill.paid_at.is_(None)).order_by(Bill.period))
    )
    amount = sum((b.amount for b in unpaid), Decimal("0.00"))
    fee = sum(
        (tariffs.late_fee(b.amount, b.due_date, today, account.category, rules) for b in unpaid), Decimal("0.00")
    )
    overdue = any(b.due_date < today for b in unpaid)
    return Arrears(unpaid, amount, fee, overdue)


def average_daily_cost(s: Session, account: Account, months: int = 3) -> Decimal | None:
    """Mean cost per day over the latest ``months`` bills (None without history)."""
    recent = list(
        s.scalars(select(Bill).where(Bill.account_id == account.id).order_by(Bill.period.desc()).limit(months))
    )
    if not recent:
        return None
    days = 0
    for b in recent:
        y, m = (int(x) for x in b.period.split("-"))
        nxt = date(y + (m == 12), m % 12 + 1, 1)
        days += (nxt - date(y, m, 1)).days
    total = sum((b.amount for b in recent), Decimal(0))
    return (total / days) if days and total > 0 else None


def prepaid_days_left(s: Session, account: Account) -> int | None:
    """Estimated days until a prepaid (费控) balance runs out; 0 when already negative."""
    if not account.prepaid:
        return None
    if account.balance <= 0:
        return 0
    daily = average_daily_cost(s, account)
    if daily is None or daily <= 0:
        return None
    return int(account.balance / daily)


@dataclass(frozen=True)
class Comparison:
    bill: Bill
    previous: Bill | None
    last_year: Bill | None
    tier_reached: int


def _shift(period: str, months: int) -> str:
    y, m = (int(x) for x in period.split("-"))
    index = y * 12 + (m - 1) + months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def compare(s: Session, account: Account, bill: Bill, rules: Rules | None = None) -> Comparison:
    """A bill next to the previous month and the same month a year before ("为什么这么高")."""
    previous = bill_for(s, account, _shift(bill.period, -1))
    last_year = bill_for(s, account, _shift(bill.period, -12))
    tier = tariffs.tier_reached(bill.kwh, rules or get_rules()) if account.category == "residential" else 0
    return Comparison(bill, previous, last_year, tier)


def open_tickets(s: Session, account: Account) -> List[Ticket]:
    q = (
        select(Ticket)
        .where(Ticket.account_id == account.id, Ticket.status.in_(OPEN_TICKET_STATUSES))
        .order_by(Ticket.created_at.desc())
    )
    return list(s.scalars(q))


@dataclass(frozen=True)
class Summary:
    """What an agent or the customer sees first about an account."""

    account: Account
    latest: Bill | None
    arrears: Arrears
    days_left: int | None
    open_tickets: List[Ticket]


def summary(s: Session, account: Account, now: datetime | None = None) -> Summary:
    today = local_today(now)
    return Summary(account, latest_bill(s, account), arrears(s, account, today), prepaid_days_left(s, account),
                   open_tickets(s, account))
