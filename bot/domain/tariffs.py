"""Electricity charges: tiered and time-of-use residential tariffs, flat commercial/agricultural.

Time-of-use is computed the way the Hebei South grid bills it, "先分时后阶梯": peak and valley
prices on all usage first, then each tier's surcharge on the kWh that fall into that tier.
All numbers come from :mod:`bot.domain.rules`; results are rounded to the fen (0.01 元), half up.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import List, Tuple

from bot.domain.rules import Rules, get_rules

FEN = Decimal("0.01")


def _money(value: Decimal) -> Decimal:
    return value.quantize(FEN, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class ChargeLine:
    """One line of a charge breakdown: ``label``: ``kwh`` × ``price`` = ``amount``."""

    label: str
    kwh: Decimal
    price: Decimal
    amount: Decimal


@dataclass(frozen=True)
class Charge:
    tariff: str  # tiered | tou | commercial | agricultural
    kwh: Decimal
    lines: Tuple[ChargeLine, ...]
    total: Decimal
    tier_reached: int  # 1..n for residential tariffs, 0 otherwise


def _bands(bounds: List[Tuple[Decimal, Decimal | None]], kwh: Decimal) -> List[Decimal]:
    """kWh falling into each (low, high] band."""
    out = []
    for low, high in bounds:
        top = kwh if high is None else min(kwh, high)
        out.append(max(Decimal(0), top - low))
    return out


def tier_reached(kwh: Decimal, rules: Rules | None = None) -> int:
    """Which residential tier (1-based) a month's usage reaches."""
    rules = rules or get_rules()
    tier = 1
    low = Decimal(0)
    for index, t in enumerate(rules.tariffs.tiers, start=1):
        if kwh > low:
            tier = index
        if t.up_to_kwh is None:
            break
        low = t.up_to_kwh
    return tier


def tiered_charge(kwh: Decimal, rules: Rules | None = None) -> Charge:
    """Residential tiered (阶梯) charge for one month's usage."""
    rules = rules or get_rules()
    kwh = Decimal(kwh)
    if kwh < 0:
        raise ValueError("usage cannot be negative")
    bounds: List[Tuple[Decimal, Decimal | None]] = []
    low = Decimal(0)
    for t in rules.tariffs.tiers:
        bounds.append((low, t.up_to_kwh))
        low = t.up_to_kwh if t.up_to_kwh is not None else low
    lines = []
    for index, (band_kwh, t) in enumerate(zip(_bands(bounds, kwh), rules.tariffs.tiers, strict=True), start=1):
        if band_kwh > 0:
            lines.append(ChargeLine(f"第{index}档", band_kwh, t.price, _money(band_kwh * t.price)))
    total = _money(sum((line.amount for line in lines), Decimal(0)))
    return Charge("tiered", kwh, tuple(lines), total, tier_reached(kwh, rules))


def tou_charge(kwh_peak: Decimal, kwh_valley: Decimal, rules: Rules | None = None) -> Charge:
    """Residential time-of-use (峰谷) charge, "先分时后阶梯"."""
    rules = rules or get_rules()
    peak, valley = Decimal(kwh_peak), Decimal(kwh_valley)
    if peak < 0 or valley < 0:
        raise ValueError("usage cannot be negative")
    total_kwh = peak + valley
    tou = rules.tariffs
    lines = [
        ChargeLine(f"峰段({tou.tou_peak.start}-{tou.tou_peak.end})", peak, tou.tou_peak.price, _money(peak * tou.tou_peak.price)),
        ChargeLine(
            f"谷段({tou.tou_valley.start}-{tou.tou_valley.end})",
            valley,
            tou.tou_valley.price,
            _money(valley * tou.tou_valley.price),
        ),
    ]
    surcharges = tou.tou_surcharges
    bounds = [
        (s.above_kwh, surcharges[i + 1].above_kwh if i + 1 < len(surcharges) else None)
        for i, s in enumerate(surcharges)
    ]
    for index, (band_kwh, s) in enumerate(zip(_bands(bounds, total_kwh), surcharges, strict=True), start=2):
        if band_kwh > 0:
            lines.append(ChargeLine(f"第{index}档加价", band_kwh, s.add, _money(band_kwh * s.add)))
    total = _money(sum((line.amount for line in lines), Decimal(0)))
    return Charge("tou", total_kwh, tuple(lines), total, tier_reached(total_kwh, rules))


def flat_charge(kwh: Decimal, category: str, rules: Rules | None = None) -> Charge:
    """Commercial or agricultural flat-price charge."""
    rules = rules or get_rules()
    kwh = Decimal(kwh)
    price = {"commercial": rules.tariffs.commercial, "agricultural": rules.tariffs.agricultural}[category]
    label = {"commercial": "一般工商业", "agricultural": "农业生产"}[category]
    line = ChargeLine(label, kwh, price, _money(kwh * price))
    return Charge(category, kwh, (line,), line.amount, 0)


def charge_for(
    category: str,
    tariff: str,
    kwh: Decimal,
    kwh_peak: Decimal | None = None,
    kwh_valley: Decimal | None = None,
    rules: Rules | None = None,
) -> Charge:
    """The charge of an account of ``category``/``tariff`` for one month's usage."""
    if category in ("commercial", "agricultural"):
        return flat_charge(kwh, category, rules)
    if tariff == "tou":
        if kwh_peak is None or kwh_valley is None:
            raise ValueError("a time-of-use charge needs peak and valley kWh")
        return tou_charge(kwh_peak, kwh_valley, rules)
    return tiered_charge(kwh, rules)


def late_fee(
    overdue_amount: Decimal,
    due: date,
    today: date,
    category: str,
    rules: Rules | None = None,
) -> Decimal:
    """违约金 on an unpaid bill: per-day rate × overdue days (0 before the due date passes)."""
    rules = rules or get_rules()
    days = (today - due).days
    if days <= 0 or overdue_amount <= 0:
        return Decimal("0.00")
    if category == "residential":
        rate = rules.late_fee.residential_per_day
    elif due.year == today.year:
        rate = rules.late_fee.other_current_year_per_day
    else:
        rate = rules.late_fee.other_previous_years_per_day
    return _money(Decimal(overdue_amount) * rate * days)
