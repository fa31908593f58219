"""Small builders for records used across tests (values chosen to be obviously made up)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy.orm import Session

from bot.domain import contacts, tariffs
from bot.domain.models import Account, Bill, Contact, PlannedOutage
from bot.domain.pii import phone_hash
from bot.domain.places import gazetteer, village_of

# made-up numbers in ranges no real subscriber of this utility uses in tests
PHONE_A = "13900001111"
PHONE_B = "13900002222"


def make_account(
    s: Session,
    account_no: str = "5100000101",
    name: str = "张建国",
    phone: str | None = PHONE_A,
    township: str = "城关镇",
    address: str = "城关镇东关村12号",
    area_type: str = "urban",
    category: str = "residential",
    tariff: str = "tiered",
    prepaid: bool = False,
    balance: str = "0",
) -> Account:
    account = Account(
        account_no=account_no, name=name, phone=phone, phone_hash=phone_hash(phone) if phone else None,
        address=address, township=township, village=village_of(address), area_type=area_type,
        category=category, tariff=tariff, prepaid=prepaid, balance=Decimal(balance),
    )
    s.add(account)
    s.flush()
    gazetteer.invalidate()
    return account


def make_bill(s: Session, account: Account, period: str, kwh: int, paid: bool = True,
              due: date | None = None, peak: int | None = None) -> Bill:
    y, m = (int(x) for x in period.split("-"))
    due = due or date(y + (m == 12), m % 12 + 1, 25)
    if account.tariff == "tou":
        peak = peak if peak is not None else int(kwh * 0.6)
        charge = tariffs.tou_charge(Decimal(peak), Decimal(kwh - peak))
    else:
        charge = tariffs.charge_for(account.category, account.tariff, Decimal(kwh))
    bill = Bill(
        account_id=account.id, period=period, kwh=Decimal(kwh),
        kwh_peak=Decimal(peak) if account.tariff == "tou" else None,
        kwh_valley=Decimal(kwh - peak) if account.tariff == "tou" else None,
        amount=charge.total, due_date=due, paid_at=datetime(y, m, 28) if paid else None,
    )
    s.add(bill)
    s.flush()
    return bill


def make_contact(s: Session, channel: str = "wechat", external: str = "oWxTestOpenid0001") -> Contact:
    return contacts.get_or_create(s, channel, external)


def make_outage(s: Session, township: str, start: datetime, end: datetime, villages: str = "",
                outage_id: str = "JH-T-001", reason: str = "线路检修") -> PlannedOutage:
    outage = PlannedOutage(outage_id=outage_id, township=township, villages=villages, start=start, end=end,
                           reason=reason)
    s.add(outage)
    s.flush()
    gazetteer.invalidate()
    return outage
