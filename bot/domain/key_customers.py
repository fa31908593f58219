"""Key customers (重点关爱客户): accounts whose outage hurts more — people living alone, medical equipment
on power, … Supervisors set the flag with a reason; it is audited; their repair tickets sort first in the
dispatch queue and planned-outage notices put them on the 供电所's call list."""

from __future__ import annotations

from datetime import datetime
from typing import List

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.domain import audit
from bot.domain.models import Account

MAX_REASON = 100


class KeyCustomerError(Exception):
    """The flag was set without a reason."""


def set_flag(s: Session, account: Account, flagged: bool, reason: str, actor: str,
             now: datetime | None = None) -> Account:
    """Flag (with a reason, required) or unflag an account; audited with the reason."""
    reason = " ".join(str(reason or "").split())[:MAX_REASON]
    if flagged and not reason:
        raise KeyCustomerError("reason required")
    account.key_customer = flagged
    account.key_customer_reason = reason if flagged else None
    audit.record(s, actor, "account.key_customer", "account", account.account_no, now=now, flagged=flagged,
                 reason=reason)
    return account


def in_area(s: Session, township: str, villages: List[str] | None = None) -> List[Account]:
    """Flagged accounts of a township (or of some of its villages): the call list for an outage there."""
    q = select(Account).where(Account.key_customer.is_(True), Account.township == township)
    if villages:
        q = q.where(Account.village.in_(villages))
    return list(s.scalars(q.order_by(Account.account_no)))
