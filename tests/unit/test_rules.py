"""service_rules.yml is complete and is the one place numbers live."""

from datetime import date
from pathlib import Path

import pytest
import yaml

from bot.config import ROOT
from bot.domain.rules import calendar_gaps, get_rules, parse_rules


def test_the_shipped_rules_file_parses_with_the_published_commitments():
    rules = get_rules()
    assert dict(rules.sla.repair_arrival_minutes) == {"urban": 45, "rural": 90, "remote": 120}
    assert rules.binding.code_ttl_minutes == 5 and rules.binding.max_wrong_codes == 5
    assert rules.binding.lock_minutes == 30 and rules.binding.max_accounts_per_user == 5
    assert [str(t.price) for t in rules.tariffs.tiers] == ["0.52", "0.57", "0.82"]


def test_a_bounded_last_tier_is_refused():
    raw = yaml.safe_load(Path(ROOT / "service_rules.yml").read_text(encoding="utf-8"))
    raw["tariffs"]["residential_tiered"]["tiers"][-1]["up_to_kwh"] = 500
    with pytest.raises(ValueError):
        parse_rules(raw)


def test_the_working_calendar_follows_the_state_councils_holiday_notice():
    calendar = get_rules().calendar
    assert not calendar.is_working_day(date(2026, 10, 5))  # 国庆节, a Monday
    assert calendar.is_working_day(date(2026, 10, 10))  # the Saturday worked in exchange
    assert calendar.is_working_day(date(2026, 10, 8))
    assert not calendar.is_working_day(date(2026, 11, 28))  # an ordinary Saturday


def test_a_missing_years_holidays_are_reported_in_december_before_they_are_needed():
    rules = get_rules()
    assert calendar_gaps(rules, date(2026, 6, 1)) == []
    assert calendar_gaps(rules, date(2026, 12, 1)) == [2027]
    assert calendar_gaps(rules, date(2027, 3, 1)) == [2027]


def test_a_holiday_that_is_not_a_date_is_refused():
    raw = yaml.safe_load(Path(ROOT / "service_rules.yml").read_text(encoding="utf-8"))
    raw["calendar"]["holidays"].append("十月一日")
    with pytest.raises(ValueError, match="not a date"):
        parse_rules(raw)
