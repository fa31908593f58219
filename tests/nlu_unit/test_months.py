"""Month expressions resolve to billing periods relative to the day they are asked."""

from datetime import date

import pytest

from bot.nlu.months import cn_number, resolve_all, resolve_months

TODAY = date(2026, 11, 27)


@pytest.mark.parametrize(
    "expression, periods",
    [
        ("上个月", ["2026-10"]),
        ("上月", ["2026-10"]),
        ("上上个月", ["2026-09"]),
        ("这个月", ["2026-11"]),
        ("本月", ["2026-11"]),
        ("下个月", ["2026-12"]),
        ("10月份", ["2026-10"]),
        ("10月", ["2026-10"]),
        ("十月", ["2026-10"]),
        ("１１月", ["2026-11"]),
        ("12月", ["2025-12"]),  # December has not come yet this year: the last one
        ("十二月份的", ["2025-12"]),
        ("2026年8月", ["2026-08"]),
        ("2025年12月", ["2025-12"]),
        ("26年9月", ["2026-09"]),
        ("2026.08", ["2026-08"]),
        ("去年12月", ["2025-12"]),
        ("今年3月", ["2026-03"]),
        ("最近三个月", ["2026-08", "2026-09", "2026-10"]),
        ("近3个月", ["2026-08", "2026-09", "2026-10"]),
        ("过去两个月", ["2026-09", "2026-10"]),
        ("最近半年", ["2026-05", "2026-06", "2026-07", "2026-08", "2026-09", "2026-10"]),
        ("今年", [f"2026-{m:02d}" for m in range(1, 12)]),
        ("去年", [f"2025-{m:02d}" for m in range(1, 13)]),
    ],
)
def test_expressions_resolve_relative_to_today(expression, periods):
    assert resolve_months(expression, TODAY) == periods


def test_year_boundaries():
    assert resolve_months("上个月", date(2026, 1, 5)) == ["2025-12"]
    assert resolve_months("最近三个月", date(2026, 2, 1)) == ["2025-11", "2025-12", "2026-01"]
    assert resolve_months("3月", date(2026, 2, 1)) == ["2025-03"]


@pytest.mark.parametrize("expression", ["", None, "昨天", "13月", "2026年13月", "最近99个月", "电费"])
def test_unknown_or_impossible_expressions_give_none(expression):
    assert resolve_months(expression, TODAY) is None


@pytest.mark.parametrize("text, n", [("3", 3), ("十", 10), ("十二", 12), ("二十", 20), ("两", 2), ("三十六", 36)])
def test_small_chinese_numbers(text, n):
    assert cn_number(text) == n


@pytest.mark.parametrize(
    "text, periods",
    [
        ("大上个月的电费", ["2026-09"]),
        ("大上月电费", ["2026-09"]),
        ("最近仨月电费", ["2026-08", "2026-09", "2026-10"]),
        ("近俩月用电", ["2026-09", "2026-10"]),
        ("最近三月电费", ["2026-08", "2026-09", "2026-10"]),
        ("8月9月电费各是多少", ["2026-08", "2026-09"]),
        ("8月、9月的电费", ["2026-08", "2026-09"]),
        ("八月和九月份", ["2026-08", "2026-09"]),
        ("上个月和上上个月比", ["2026-10", "2026-09"]),
        ("今年交了多少电费", [f"2026-{m:02d}" for m in range(1, 12)]),
        ("8月9号停电了", None),
        ("查电费", None),
    ],
)
def test_colloquial_months_in_a_message_resolve_to_every_period_named(text, periods):
    assert resolve_all(text, TODAY) == periods
