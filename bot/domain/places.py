"""Where things are: townships and villages known from the records, and what area type they are.

A typed address ("东关村那边", "银坊镇北街12号") is resolved against the townships and villages that
occur in the accounts and planned outages, so outage matching and SLA area types follow the
marketing system's data instead of a hard-coded list.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from typing import Dict, Tuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.domain.models import Account, PlannedOutage

_VILLAGE_RE = re.compile(r"([\u4e00-\u9fa5]{1,6}?村)")
_TOWNSHIP_RE = re.compile(r"([\u4e00-\u9fa5]{1,5}?(?:镇|乡))")
_CACHE_SECONDS = 300.0


def village_of(address: str) -> str | None:
    """The village named in an address (the part ending in 村 after any 镇/乡), if any."""
    if not address:
        return None
    rest = address
    m = _TOWNSHIP_RE.search(address)
    if m:
        rest = address[m.end():]
    v = _VILLAGE_RE.search(rest)
    return v.group(1) if v else None


@dataclass(frozen=True)
class Place:
    township: str | None
    village: str | None
    area_type: str | None

    @property
    def known(self) -> bool:
        return self.township is not None


class _Gazetteer:
    """Townships (with their majority area type) and villages (with their township), cached."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loaded_at = 0.0
        self._key: str | None = None
        self.townships: Dict[str, str] = {}
        self.villages: Dict[str, str] = {}

    def load(self, s: Session) -> _Gazetteer:
        key = str(s.get_bind().url)
        with self._lock:
            if self._key == key and time.monotonic() - self._loaded_at < _CACHE_SECONDS:
                return self
            counts = s.execute(
                select(Account.township, Account.area_type, func.count()).group_by(Account.township, Account.area_type)
            ).all()
            best: Dict[str, Tuple[int, str]] = {}
            for township, area_type, n in counts:
                if township not in best or n > best[township][0]:
                    best[township] = (n, area_type)
            townships = {t: a for t, (_, a) in best.items()}
            for (t,) in s.execute(select(PlannedOutage.township).distinct()):
                townships.setdefault(t, "rural")
            villages: Dict[str, str] = {}
            for village, township in s.execute(
                select(Account.village, Account.township).where(Account.village.isnot(None)).distinct()
            ):
                villages.setdefault(village, township)
            for township, names in s.execute(select(PlannedOutage.township, PlannedOutage.villages)):
                for v in (names or "").split(";"):
                    if v:
                        villages.setdefault(v, township)
            self.townships, self.villages = townships, villages
            self._key, self._loaded_at = key, time.monotonic()
            return self

    def invalidate(self) -> None:
        with self._lock:
            self._loaded_at = 0.0


gazetteer = _Gazetteer()


def resolve(s: Session, text: str) -> Place:
    """Find the township / village a free-text place description refers to."""
    g = gazetteer.load(s)
    text = text or ""
    township = next((t for t in sorted(g.townships, key=len, reverse=True) if t in text), None)
    if township is None:
        # "东关" / "银坊" without the suffix
        township = next((t for t in g.townships if len(t) > 2 and t[:-1] in text), None)
    village = next((v for v in sorted(g.villages, key=len, reverse=True) if v in text or v[:-1] == text), None)
    if village is None and township is None:
        village = next((v for v in g.villages if len(v) > 2 and v[:-1] in text), None)
    if village and township is None:
        township = g.villages[village]
    area = g.townships.get(township) if township else None
    return Place(township, village, area)
