"""The utility's service rules (tariffs, late fees, SLAs, working calendar, binding limits), read from
one YAML file.

``service_rules.yml`` at the repository root is the default (``SERVICE_RULES_FILE`` overrides it).
Code asks :func:`get_rules` and never hard-codes a price or a deadline.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, Dict, List, Mapping, Tuple

import yaml

from bot.config import get_settings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Tier:
    up_to_kwh: Decimal | None  # None = unbounded
    price: Decimal


@dataclass(frozen=True)
class TouPeriod:
    start: str
    end: str
    price: Decimal


@dataclass(frozen=True)
class Surcharge:
    above_kwh: Decimal
    add: Decimal


@dataclass(frozen=True)
class Tariffs:
    tiers: Tuple[Tier, ...]
    tou_peak: TouPeriod
    tou_valley: TouPeriod
    tou_since: str
    tou_surcharges: Tuple[Surcharge, ...]
    commercial: Decimal
    agricultural: Decimal


@dataclass(frozen=True)
class LateFee:
    residential_per_day: Decimal
    other_current_year_per_day: Decimal
    other_previous_years_per_day: Decimal
    residential_cut_after_days: int
    cut_notice_days: int


@dataclass(frozen=True)
class Sla:
    repair_arrival_minutes: Mapping[str, int]
    repair_restore_hours: Mapping[str, int]
    hazard_arrival_minutes: Mapping[str, int]
    complaint_contact_working_days: int
    complaint_reply_working_days: int
    meter_calibration_working_days: int
    callback_working_days: int
    planned_outage_notice_days: int
    personal_data_request_days: int  # calendar days to answer a customer's request about their personal data
    at_risk_fraction: float
    application_working_days: Mapping[str, int]
    escalation_flag_fraction: float = 0.8


@dataclass(frozen=True)
class WorkingCalendar:
    """Which days count as working days for deadlines in working days: Monday to Friday, except the
    public holidays, plus the weekend days worked in exchange (调休), as the State Council publishes them."""

    holidays: frozenset[date]
    working_weekends: frozenset[date]

    def is_working_day(self, day: date) -> bool:
        if day in self.working_weekends:
            return True
        return day.weekday() < 5 and day not in self.holidays

    def covers(self, year: int) -> bool:
        """Does the calendar list this year's holidays? (Published each November for the next year.)"""
        return any(d.year == year for d in self.holidays)


@dataclass(frozen=True)
class BindingRules:
    code_ttl_minutes: int
    max_wrong_codes: int
    lock_minutes: int
    max_accounts_per_user: int
    resend_interval_seconds: int
    wrong_codes_window_minutes: int
    codes_per_phone_per_hour: int
    codes_per_phone_per_day: int
    accounts_per_sender_per_day: int


@dataclass(frozen=True)
class ServicePoint:
    """A 供电所 / 营业厅 customers can call or visit (``service_contacts`` in service_rules.yml)."""

    name: str
    phone: str
    address: str
    hours: str


@dataclass(frozen=True)
class ServiceContacts:
    """The service hotline and, per township, the 供电所 that serves it (``county`` for the rest)."""

    hotline: str
    county: ServicePoint
    by_township: Mapping[str, ServicePoint]

    def for_township(self, township: str | None) -> ServicePoint:
        return self.by_township.get(township or "", self.county)


@dataclass(frozen=True)
class Supervision:
    """Targets of the supervisors' live wall (seconds) and the quality checklist (``code: label``)."""

    wait_target_seconds: int = 120
    first_response_target_seconds: int = 60
    sample_size: int = 5
    quality_checklist: Mapping[str, str] = field(default_factory=dict)


_DEFAULT_CONTACTS = ServiceContacts("95598", ServicePoint("涞源县供电公司营业厅", "95598", "涞源县城关镇", "工作日"), {})


@dataclass(frozen=True)
class Rules:
    tariffs: Tariffs
    late_fee: LateFee
    prepaid_cut_hour: int
    prepaid_low_balance_days: int
    sla: Sla
    calendar: WorkingCalendar
    binding: BindingRules
    duplicate_window_hours: int
    # report forms: failed answers to "where?" before the ticket is filed with the place to confirm by phone
    place_tries: int = 2
    contacts: ServiceContacts = _DEFAULT_CONTACTS
    # bill reminders go this many days before the due date (notices:)
    bill_reminder_days: int = 3
    supervision: Supervision = Supervision()


