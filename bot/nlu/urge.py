"""Is a message an urge (催办)? ``催一下``, ``快点来``, ``怎么还没来`` after a report: the customer wants the
ticket hurried, not only its status. The intent stays ``query_repair_progress`` (nlu-contract); this
pattern tells the progress action to record the urge on the ticket too."""

from __future__ import annotations

import re

URGE = re.compile(r"催(?:一下|一催|促|办|了)?|怎么还(?:没|不)(?:来|到|修|派)|(?:快|赶紧)(?:点|些)?(?:来|派人|修)|等了?(?:好久|半天|很久)")


def is_urge(text: str | None) -> bool:
    """Does the customer hurry us in ``text``?"""
    return bool(text and URGE.search(text))
