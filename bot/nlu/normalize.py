"""Input normalisation for Chinese customer text.

Two entry points, one set of rules:

* :func:`clean_text` — what channels apply before a message reaches Rasa: full-width ASCII to
  half-width, traditional characters to simplified (OpenCC ``t2s``), emoji, WeChat emoticon codes
  (``[捂脸]``, ``/::)``) and control characters removed, phone/account numbers in groups joined
  (bot/textnorm.py), runs of whitespace collapsed. May shorten the text.
* :func:`for_model` — what the tokenizer applies inside the model, so the NLU's features, the regex
  entities and the month parser see the same text in training, evaluation and production. It never
  changes the text's length (what it drops becomes spaces), so annotated entity offsets stay valid:
  besides the above it blanks pleasantries before a request (``你好你好，在吗？我家停电了``), a second
  request after the first (``查下电费 顺便问下峰谷电咋申请`` reads ``查下电费``; :func:`second_request`
  gives the rest, which the dialogue offers) and, in a long message, the story before the request
  (a customer's request usually comes last).
* :func:`is_noise` — tokens that carry no meaning (whitespace, punctuation, emoji), dropped without
  changing offsets (jieba would otherwise emit whitespace tokens that break featurisation, Rasa
  issue #7910).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from typing import List, Tuple

import opencc

from bot.nlu.requests import find_second_request
from bot.nlu.wechat_emoticons import BRACKET_NAMES, SLASH_CODES
from bot.textnorm import find_numbers, normalize_numbers, to_halfwidth

__all__ = ["clean_text", "emoticon_spans", "for_model", "is_noise", "is_unintelligible", "second_request",
           "strip_emoticons", "to_halfwidth", "to_simplified", "LONG_MESSAGE", "FOCUS_CHARS", "VAGUE_WORDS"]

LONG_MESSAGE = 80  # characters: longer messages are read from their end (see for_model)
FOCUS_CHARS = 50  # characters kept at the end of a long message, extended to whole clauses


def _is_emoji_or_symbol(ch: str) -> bool:
    cat = unicodedata.category(ch)
    if cat in ("So", "Sk", "Cs", "Co", "Cn", "Cf", "Cc"):
        return True
    code = ord(ch)
    return 0x1F000 <= code <= 0x1FAFF or 0x2600 <= code <= 0x27BF or 0xFE00 <= code <= 0xFE0F


def is_noise(token: str) -> bool:
    """A token that carries no meaning for the model: whitespace, punctuation, emoji only."""
    return all(ch.isspace() or unicodedata.category(ch).startswith("P") or _is_emoji_or_symbol(ch) for ch in token)


@functools.lru_cache(maxsize=1)
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    """Traditional characters to simplified (OpenCC ``t2s``: 電費 → 电费, 上個月 → 上个月), same length.

    OpenCC converts phrases; where a phrase conversion would change the length, the text is converted
    character by character instead, so offsets into the text stay valid."""
    if not text or text.isascii():
        return text
    converted = _t2s().convert(text)
    if len(converted) == len(text):
        return converted
    return "".join(c if len(c := _t2s().convert(ch)) == 1 else ch for ch in text)


_SLASH = "|".join(re.escape(code) for code in sorted(SLASH_CODES, key=len, reverse=True))
_BRACKET = re.compile(r"\[([^\[\]\s]{1,12})\]")
_SLASH_RE = re.compile(rf"(?:{_SLASH})", re.IGNORECASE)


def emoticon_spans(text: str) -> List[Tuple[int, int]]:
    """Where WeChat emoticon codes stand in ``text`` (``[捂脸]``, ``[强]``, ``[OK]``, ``/::)``, ``/:strong``),
    as (start, end) offsets, left to right. Bracketed words that are no emoticon name stay text."""
    spans = [(m.start(), m.end()) for m in _BRACKET.finditer(text) if m.group(1) in BRACKET_NAMES
             or m.group(1).upper() in ("OK", "NO")]
    spans += [(m.start(), m.end()) for m in _SLASH_RE.finditer(text)]
    spans.sort()
    merged: List[Tuple[int, int]] = []
    for start, end in spans:
        if merged and start < merged[-1][1]:
            continue
        merged.append((start, end))
    return merged


def _blank(text: str, spans: List[Tuple[int, int]]) -> str:
    chars = list(text)
    for start, end in spans:
        chars[start:end] = " " * (end - start)
    return "".join(chars)


def strip_emoticons(text: str) -> str:
    """``text`` without WeChat emoticon codes (each replaced by a space: same length)."""
    return _blank(text, emoticon_spans(text))


_SPACES = re.compile(r"\s+")
_CJK = r"\u3400-\u9fff\uf900-\ufaff"
_SPACE_BETWEEN_CJK = re.compile(rf"(?<=[{_CJK}]) (?=[{_CJK}])")


def clean_text(text: str) -> str:
    """Channel-side normalisation of a customer's message (may shorten the text): half-width,
    simplified, without emoji and emoticon codes, numbers in groups joined (``139 1234 5678`` →
    ``13912345678``), whitespace collapsed. A message of only stickers becomes empty."""
    text = to_simplified(to_halfwidth(unicodedata.normalize("NFC", text or "")))
    text = strip_emoticons(text)
    kept = []
    for ch in text:
        if ch.isspace():
            kept.append(" ")
        elif not _is_emoji_or_symbol(ch):
            kept.append(ch)
    text = normalize_numbers(_SPACES.sub(" ", "".join(kept)).strip())
    return _SPACE_BETWEEN_CJK.sub("", text)


# Greetings and calls for attention before the request ("你好你好，在吗？我家停电了"). A message that is
# nothing else keeps them (it is a greeting).
# An address (客服, 师傅, 小助手) is a pleasantry only when a pause or a greeting follows it: in "师傅啥时候来",
# "客服态度不好", "客服热线多少" it is part of the request. "打扰一下" is tried before "打扰" (else "一下" is
# left as the request). Latin greetings only as whole words.
_GREETING_WORDS = r"你们?好|您好|你好呀|在吗|在么|在嘛|在不在|在不|在没"
_PLEASANTRY = re.compile(
    r"^(?:\s|[,，.。!！?？~～、…]|(?:你们?好|您好|你好呀|哈喽|嗨|(?:hello|hi)(?![a-z])|喂+|在吗|在么|在嘛|在不在|在不|在没|"
    r"有人吗|有人没|有人在吗|(?:客服|小助手|师傅)(?=\s|[,，.。!！?？~～、…]|" + _GREETING_WORDS + r"|$)|"
    r"打扰一下|打扰了?|麻烦(?:问|请问)?一?下|请问一?下?|问一?下|早上好|上午好|下午好|晚上好)"
    r"[啊呀呢哈嘛哇吖]*)+",
    re.IGNORECASE,
)
_CLAUSE_END = re.compile(r"[,，.。!！?？;；\n]")


def _pleasantry_prefix(text: str) -> int:
    """How many leading characters are pleasantries before a request (0 when the message is only them)."""
    m = _PLEASANTRY.match(text)
    if not m or not m.group(0).strip():
        return 0
    rest = text[m.end():]
    return m.end() if len(re.findall(rf"[{_CJK}A-Za-z0-9]", rest)) >= 2 else 0


def _focus_start(text: str) -> int:
    """Where the part of a long message that matters starts: the last clauses, about FOCUS_CHARS
    characters, cut at a clause boundary. Number shapes earlier in the text are kept separately."""
    if len(text) <= LONG_MESSAGE:
        return 0
    start = len(text) - FOCUS_CHARS
    boundaries = [m.end() for m in _CLAUSE_END.finditer(text, 0, start)]
    if boundaries:
        return boundaries[-1]
    later = _CLAUSE_END.search(text, start)
    # no clause boundary before: start at the next one, unless that leaves too little to read
    return later.end() if later and len(text) - later.end() >= FOCUS_CHARS // 2 else start


def second_request(text: str) -> str | None:
    """The words of a second request in ``text`` (``查下电费 顺便问下峰谷电咋申请`` → ``峰谷电咋申请``),
    half-width, simplified and without emoticon codes; None when the message asks one thing or is long
    (a long message is read from its last clauses). :func:`for_model` blanks this part."""
    if not text:
        return None
    text = strip_emoticons(to_simplified(to_halfwidth(text)))
    if _focus_start(text):
        return None
    second = find_second_request(text, _pleasantry_prefix(text))
    return _SPACES.sub(" ", second.text).strip() if second is not None else None


def for_model(text: str) -> str:
    """The text the NLU reads, **same length** as ``text`` (dropped parts become spaces): half-width,
    simplified, emoticon codes, pleasantries before a request and a second request after the first
    blanked, a long message reduced to its
    last clauses (and the account/phone numbers before them), number shapes in groups written as
    their digits (padded with spaces)."""
    if not text:
        return text
    text = strip_emoticons(to_simplified(to_halfwidth(text)))
    blanks: List[Tuple[int, int]] = []
    focus = _focus_start(text)
    numbers = find_numbers(text)
    if focus:
        kept = [(s.start, s.end) for s in numbers if s.end <= focus]
        cursor = 0
        for start, end in kept:
            blanks.append((cursor, start))
            cursor = end
        blanks.append((cursor, focus))
    else:
        prefix = _pleasantry_prefix(text)
        if prefix:
            blanks.append((0, prefix))
        second = find_second_request(text, prefix)
        if second is not None:
            blanks.append((second.joint, len(text)))
    text = _blank(text, blanks)
    chars = list(text)
    for span in find_numbers(text):
        if span.end - span.start != len(span.digits) and span.end - span.start >= len(span.digits):
            chars[span.start:span.end] = list(span.digits.ljust(span.end - span.start))
    return "".join(chars)


# Words that name nothing: a message made only of them ("那个东西咋整啊") says no request, whatever the
# classifier guesses. Answers (好/中/对/是/可以/嗯/不) and calls (在/喂) are not among them.
VAGUE_WORDS = frozenset("""
那个 这个 那 这 那些 这些 东西 玩意 玩意儿 咋 咋整 咋弄 咋办 咋搞 咋个 咋样 怎么 怎么办 怎么弄 怎么整 怎么搞 怎么回事 咋回事
怎样 啥 啥子 什么 整 弄 搞 办 啊 呀 哎 哎呀 唉 哦 噢 吗 呢 吧 哈 了 的 得 地 我 你 他 她 它 俺 咱 我们 你们 他们
这样 那样 一下 一个 个 就 都 也 还 又 呃 额 诶 哇 嘿 嘛 么 哪 哪个 这是 那是 事 事儿 回事 这种 那种 情况 问题 问 想
要 能 会 有点 有些 一些 个事 说 看 给 把 被 让 跟 和 呗 嘞 哩 咧 么样 样
""".split())
_FILLER_CHARS = frozenset("啊阿哦噢呃额哈呵嘿唉哎诶哇呀嘛吧呢么")
# short English a customer may send that is not gibberish (the opt-out words are the SMS channel's)
KNOWN_ASCII_WORDS = frozenset("""
ok okay hi hello hey yes no thanks thank thx bye help stop start please td gd kwh sms app wifi ev pv ic
""".split())


# a word typed in pinyin ("dianfei zenme jiao") is Chinese without characters, not gibberish
_PINYIN = re.compile(
    r"(?:(?:zh|ch|sh|[bpmfdtnlgkhjqxrzcsyw])?"
    r"(?:iang|iong|uang|ang|eng|ing|ong|ian|iao|uai|uan|van|ai|ei|ao|ou|an|en|in|un|vn|ia|ie|iu|ua|uo|ui|ue|ve|er"
    r"|a|o|e|i|u|v))+"
)


def is_unintelligible(text: str, tokens: List[str] | None = None) -> Tuple[bool, bool]:
    """Is ``text`` without any known word? Returns (unintelligible, certain).

    *Certain*: nothing but punctuation (``？？？``), a filler sound repeated (``啊啊啊啊``), or Latin letters
    that are no word (``asdfgh``). *Not certain*: only vague words (``那个东西咋整啊``, :data:`VAGUE_WORDS`,
    judged on ``tokens`` when given) — the caller decides with the classifier's guess. Digits are never
    unintelligible (an account number, a code, a choice)."""
    body = "".join(ch for ch in for_model(text or "") if not ch.isspace() and not is_noise(ch))
    if not body:
        return bool((text or "").strip()), True
    if any(ch.isdigit() for ch in body):
        return False, True
    if body.isascii():
        words = re.findall(r"[a-z]+", (text or "").lower())
        known = any(w in KNOWN_ASCII_WORDS or _PINYIN.fullmatch(w) for w in words)
        return (bool(words) and not known), True
    if len(body) >= 2 and set(body) <= _FILLER_CHARS:
        return True, True
    words = [t for t in (tokens if tokens is not None else [body]) if t and not is_noise(t)]
    return bool(words) and all(w in VAGUE_WORDS for w in words), False
