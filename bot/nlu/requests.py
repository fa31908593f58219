"""A second request in one message (issue 13, fault 1): ``查下电费 顺便问下峰谷电咋申请``.

One WeChat message stays one turn: the first request is answered and the second offered in the same
reply (``还想了解峰谷电申请吗？``). This module only finds where the second request starts — plain text
rules, no model: a clause joined by 顺便 / 另外 / 还有(个事) / 对了 / (再|还想)问下 / 再查下 … after a first
clause that says something itself. What each clause asks is the trained classifier's job
(:class:`bot.nlu.components.SecondRequestCollector` runs the clause through the same model).

A 还有 that asks about what is left (``还有多少钱``, ``还有欠费吗``) is no joint, nor is a marker at the
start of the message (``顺便问下峰谷电咋申请`` is one request).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

__all__ = ["SecondRequest", "find_second_request", "MIN_CLAUSE_CHARS"]

MIN_CLAUSE_CHARS = 2  # characters (CJK, letters, digits) each request needs besides pleasantries and markers

_BOUNDARY = r"(?:^|(?<=[\s,，.。!！?？;；、~～…]))"
_ASK = r"(?:问|咨询|了解|打听|查|说)(?:一?下|个|一个|件)?"
_JOINTS = re.compile(
    # 顺便 anywhere: "查下电费顺便问下咋交"
    rf"(?:顺便|顺带|顺道)(?:再|也|还)?(?:{_ASK})?(?:一?下)?"
    # after a clause boundary: "另外", "还有个事", "对了", "再问下", "我还想问", "还有就是"
    rf"|{_BOUNDARY}(?:另外(?:{_ASK})?|对了|还有(?:个|一个|件|一件)?(?:事|问题)(?:就是)?|还有就是"
    rf"|还有(?=[^多几没吗么钱电余欠费的啥什])"
    rf"|(?:我|俺)?(?:再|还想|还要|还得|也想)(?:{_ASK}))"
    # "，再问下" without the boundary look-behind matching
    rf"|(?<=[^\s,，.。!！?？;；、])(?:再|还想|还要)(?:问|咨询|了解)(?:一?下|个)",
)
_CONTENT = re.compile(r"[\u3400-\u9fffA-Za-z0-9]")
_LEADING = re.compile(r"^[\s,，.。!！?？;；、:：~～…]+")
_TRAILING = re.compile(r"[\s,，.。!！?？;；、:：~～…]+$")


@dataclass(frozen=True)
class SecondRequest:
    """Where a message's second request is. Offsets index the text given to :func:`find_second_request`.

    * ``joint`` — where the joining words start (the first request is ``text[:joint]``);
    * ``start`` — where the second request's own words start, after the joint (``text[start:]``);
    * ``text`` — the second request's words, trimmed (``峰谷电咋申请``)."""

    joint: int
    start: int
    text: str


def _content(text: str) -> int:
    return len(_CONTENT.findall(text))


def find_second_request(text: str, first_from: int = 0) -> Optional[SecondRequest]:
    """The second request in ``text``, or None when the message asks one thing.

    ``first_from``: where the first request starts (after pleasantries such as ``在吗，``), so a
    greeting alone never counts as the first request. Both requests need :data:`MIN_CLAUSE_CHARS`
    characters of their own; only the first joint counts (a third request is left to the customer)."""
    text = text or ""
    for m in _JOINTS.finditer(text, first_from):
        if _content(text[first_from:m.start()]) < MIN_CLAUSE_CHARS:
            continue
        rest = text[m.end():]
        lead = _LEADING.match(rest)
        start = m.end() + (lead.end() if lead else 0)
        words = _TRAILING.sub("", text[start:])
        if _content(words) < MIN_CLAUSE_CHARS:
            continue
        return SecondRequest(joint=m.start(), start=start, text=words)
    return None
