"""Fixed phrasings recognised before the model: turning a kind of service notice off and on, and "还没来电"
after a repair was reported resolved.

They are commands with a consequence (a preference stored, a ticket reopened), so they are matched by
pattern, not guessed by the classifier; the channels turn a match into the internal intent
(``notice_off`` / ``notice_on`` with the ``notice_topic`` entity, or ``power_not_restored``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Dict, Optional

#: what a customer names → the notice topic (bot.domain.notices.OPTIONAL_TOPICS)
_TOPICS = [(re.compile(r"停电|断电|停送电"), "outage"), (re.compile(r"电费|缴费|交费|欠费|余额|账单"), "bill")]
_NOTICE = r"(?:通知|提醒|消息|短信|推送)"
_OFF = re.compile(r"(?:不要|别|不用|不必|不想|无需|停止|取消|关闭|关掉|退订)(?:再|给我|给俺|)(?:发|推|通知|提醒|告诉)?.{0,6}"
                  + _NOTICE + r"|" + _NOTICE + r".{0,2}(?:不要了|别发了|取消|关闭|关掉|退订)")
_ON = re.compile(r"(?:恢复|开启|打开|重新开|继续)(?:发|接收|推送)?.{0,6}" + _NOTICE)
_NOT_RESTORED = re.compile(r"^(?:可是|但是|但)?(?:我家|俺家|家里)?(?:还是?没有?(?:来|通)?电|还是?停(?:电|着)|仍然?没电|还没恢复(?:供电)?)"
                           r"(?:呢|啊|呀|了)?[。.!！?？,，~～\s]*$")
MAX_COMMAND_CHARS = 24


@dataclass(frozen=True)
class Command:
    intent: str
    entities: Dict[str, str] = field(default_factory=dict)


def match(text: str) -> Optional[Command]:
    """The command a short customer message states, or None (longer messages go to the model)."""
    text = (text or "").strip()
    if not text or len(text) > MAX_COMMAND_CHARS:
        return None
    if _NOT_RESTORED.match(text):
        return Command("power_not_restored")
    for pattern, intent in ((_ON, "notice_on"), (_OFF, "notice_off")):
        if pattern.search(text):
            topic = next((t for p, t in _TOPICS if p.search(text)), None)
            if topic is not None:
                return Command(intent, {"notice_topic": topic})
    return None


__all__ = ["Command", "match"]
