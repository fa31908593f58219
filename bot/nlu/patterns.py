"""Regular expressions for the regex-shaped entities — the single source of data/nlu/regex.yml.

Chinese has no word boundaries, so digits glued to text (户号5100237781停电了) must be found by
digit-boundary look-arounds, not ``\\b``. Python's ``\\d`` also matches full-width digits (５１００…),
which the dialogue normalises. Regenerate the training file after a change::

    .venv/bin/python -m bot.nlu.patterns > data/nlu/regex.yml

(tests/nlu/test_patterns.py fails while the file is out of date).
"""

from __future__ import annotations

import re
import sys
from typing import Dict, List, Literal

from bot.nlu.months import MONTH_PATTERN

_NOT_DIGIT_BEFORE = r"(?<![0-9０-９])"
_NOT_DIGIT_AFTER = r"(?![0-9０-９])"
_D = r"[0-9０-９]"

PATTERNS: Dict[str, List[str]] = {
    # 10 digits (Hebei) or 13 digits, but not a phone written with its +86/86 country code
    "account_no": [
        _NOT_DIGIT_BEFORE + rf"(?:(?!861[3-9]){_D}{{13}}|{_D}{{10}})" + _NOT_DIGIT_AFTER,
    ],
    # mainland mobile: 11 digits starting with 1[3-9], optionally grouped 3-4-4, optionally after +86
    "phone": [
        rf"(?:(?<=86)|{_NOT_DIGIT_BEFORE})[1１][3-9３-９]{_D}(?:[- ]?{_D}{{4}}){{2}}" + _NOT_DIGIT_AFTER,
    ],
    "verification_code": [_NOT_DIGIT_BEFORE + rf"{_D}{{6}}" + _NOT_DIGIT_AFTER],
    "ticket_no": [r"(?<![A-Za-z])[Gg][Dd][0-9０-９]{12,13}" + _NOT_DIGIT_AFTER],
    "month": [MONTH_PATTERN],
    # usage in a "what would it cost" question: the number before 度 / 千瓦时 / kWh
    # ("一度电多少钱" asks for the unit price, not the cost of 1 kWh; "好几十度" is no number)
    "kwh": [
        r"(?<![0-9０-９.])(?!一(?:度|千瓦时))"
        r"(?:[0-9０-９]+(?:\.[0-9]+)?[百千万]?|(?<![几多好])[零〇一二两三四五六七八九十百千万]+)"
        r"(?=\s*[来多余]?\s*(?:度|千瓦时|[kK][wW][hH]))"
    ],
}

# Colloquial month words mapped to the form the month parser knows.
SYNONYMS: Dict[str, List[str]] = {
    "上个月": ["上月"],
    "上上个月": ["上上月", "大上个月", "大上月"],
    "这个月": ["这月", "本月", "当月"],
}

COMPILED = {name: [re.compile(p) for p in patterns] for name, patterns in PATTERNS.items()}


def find(entity: str, text: str) -> List[str]:
    """Every match of an entity's patterns in ``text`` (used by tests and diagnostics)."""
    return [m.group(0) for rx in COMPILED[entity] for m in rx.finditer(text)]


# An urge (催办) is query_repair_progress plus this pattern: the ticket action records it on the ticket.
_URGE = re.compile(
    r"催(?:一下|一催|下|催|办|促)|(?:怎么|咋|为啥|为什么)还(?:没|不)(?:来|到|修|派|处理|好|来电)|还要等(?:多久|多长时间)"
    r"|等了?(?:半天|好久|老半天|一上午|一下午|一晚上|[一二两三四五六七八九十俩几\d]+个?(?:多)?(?:小时|钟头))|人呢"
    r"|(?:快点|赶紧|抓紧)(?:来|派|修|处理)|到底(?:啥时候|什么时候|几点)(?:来|到|修)"
)
# A personal-data request (查看 / 删除 what we keep about the customer, PIPL arts. 44-47) — its own
# pattern on top of the contract's intents. 销户 (closing a power account) is business_application.
_DELETE_DATA = re.compile(
    r"(?:删除|删掉|删了|清除|注销|销毁|抹掉)(?:掉)?(?:我的?|俺的?)?(?:全部|所有)?(?:的)?(?:个人)?(?:信息|资料|数据|隐私)"
    r"|(?:我的?|俺的?|个人)(?:信息|资料|数据|隐私)(?:给我|都|全)?(?:删除|删掉|删了|清除|注销)"
)
_VIEW_DATA = re.compile(
    r"(?:我的|俺的)(?:个人)?(?:信息|资料|数据)|个人(?:信息|资料|数据|隐私)"
    r"|(?:存|保存|收集|留)了我?(?:哪些|什么|啥)(?:个人)?(?:信息|资料|数据)"
)

# ... but not when the deletion is refused (不要删除我的个人信息) or the message is about something else that
# "my information" belongs to: correcting it (我的信息填错了怎么改) or another business (我的信息呢，上次报修的)
_NOT_DELETING = re.compile(r"(?:不要|别|不用|不想|无需|不必|勿)(?:再|给我|帮我)?(?:删|清除|注销|销毁|抹掉)")
_ABOUT_SOMETHING_ELSE = re.compile(r"改|填错|写错|不对|更正|变更|更新|报修|工单|电费|户号|账单|验证码|短信|停电|缴费|余额|进度")

PersonalDataRequest = Literal["view", "delete"]


def is_urge(text: str | None) -> bool:
    """Does the customer press for their repair (``催一下``, ``怎么还没来``, ``等了俩小时了``)? An urge is
    classified query_repair_progress; this tells the ticket action to record it (催办)."""
    return bool(_URGE.search(text or ""))


def personal_data_request(text: str) -> PersonalDataRequest | None:
    """``"delete"`` for ``删除我的个人信息``, ``"view"`` for ``我的信息`` / ``你们存了我哪些信息``, else None.
    Closing the power account (``销户``) is not a personal-data request, nor is a refusal to delete
    (``不要删除我的个人信息``) or "my information" in another matter (``我的信息填错了怎么改``)."""
    text = text or ""
    if _NOT_DELETING.search(text):
        return None
    if _DELETE_DATA.search(text):
        return "delete"
    if _VIEW_DATA.search(text) and not _ABOUT_SOMETHING_ELSE.search(text):
        return "view"
    return None


def render_yaml() -> str:
    lines = [
        "# GENERATED from bot/nlu/patterns.py — do not edit; run:",
        "#   .venv/bin/python -m bot.nlu.patterns > data/nlu/regex.yml",
        'version: "3.1"',
        "nlu:",
    ]
    for name, patterns in PATTERNS.items():
        lines.append(f"- regex: {name}")
        lines.append("  examples: |")
        lines.extend(f"    - {p}" for p in patterns)
    for value, words in SYNONYMS.items():
        lines.append(f"- synonym: {value}")
        lines.append("  examples: |")
        lines.extend(f"    - {w}" for w in words)
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render_yaml())
