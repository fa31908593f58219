"""Digits and number shapes in customer text — the one normaliser under the NLU, masking and logs.

Customers type numbers the way they read them off a bill or a phone screen: full-width digits
(``１３９１２３４５６７８``), groups with spaces or dashes (``5100 0000 01``, ``139-1234-5678``,
``139 1234 5678``), Chinese dashes (``139—1234—5678``), a country code (``+86 139 1234 5678``,
``0086 139…``, ``86-139…``), or, from voice input, Chinese digits (``一三九一二三四五六七八``).
This module finds those *shapes* — mainland mobile numbers, account numbers (户号) and resident ID
numbers — and gives their canonical digits, so that:

* the NLU sees ``13912345678`` / ``5100000001`` (:func:`normalize_numbers`),
* the console transcript and every log line mask them whatever their shape (:func:`find_numbers`,
  used by ``bot.domain.pii.redact_text``),
* a phone typed into a form is validated the same way (:func:`normalize_phone`).

It imports nothing of this project (only the standard library), so every layer may import it.

Shapes (spec: shared/spec/nlu-contract.md, domain-facts.md):

* phone — mainland mobile, 11 digits ``1[3-9]xxxxxxxxx``; optionally preceded by ``+86``, ``86`` or
  ``0086``;
* account_no — 户号 of 10 digits (Hebei) or 13 digits (other provinces' format);
* id_number — 18-character resident ID (GB 11643) whose check character is right.

Digit groups are joined only when the groups together make one of these shapes, so dates
(``2026-10-15``), amounts (``123.45``) and two numbers written side by side (``5100000001 13912345678``)
stay what they are.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Iterator, List, Literal

NumberKind = Literal["phone", "account_no", "id_number"]

_HALFWIDTH = {0xFF01 + i: 0x21 + i for i in range(94)}  # ！..～ -> !..~
_HALFWIDTH[0x3000] = 0x20  # ideographic space

_CN_DIGITS = {"〇": "0", "零": "0", "一": "1", "幺": "1", "二": "2", "三": "3", "四": "4", "五": "5",
              "六": "6", "七": "7", "八": "8", "九": "9"}
# one group: ASCII/full-width digits (an ID number may end in X), or Chinese digits (voice input)
_GROUP = re.compile(r"[0-9０-９]+[XxＸｘ]?|[〇零一幺二三四五六七八九]+")
# what may stand between two groups of one number: spaces, hyphens and dashes of every width, dots
_SEPARATORS = frozenset(" \t\u3000-‐‑‒–—―－﹣−.·・．")
_MAX_GAP = 3  # separator characters between two groups ("139 - 1234 - 5678")
_MAX_GROUPS = 6
_PLUS = "+＋"

PHONE_RE = re.compile(r"^1[3-9]\d{9}$")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def to_halfwidth(text: str) -> str:
    """Full-width ASCII (１２３ＡＢＣ＋) to half-width; same length, same offsets."""
    return text.translate(_HALFWIDTH)


def _digits(group: str) -> str:
    return "".join(_CN_DIGITS.get(ch, ch) for ch in to_halfwidth(group)).upper()


def is_id_number(number: str) -> bool:
    """An 18-character resident ID number with the right check character (GB 11643-1999).

    Tells ID numbers from other 18-digit numbers (WeChat MsgIds, order numbers)."""
    if not re.fullmatch(r"\d{17}[\dX]", number):
        return False
    total = sum(int(d) * w for d, w in zip(number[:17], _ID_WEIGHTS, strict=True))
    return "10X98765432"[total % 11] == number[17]


def _phone_digits(digits: str, plus: bool) -> str | None:
    """The 11 digits of a mainland mobile written with or without a country code, else None."""
    if digits.startswith("0086"):
        digits = digits[4:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    elif plus:
        return None
    return digits if PHONE_RE.match(digits) else None


def classify(digits: str, plus: bool = False) -> tuple[NumberKind, str] | None:
    """The shape of a run of canonical digits (``"13912345678"``, ``"+86…"`` when ``plus``) and its
    canonical form: ``("phone", 11 digits)``, ``("account_no", 10 or 13 digits)``,
    ``("id_number", 18 characters)``; None for anything else (dates, amounts, codes)."""
    phone = _phone_digits(digits, plus)
    if phone:
        return "phone", phone
    if plus:
        return None
    if digits.isdigit() and len(digits) in (10, 13):
        return "account_no", digits
    if is_id_number(digits):
        return "id_number", digits
    return None


@dataclass(frozen=True)
class NumberSpan:
    """One number found in a text: ``text[start:end]`` as typed, its kind and canonical digits."""

    start: int
    end: int
    kind: NumberKind
    digits: str


def _joinable(text: str, left: re.Match[str], right: re.Match[str]) -> bool:
    gap = text[left.end():right.start()]
    same_script = (left.group(0)[0] in _CN_DIGITS) == (right.group(0)[0] in _CN_DIGITS)
    return (0 < len(gap) <= _MAX_GAP and all(ch in _SEPARATORS for ch in gap) and same_script
            and left.group(0)[-1] not in "XxＸｘ")


def _plus_before(text: str, start: int) -> int | None:
    """Where a ``+`` stands right before ``start`` (spaces allowed between), else None."""
    i = start - 1
    while i >= 0 and text[i] in " \u3000":
        i -= 1
    return i if i >= 0 and text[i] in _PLUS else None


def _after_letter(text: str, group: re.Match[str]) -> bool:
    before = to_halfwidth(text[group.start() - 1]) if group.start() > 0 else ""
    return group.group(0)[0] not in _CN_DIGITS and before.isascii() and before.isalpha()


def find_numbers(text: str) -> List[NumberSpan]:
    """Every phone, account number and ID number in ``text``, whatever its grouping, digit width or
    country code, left to right and not overlapping. Groups are joined greedily: the longest run of
    groups (at most six, separated by at most three separator characters) that makes a shape wins."""
    groups = list(_GROUP.finditer(text or ""))
    found: List[NumberSpan] = []
    i = 0
    while i < len(groups):
        if _after_letter(text, groups[i]):
            i += 1  # part of a code such as a ticket number (GD2026…), not a number of its own
            continue
        last = i
        while last + 1 < len(groups) and last + 1 - i < _MAX_GROUPS and _joinable(text, groups[last], groups[last + 1]):
            last += 1
        for j in range(last, i - 1, -1):
            run = groups[i:j + 1]
            chinese = run[0].group(0)[0] in _CN_DIGITS
            digits = "".join(_digits(g.group(0)) for g in run)
            if chinese and len(digits) < 7:
                continue
            plus_at = _plus_before(text, run[0].start())
            shape = classify(digits, plus=plus_at is not None)
            if shape is None and plus_at is not None:
                shape, plus_at = classify(digits), None
            if shape:
                start = plus_at if plus_at is not None else run[0].start()
                found.append(NumberSpan(start, run[-1].end(), shape[0], shape[1]))
                i = j + 1
                break
        else:
            i += 1
    return found


def _replace(text: str, spans: List[NumberSpan], render: Callable[[NumberSpan], str]) -> str:
    out, pos = [], 0
    for span in spans:
        out.append(text[pos:span.start])
        out.append(render(span))
        pos = span.end
    out.append(text[pos:])
    return "".join(out)


def normalize_numbers(text: str) -> str:
    """``text`` with every phone/account/ID shape rewritten as its canonical digits
    (``户号 5100 0000 01 查电费`` → ``户号 5100000001 查电费``; ``+86 139 1234 5678`` → ``13912345678``).
    Other digits are left as typed. The text may get shorter."""
    return _replace(text, find_numbers(text), lambda span: span.digits)


def mask_digits(span: NumberSpan) -> str:
    """How a found number is shown to a person: phones ``139****5678``, IDs ``130681********123X``,
    account numbers in full (a 户号 is not secret and agents need it)."""
    if span.kind == "phone":
        return f"{span.digits[:3]}****{span.digits[-4:]}"
    if span.kind == "id_number":
        return f"{span.digits[:6]}********{span.digits[-4:]}"
    return span.digits


def mask_numbers(text: str) -> str:
    """``text`` with every phone and ID number masked, whatever its shape (for logs and transcripts)."""
    spans = [s for s in find_numbers(text) if s.kind != "account_no"]
    return _replace(text, spans, mask_digits)


def normalize_phone(raw: str) -> str:
    """The 11 digits of a mainland mobile number typed in any shape (``+86 139-1234-5678``,
    ``１３９ １２３４ ５６７８``); raises ValueError when ``raw`` is not exactly one such number."""
    stripped = (raw or "").strip()
    spans = find_numbers(stripped)
    if len(spans) == 1 and spans[0].kind == "phone" and spans[0].start == 0 and spans[0].end == len(stripped):
        return spans[0].digits
    digits = _digits(re.sub(r"[\s()（）]", "", stripped).lstrip(_PLUS))
    if digits.isdigit() and (phone := _phone_digits(digits, stripped[:1] in _PLUS)):
        return phone
    raise ValueError("not a mainland mobile number (11 digits starting with 1)")


def iter_account_numbers(text: str) -> Iterator[str]:
    """The account numbers (户号, 10 or 13 digits) in ``text``, canonical, in order."""
    return (s.digits for s in find_numbers(text) if s.kind == "account_no")
