"""What an answer inside a form is, by its words: a description of the fault, a question of its own,
a yes or no to "can we call you on this phone?", thanks.

The dialogue asks a question and must not take whatever comes back as the answer: `全村都停了` to
"哪里停电？" describes the outage, `停电多久能来电` asks something, `你们客服电话多少` asks for a number.
These are properties of the text (patterns), not intents: the intent the NLU gives stays the
contract's (../shared/spec/nlu-contract.md).
"""

from __future__ import annotations

import re
from typing import Optional

from bot.nlu.normalize import to_halfwidth

# what makes a report say more than "停电了"
_DETAIL = re.compile(r"跳闸|跳匝|空开|漏保|闸|全村|整个|一片|整条|就我家|只有|邻居|电压|闪|忽明忽暗|冒烟|火花|着火|合不上"
                     r"|烧|响|低|断|倒|歪|漏|掉|垂|打火|一半")

# questions customers ask in the middle of a report; the value is the kind of answer they need
_SERVICE_QUESTIONS = (
    ("verification_code", re.compile(r"(收不到|没收到|没有收到|接不到|不来|没来|没发|收不着).{0,4}验证码"
                                     r"|验证码.{0,6}(收不到|没收到|没有收到|没来|不来|没发|收不着|没有)")),
    ("station_address", re.compile(r"(供电所|营业厅|供电局|电力局).{0,6}(在哪|哪里|哪儿|地址|位置|怎么走)")),
    ("station_hours", re.compile(r"(供电所|营业厅|供电局|电力局).{0,8}(几点|时间|上班|开门|营业|周末|星期)")),
    ("station_phone", re.compile(r"(供电所|营业厅|供电局|电力局|电工|师傅).{0,6}(电话|号码|手机|联系方式)")),
    ("hotline", re.compile(r"(客服|热线|服务|人工|你们|公司|投诉|报修).{0,4}(电话|号码|热线)|95598.{0,4}(是|吗|打)")),
)
_RESTORE_QUESTION = re.compile(r"(多久|多长时间|什么时候|啥时候|几点|多会|多咱|咋还不).{0,4}(来电|有电|恢复|修好|送电|通电)"
                               r"|(来电|有电|恢复|修好|送电).{0,3}(要多久|多久|几点|什么时候|啥时候)")
_QUESTION = re.compile(r"[?？吗呢么]$|^(为什么|为啥|怎么|咋|多少|几|哪)")
_THANKS = re.compile(r"^(谢谢|谢了|多谢|感谢|谢谢你|谢谢您|thanks?|thx|好的谢谢|好的，谢谢|嗯谢谢)[!！。.~～啦了哈]*$",
                     re.IGNORECASE)
_YES = re.compile(r"^(能|可以|行|对|是|是的|嗯|好|好的|没问题|能联系|能打通|打得通|可以的|对的|ok|yes|y|中|中嘞|能的)"
                  r"[!！。.~～啊呀吧的]*$", re.IGNORECASE)
_NO = re.compile(r"不能|不行|不是|不对|换了|换号|停机|打不通|联系不上|不用这个|不用了|没用了|别打|^否|^no$|^n$|不可以|不中",
                 re.IGNORECASE)


def _compact(text: str) -> str:
    return re.sub(r"\s+", "", to_halfwidth(text or "")).strip()


def describes_fault(text: str) -> bool:
    """Does the message describe what happened, beyond that the power is off?"""
    compact = re.sub(r"[\W\dA-Za-z_]", "", text or "")
    return bool(_DETAIL.search(compact)) or len(compact) > 8


def service_question(text: str) -> Optional[str]:
    """The kind of service question in ``text``: ``hotline``, ``station_phone``, ``station_address``,
    ``station_hours`` or ``verification_code``; None when it asks none of these."""
    compact = _compact(text)
    for kind, pattern in _SERVICE_QUESTIONS:
        if pattern.search(compact):
            return kind
    return None


def asks_restore_time(text: str) -> bool:
    """`停电多久能来电`, `啥时候来电`: a question about restoration, not an answer."""
    return bool(_RESTORE_QUESTION.search(_compact(text)))


def is_question(text: str) -> bool:
    """Does the message ask something (a question mark, 吗/呢 at the end, a question word first)?"""
    return bool(_QUESTION.search(_compact(text))) or asks_restore_time(text) or service_question(text) is not None


def is_thanks(text: str) -> bool:
    """Only thanks (`谢谢`, `好的谢谢`), nothing else asked or given."""
    return bool(_THANKS.match(_compact(text)))


def says_yes(text: str) -> bool:
    """A yes to "can we reach you on this phone?" (`能`, `可以`, `是的`)."""
    compact = _compact(text)
    return bool(_YES.match(compact)) and not _NO.search(compact)


def says_no(text: str) -> bool:
    """A no to "can we reach you on this phone?" (`不能`, `换号了`, `打不通`)."""
    return bool(_NO.search(_compact(text)))
