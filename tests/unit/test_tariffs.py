"""The tariff calculator against bills computed by hand from service_rules.yml."""

from datetime import date
from decimal import Decimal as D

import pytest

from bot.domain import tariffs


@pytest.mark.parametrize(
    "kwh, total, lines",
    [
        (0, "0.00", []),
        (150, "78.00", [("第1档", "150", "0.52", "78.00")]),
        (180, "93.60", [("第1档", "180", "0.52", "93.60")]),
        # 180×0.52 + 70×0.57
        (250, "133.50", [("第1档", "180", "0.52", "93.60"), ("第2档", "70", "0.57", "39.90")]),
        # 180×0.52 + 100×0.57 + 20×0.82
        (300, "167.00", [("第1档", "180", "0.52", "93.60"), ("第2档", "100", "0.57", "57.00"),
                         ("第3档", "20", "0.82", "16.40")]),
    ],
)
def test_tiered_residential_bill_matches_hand_computation(kwh, total, lines):
    charge = tariffs.tiered_charge(D(kwh))
    assert charge.total == D(total)
    assert [(line.label, line.kwh, line.price, line.amount) for line in charge.lines] == [
        (label, D(k), D(p), D(a)) for label, k, p, a in lines
    ]


def test_time_of_use_applies_tou_prices_first_then_tier_surcharges():
    # 200×0.55 + 100×0.30 = 140.00; then 100 kWh in tier 2 × 0.05 = 5.00 and 20 kWh in tier 3 × 0.30 = 6.00
    charge = tariffs.tou_charge(D(200), D(100))
    assert charge.total == D("151.00")
    assert [line.amount for line in charge.lines] == [D("110.00"), D("30.00"), D("5.00"), D("6.00")]
    assert charge.tier_reached == 3


def test_time_of_use_below_first_threshold_has_no_surcharge():
    charge = tariffs.tou_charge(D(100), D(50))
    assert charge.total == D("70.00")
    assert len(charge.lines) == 2


def test_fractional_usage_rounds_to_the_fen_half_up():
    assert tariffs.tiered_charge(D("10.125")).total == D("5.27")  # 5.265 → 5.27


@pytest.mark.parametrize("category, kwh, total", [("commercial", 1000, "660.00"), ("agricultural", 500, "300.00")])
def test_flat_prices_for_commercial_and_agricultural(category, kwh, total):
    assert tariffs.charge_for(category, "tiered", D(kwh)).total == D(total)


@pytest.mark.parametrize("kwh, tier", [(0, 1), (180, 1), (181, 2), (280, 2), (281, 3)])
def test_tier_reached(kwh, tier):
    assert tariffs.tier_reached(D(kwh)) == tier


def test_tou_charge_needs_the_split():
    with pytest.raises(ValueError):
        tariffs.charge_for("residential", "tou", D(300))


def test_late_fee_is_one_per_mille_a_day_for_residents():
    assert tariffs.late_fee(D("100.00"), date(2026, 10, 25), date(2026, 11, 4), "residential") == D("1.00")
    assert tariffs.late_fee(D("100.00"), date(2026, 10, 25), date(2026, 10, 25), "residential") == D("0.00")


def test_late_fee_for_other_customers_depends_on_the_year():
    assert tariffs.late_fee(D("100.00"), date(2026, 10, 25), date(2026, 11, 4), "commercial") == D("2.00")
    assert tariffs.late_fee(D("100.00"), date(2025, 12, 25), date(2026, 1, 4), "commercial") == D("3.00")
