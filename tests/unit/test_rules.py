"""service_rules.yml is complete and is the one place numbers live."""

from pathlib import Path

import pytest
import yaml

from bot.config import ROOT
from bot.domain.rules import get_rules, parse_rules


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
