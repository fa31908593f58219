"""Month expressions (上个月, 大上个月, 10月份, 2026年8月, 最近三个月, 最近仨月, 今年 …) resolved to billing periods.

:func:`resolve_months` is the one function the dialogue uses to turn what a customer typed into
concrete ``YYYY-MM`` periods relative to a given day. :data:`MONTH_PATTERN` is the matching regular
expression the NLU's entity extractor is trained with (see bot/nlu/patterns.py), so anything the
model extracts as ``month`` can be resolved here.
"""

from __future__ import annotations

import re
from datetime import date
from typing import List

from bot.nlu.normalize import to_halfwidth

_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "俩": 2, "仨": 3, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}

_DIGIT = r"[0-9０-９]"
_MONTH_NUM = r"(?:[1１][0-2０-２]|[0０]?[1-9１-９]|十[一二]?|[一二三四五六七八九])"
_COUNT = r"(?:[0-9０-９]{1,2}|[一二两三四五六七八九十]{1,3}|[俩仨])"

MONTH_PATTERN = (
    r"(?:(?:19|20)?" + _DIGIT + r"{2}|去|今|前)年" + _MONTH_NUM + r"月份?"
    r"|(?<![0-9０-９])(?:19|20)" + _DIGIT + r"{2}[./\-]" + _MONTH_NUM + r"(?![0-9０-９])"
    r"|(?:最近|近|过去|前|这)" + _COUNT + r"个?月|(?:最近|近|过去)(?:一|1)年"
    r"|(?:最近|近|过去)半年|上半年|下半年"
    r"|(?:大上|上上)个?月|上个?月|这个?月|本月|当月|下个?月"
    r"|(?<![0-9０-９年])" + _MONTH_NUM + r"月份"
    r"|(?<![0-9０-９年个])" + _MONTH_NUM + r"月(?![份号日]|[0-9０-９]{1,2}[号日]?(?![月0-9０-９]))"
    r"|今年|去年|前年"
)
_FULL = re.compile(rf"^(?:{MONTH_PATTERN})$")


def cn_number(text: str) -> int | None:
    """'3', '03', '十二', '二十', '两' → int; None when not a small number."""
    text = to_halfwidth(text.strip())
    if text.isdigit():
        return int(text)
    if not text or any(ch not in _CN_DIGITS and ch != "十" for ch in text):
        return None
    if "十" in text:
        tens, _, ones = text.partition("十")
        return (_CN_DIGITS[tens] if tens else 1) * 10 + (_CN_DIGITS[ones] if ones else 0)
    if len(text) == 1:
        return _CN_DIGITS[text]
    return None


def _period(year: int, month: int) -> str:
    return f"{year:04d}-{month:02d}"


def _back(today: date, months: int) -> str:
    index = today.year * 12 + today.month - 1 - months
    return _period(index // 12, index % 12 + 1)


def _last_n(today: date, n: int) -> List[str]:
    """The ``n`` complete months before this one, oldest first (bills exist for complete months)."""
    return [_back(today, k) for k in range(n, 0, -1)]


def resolve_all(text: str, today: date) -> List[str] | None:
    """Every billing period named in a customer's message, in the order named (``8月9月电费各是多少`` →
    both months; ``最近仨月`` → three), without repeats; None when it names none."""
    periods: List[str] = []
    for match in re.finditer(MONTH_PATTERN, text or ""):
        for period in resolve_months(match.group(0), today) or []:
            if period not in periods:
                periods.append(period)
    return periods or None


def resolve_months(expression: str | None, today: date) -> List[str] | None:
    """Billing periods (``YYYY-MM``, oldest first) meant by a month expression, or None.

    A bare month (10月) means the most recent such month that is not in the future. "最近N个月"
    means the N complete months before the current one.
    """
    if not expression:
        return None
    text = to_halfwidth(expression).strip().rstrip("的")
    text = text.replace("份", "") if text.endswith("月份") else text
    if not _FULL.match(text) and not _FULL.match(expression.strip()):
        return None
    if text in ("这个月", "这月", "本月", "当月"):
        return [_back(today, 0)]
    if text in ("上个月", "上月"):
        return [_back(today, 1)]
    if text in ("上上个月", "上上月", "大上个月", "大上月"):
        return [_back(today, 2)]
    if text in ("下个月", "下月"):
        return [_back(today, -1)]
    if text in ("今年",):
        return [_period(today.year, m) for m in range(1, today.month + 1)]
    if text in ("去年", "前年"):
        year = today.year - (1 if text == "去年" else 2)
        return [_period(year, m) for m in range(1, 13)]
    if text == "上半年":
        return [_period(today.year, m) for m in range(1, 7)]
    if text == "下半年":
        return [_period(today.year if today.month > 6 else today.year - 1, m) for m in range(7, 13)]
    if text.endswith("半年"):
        return _last_n(today, 6)
    if text.endswith("年") and text[-2] in "一1":
        return _last_n(today, 12)
    m = re.match(rf"^(?:最近|近|过去|前|这)({_COUNT})个?月$", text)
    if m:
        n = cn_number(m.group(1))
        return _last_n(today, n) if n and 0 < n <= 36 else None
    m = re.match(rf"^(?:(\d{{2}}|\d{{4}})|(去|今|前))年({_MONTH_NUM})月$", text) or re.match(
        rf"^(\d{{4}})()[./\-]({_MONTH_NUM})$", text
    )
    if m:
        month = cn_number(m.group(3))
        if not month or not 1 <= month <= 12:
            return None
        if m.group(1):
            year = int(m.group(1)) + (2000 if len(m.group(1)) == 2 else 0)
        else:
            year = today.year - {"今": 0, "去": 1, "前": 2}[m.group(2)]
        return [_period(year, month)]
    m = re.match(rf"^({_MONTH_NUM})月$", text)
    if m:
        month = cn_number(m.group(1))
        if not month or not 1 <= month <= 12:
            return None
        year = today.year if month <= today.month else today.year - 1
        return [_period(year, month)]
    return None
