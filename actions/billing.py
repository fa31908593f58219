"""Bills, balance and usage for a verified account, for a month expression (default: the latest bill)."""

from __future__ import annotations

import abc
import re
from datetime import date
from decimal import Decimal
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.orm import Session

from actions.common import DomainAction, Events, render, resolve_account, utter
from bot.clock import local_today
from bot.domain import accounts
from bot.domain.models import Account, Bill, Contact
from bot.domain.rules import get_rules
from bot.domain.tariffs import late_fee
from bot.nlu.months import resolve_all

# "为什么这个月电费这么高" / "咋这么多" / "怎么涨了"
_WHY_HIGH = re.compile(r"(为啥|为什么|咋|怎么|凭啥).{0,8}(高|多|贵|涨|翻倍)|这么(高|多|贵)|涨了|翻了")


# "今年交了多少电费" asks what was paid, not what was billed
_ASKS_PAID = re.compile(r"(交|缴|付)了(多少|几)|已(交|缴|付)|(交|缴)过")


def _periods(text: str, today: date) -> Optional[List[str]]:
    """Every period the message names (``8月9月`` → both), None when it names none."""
    return resolve_all(text, today)


def _total_line(domain: Dict[Text, Any], bills: List[Bill], text: str) -> str:
    """The total under a list of bills: what was billed, split into paid and unpaid when some are
    unpaid; only the paid sum (and what is still open) when the customer asked what they paid."""
    total = sum((b.amount for b in bills), Decimal(0))
    paid = sum((b.amount for b in bills if b.paid_at is not None), Decimal(0))
    unpaid = total - paid
    if _ASKS_PAID.search(text):
        name = "utter_bill_total_paid_split" if unpaid else "utter_bill_total_paid"
    else:
        name = "utter_bill_total_split" if unpaid and paid else "utter_bill_total"
    return render(domain, name, total=_money(total), paid=_money(paid), unpaid=_money(unpaid))


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


def _kwh(value: Optional[Decimal]) -> str:
    return "" if value is None else format(value.normalize(), "f")


def _period_label(period: str) -> str:
    y, m = period.split("-")
    return f"{y}年{int(m)}月"


def _status(domain: Dict[Text, Any], bill: Bill, account: Account, today: date) -> str:
    if bill.paid_at is not None:
        return render(domain, "utter_bill_paid")
    if bill.due_date < today:
        fee = late_fee(bill.amount, bill.due_date, today, account.category)
        return render(domain, "utter_bill_overdue", days=(today - bill.due_date).days, fee=_money(fee))
    return render(domain, "utter_bill_unpaid", due=f"{bill.due_date.month}月{bill.due_date.day}日")


def _change(now: Decimal, before: Optional[Decimal]) -> str:
    if before is None or before == 0:
        return "无可比数据"
    diff = (now - before) / before * 100
    if abs(diff) < 5:
        return "基本持平"
    return f"{'多' if diff > 0 else '少'}{abs(diff):.0f}%"


def _bills_for(s: Session, account: Account, text: str, today: date) -> tuple:
    """The bills a question is about, and the periods it named (None: it named none)."""
    periods = _periods(text, today)
    latest = accounts.latest_bill(s, account)
    this_month = f"{today.year:04d}-{today.month:02d}"
    if periods is None or (periods == [this_month] and (latest is None or latest.period < this_month)):
        # no month, or "这个月" before this month's bill exists: customers mean their latest bill
        return ([latest] if latest else []), None
    return accounts.bills_for(s, account, periods), periods


def answer_bill(s: Session, account: Account, text: str, dispatcher: CollectingDispatcher,
                domain: Dict[Text, Any]) -> None:
    today = local_today()
    bills, periods = _bills_for(s, account, text, today)
    latest = accounts.latest_bill(s, account)
    if not bills:
        if latest is None:
            utter(dispatcher, "utter_bill_none", account_no=account.account_no)
        else:
            utter(dispatcher, "utter_bill_missing", account_no=account.account_no,
                  periods="、".join(_period_label(p) for p in periods or []), latest=_period_label(latest.period))
        return
    lines = [render(domain, "utter_bill_header", account_no=account.account_no)]
    lines += [render(domain, "utter_bill_line", period=_period_label(b.period), amount=_money(b.amount),
                     kwh=_kwh(b.kwh), status=_status(domain, b, account, today)) for b in bills]
    if len(bills) > 1 or _ASKS_PAID.search(text):
        lines.append(_total_line(domain, bills, text))
    dispatcher.utter_message(text="\n".join(lines))
    if _WHY_HIGH.search(text):
        explain_high(s, account, bills[-1], dispatcher, domain)


def explain_high(s: Session, account: Account, bill: Bill, dispatcher: CollectingDispatcher,
                 domain: Dict[Text, Any]) -> None:
    comparison = accounts.compare(s, account, bill)
    values = dict(period=_period_label(bill.period), kwh=_kwh(bill.kwh), tier=comparison.tier_reached or "-",
                  prev_kwh=_kwh(comparison.previous.kwh) if comparison.previous else "-",
                  prev_change=_change(bill.kwh, comparison.previous.kwh if comparison.previous else None))
    if comparison.last_year is not None:
        dispatcher.utter_message(text=render(domain, "utter_bill_why_high", ly_kwh=_kwh(comparison.last_year.kwh),
                                             ly_change=_change(bill.kwh, comparison.last_year.kwh), **values))
    else:
        dispatcher.utter_message(text=render(domain, "utter_bill_why_high_short", **values))