def _service_point(raw: Mapping[str, Any]) -> ServicePoint:
    return ServicePoint(str(raw["name"]), str(raw["phone"]), str(raw["address"]), str(raw["hours"]))


def _contacts(raw: Mapping[str, Any] | None) -> ServiceContacts:
    if not raw:
        return _DEFAULT_CONTACTS
    return ServiceContacts(str(raw["hotline"]), _service_point(raw["county"]),
                           {t: _service_point(p) for t, p in (raw.get("townships") or {}).items()})


def _supervision(raw: Mapping[str, Any] | None) -> Supervision:
    """``supervision:`` of the rules; targets are whole seconds > 0, the checklist ``{code: label}``."""
    if not raw:
        return Supervision()
    sup = Supervision(int(raw["wait_target_seconds"]), int(raw["first_response_target_seconds"]),
                      int(raw.get("sample_size", 5)),
                      {str(k): str(v) for k, v in (raw.get("quality_checklist") or {}).items()})
    if min(sup.wait_target_seconds, sup.first_response_target_seconds, sup.sample_size) <= 0:
        raise ValueError("service rules: supervision targets and sample_size must be > 0")
    return sup


def _d(value: Any) -> Decimal:
    return Decimal(str(value))


def _dates(values: Any, what: str) -> frozenset[date]:
    days = set()
    for value in values or []:
        if not isinstance(value, date):
            raise ValueError(f"service rules: calendar.{what}: {value!r} is not a date (YYYY-MM-DD)")
        days.add(value)
    return frozenset(days)


def _late_fee(raw: Mapping[str, Any]) -> LateFee:
    """``late_fee:`` of the rules: rates per day (fractions, e.g. 0.001) and whole days."""
    return LateFee(
        residential_per_day=_d(raw["residential_per_day"]),
        other_current_year_per_day=_d(raw["other_current_year_per_day"]),
        other_previous_years_per_day=_d(raw["other_previous_years_per_day"]),
        residential_cut_after_days=int(raw["residential_cut_after_days"]),
        cut_notice_days=int(raw["cut_notice_days"]),
    )


def parse_rules(raw: Dict[str, Any]) -> Rules:
    """Validate and type a rules mapping (as read from YAML)."""
    t = raw["tariffs"]
    tiers: List[Tier] = [
        Tier(None if x["up_to_kwh"] is None else _d(x["up_to_kwh"]), _d(x["price"]))
        for x in t["residential_tiered"]["tiers"]
    ]
    if not tiers or tiers[-1].up_to_kwh is not None:
        raise ValueError("service rules: the last residential tier must be unbounded (up_to_kwh: null)")
    tou = t["residential_tou"]
    sla = raw["sla"]
    return Rules(
        tariffs=Tariffs(
            tiers=tuple(tiers),
            tou_peak=TouPeriod(tou["peak"]["start"], tou["peak"]["end"], _d(tou["peak"]["price"])),
            tou_valley=TouPeriod(tou["valley"]["start"], tou["valley"]["end"], _d(tou["valley"]["price"])),
            tou_since=str(tou.get("since", "")),
            tou_surcharges=tuple(Surcharge(_d(s["above_kwh"]), _d(s["add"])) for s in tou["tier_surcharges"]),
            commercial=_d(t["commercial"]["price"]),
            agricultural=_d(t["agricultural"]["price"]),
        ),
        late_fee=_late_fee(raw["late_fee"]),
        prepaid_cut_hour=int(raw["prepaid"]["cut_hour"]),
        prepaid_low_balance_days=int(raw["prepaid"]["low_balance_days"]),
        sla=Sla(
            repair_arrival_minutes=dict(sla["repair_arrival_minutes"]),
            repair_restore_hours=dict(sla["repair_restore_hours"]),
            hazard_arrival_minutes=dict(sla["hazard_arrival_minutes"]),
            complaint_contact_working_days=int(sla["complaint_contact_working_days"]),
            complaint_reply_working_days=int(sla["complaint_reply_working_days"]),
            meter_calibration_working_days=int(sla["meter_calibration_working_days"]),
            callback_working_days=int(sla["callback_working_days"]),
            planned_outage_notice_days=int(sla["planned_outage_notice_days"]),
            personal_data_request_days=int(sla["personal_data_request_days"]),
            at_risk_fraction=float(sla["at_risk_fraction"]),
            application_working_days=dict(sla["application_working_days"]),
            escalation_flag_fraction=float(sla.get("escalation_flag_fraction", 0.8)),
        ),
        calendar=WorkingCalendar(_dates(raw.get("calendar", {}).get("holidays"), "holidays"),
                                 _dates(raw.get("calendar", {}).get("working_weekends"), "working_weekends")),
        binding=BindingRules(**{k: int(v) for k, v in raw["binding"].items()}),
        duplicate_window_hours=int(raw["duplicates"]["same_customer_hours"]),
        place_tries=int((raw.get("reports") or {}).get("place_tries", 2)),
        contacts=_contacts(raw.get("service_contacts")),
        bill_reminder_days=int(raw.get("notices", {}).get("bill_reminder_days", 3)),
        supervision=_supervision(raw.get("supervision")),
    )


