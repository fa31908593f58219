"""Input normalisation for Chinese customer text.

Two entry points, one set of rules:

* :func:`clean_text` — what channels apply before a message reaches Rasa: full-width ASCII to
  half-width, emoji and control characters removed, runs of whitespace collapsed.
* :func:`to_halfwidth` / :func:`is_noise` — what the tokenizer applies inside the model. They never
  change text length or offsets, so annotated entity positions stay valid in training and evaluation
  (jieba would otherwise emit whitespace tokens that break featurisation, Rasa issue #7910).
"""

from __future__ import annotations

import re
import unicodedata

from bot.textnorm import to_halfwidth

__all__ = ["clean_text", "is_noise", "to_halfwidth"]

def _is_emoji_or_symbol(ch: str) -> bool:
    cat = unicodedata.category(ch)
    if cat in ("So", "Sk", "Cs", "Co", "Cn", "Cf", "Cc"):
        return True
    code = ord(ch)
    return 0x1F000 <= code <= 0x1FAFF or 0x2600 <= code <= 0x27BF or 0xFE00 <= code <= 0xFE0F


def is_noise(token: str) -> bool:
    """A token that carries no meaning for the model: whitespace, punctuation, emoji only."""
    return all(ch.isspace() or unicodedata.category(ch).startswith("P") or _is_emoji_or_symbol(ch) for ch in token)


_SPACES = re.compile(r"\s+")
_CJK = r"\u3400-\u9fff\uf900-\ufaff"
_SPACE_BETWEEN_CJK = re.compile(rf"(?<=[{_CJK}]) (?=[{_CJK}])")


def clean_text(text: str) -> str:
    """Channel-side normalisation of a customer's message (may shorten the text)."""
    text = to_halfwidth(unicodedata.normalize("NFC", text or ""))
    kept = []
    for ch in text:
        if ch.isspace():
            kept.append(" ")
        elif not _is_emoji_or_symbol(ch):
            kept.append(ch)
    text = _SPACES.sub(" ", "".join(kept)).strip()
    return _SPACE_BETWEEN_CJK.sub("", text)