def answer_balance(s: Session, account: Account, text: str, dispatcher: CollectingDispatcher,
                   domain: Dict[Text, Any]) -> None:
    rules = get_rules()
    if account.prepaid:
        days = accounts.prepaid_days_left(s, account)
        balance = _money(account.balance)
        if account.balance < 0:
            utter(dispatcher, "utter_balance_prepaid_negative", account_no=account.account_no, balance=balance)
        elif days is not None and days < rules.prepaid_low_balance_days:
            utter(dispatcher, "utter_balance_prepaid_low", account_no=account.account_no, balance=balance, days=days)
        else:
            utter(dispatcher, "utter_balance_prepaid", account_no=account.account_no, balance=balance,
                  days="-" if days is None else days)
        return
    today = local_today()
    arrears = accounts.arrears(s, account, today)
    if not arrears.unpaid:
        utter(dispatcher, "utter_balance_postpaid_clear", account_no=account.account_no,
              balance=_money(max(account.balance, Decimal(0))))
        return
    # arrears and late fees only after the due date; a bill not yet due is just to be paid by then
    overdue = [b for b in arrears.unpaid if b.due_date < today]
    not_due = [b for b in arrears.unpaid if b.due_date >= today]
    due_values = dict(amount=_money(sum((b.amount for b in not_due), Decimal("0.00"))),
                      bills="、".join(_period_label(b.period) for b in not_due),
                      due=_due_label(min((b.due_date for b in not_due), default=today)))
    if not overdue:
        utter(dispatcher, "utter_balance_due", account_no=account.account_no, **due_values)
        return
    amount = sum((b.amount for b in overdue), Decimal("0.00"))
    utter(dispatcher, "utter_balance_arrears", account_no=account.account_no, amount=_money(amount),
          bills="、".join(_period_label(b.period) for b in overdue), fee=_money(arrears.late_fee),
          total=_money(amount + arrears.late_fee), cut_days=rules.late_fee.residential_cut_after_days)
    if not_due:
        utter(dispatcher, "utter_balance_due_also", **due_values)


def _due_label(day: date) -> str:
    return f"{day.month}月{day.day}日"


def answer_usage(s: Session, account: Account, text: str, dispatcher: CollectingDispatcher,
                 domain: Dict[Text, Any]) -> None:
    today = local_today()
    bills, periods = _bills_for(s, account, text, today)
    if not bills:
        latest = accounts.latest_bill(s, account)
        if latest is None:
            utter(dispatcher, "utter_bill_none", account_no=account.account_no)
        else:
            utter(dispatcher, "utter_bill_missing", account_no=account.account_no,
                  periods="、".join(_period_label(p) for p in periods or []), latest=_period_label(latest.period))
        return
    lines = [render(domain, "utter_bill_header", account_no=account.account_no)]
    for b in bills:
        split = ""
        if b.kwh_peak is not None and b.kwh_valley is not None:
            split = render(domain, "utter_usage_split", peak=_kwh(b.kwh_peak), valley=_kwh(b.kwh_valley))
        lines.append(render(domain, "utter_usage_line", period=_period_label(b.period), kwh=_kwh(b.kwh), split=split))
    if len(bills) > 1:
        lines.append(f"合计{_kwh(sum((b.kwh for b in bills), Decimal(0)))}度")
    elif account.category == "residential":
        lines.append(render(domain, "utter_usage_tier", period=_period_label(bills[0].period),
                            tier=accounts.compare(s, account, bills[0]).tier_reached))
    dispatcher.utter_message(text="\n".join(lines))
    if _WHY_HIGH.search(text):
        explain_high(s, account, bills[-1], dispatcher, domain)


class _AccountQuery(DomainAction):
    """A question about one verified account: resolve the account (or bind / choose first), then answer."""

    intent = ""

    def name(self) -> Text:
        return f"action_{self.intent}"

    @staticmethod
    @abc.abstractmethod
    def answer(s: Session, account: Account, text: str, dispatcher: CollectingDispatcher,
               domain: Dict[Text, Any]) -> None:
        """Answer for ``account``."""

    def act(self, s: Session, contact: Contact, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: Dict[Text, Any]) -> Events:
        resolution = resolve_account(s, contact, tracker, dispatcher, self.intent)
        if resolution.account is None:
            return resolution.events
        self.answer(s, resolution.account, tracker.latest_message.get("text") or "", dispatcher, domain)
        return [SlotSet("next_step", "done")]


class ActionQueryBill(_AccountQuery):
    intent = "query_bill"
    answer = staticmethod(answer_bill)


class ActionQueryBalance(_AccountQuery):
    intent = "query_balance"
    answer = staticmethod(answer_balance)


class ActionQueryUsage(_AccountQuery):
    intent = "query_usage"
    answer = staticmethod(answer_usage)