def load_rules(path: Path) -> Rules:
    with open(path, encoding="utf-8") as fh:
        return parse_rules(yaml.safe_load(fh))


def calendar_gaps(rules: Rules, today: date) -> List[int]:
    """Years whose holidays deadlines may soon need but the calendar does not list: this year, and
    next year from December on."""
    years = [today.year] + ([today.year + 1] if today.month == 12 else [])
    return [y for y in years if not rules.calendar.covers(y)]


@functools.lru_cache(maxsize=1)
def get_rules() -> Rules:
    """The process-wide rules from ``SERVICE_RULES_FILE`` (a missing calendar year is logged once, at
    start-up, by :func:`bot.startup.warn_calendar_gaps`)."""
    return load_rules(get_settings().service_rules_file)


def template_values(rules: Rules | None = None) -> Dict[str, str]:
    """Numbers from the rules for response templates in domain.yml (``{p1}``, ``{t1}``, ``{days_*}`` …)."""
    rules = rules or get_rules()
    t = rules.tariffs
    tiers = t.tiers
    surcharges = t.tou_surcharges

    def num(value: Decimal) -> str:
        return format(value.normalize(), "f")

    def price(value: Decimal) -> str:
        return f"{value:.2f}"

    values = {
        "p1": price(tiers[0].price),
        "p2": price(tiers[1].price) if len(tiers) > 1 else "",
        "p3": price(tiers[2].price) if len(tiers) > 2 else "",
        "t1": num(tiers[0].up_to_kwh) if tiers[0].up_to_kwh else "",
        "t2": num(tiers[1].up_to_kwh) if len(tiers) > 1 and tiers[1].up_to_kwh else "",
        "y1": num(tiers[0].up_to_kwh * 12) if tiers[0].up_to_kwh else "",
        "y2": num(tiers[1].up_to_kwh * 12) if len(tiers) > 1 and tiers[1].up_to_kwh else "",
        "peak_start": t.tou_peak.start,
        "peak_end": t.tou_peak.end,
        "peak_price": price(t.tou_peak.price),
        "valley_start": t.tou_valley.start,
        "valley_end": t.tou_valley.end,
        "valley_price": price(t.tou_valley.price),
        "s2": price(surcharges[0].add) if surcharges else "",
        "s3": price(surcharges[1].add) if len(surcharges) > 1 else "",
        "commercial": price(t.commercial),
        "agricultural": price(t.agricultural),
        "cut_hour": str(rules.prepaid_cut_hour),
        "late_fee_permille": num(rules.late_fee.residential_per_day * 1000),
    }
    for kind, days in rules.sla.application_working_days.items():
        values[f"days_{kind}"] = str(days)
    values["days_meter"] = str(rules.sla.meter_calibration_working_days)
    values["days_complaint_contact"] = str(rules.sla.complaint_contact_working_days)
    values["days_complaint_reply"] = str(rules.sla.complaint_reply_working_days)
    values["hotline"] = rules.contacts.hotline
    return values
