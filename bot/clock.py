"""Time: stored as naive UTC, shown in the utility's local time (Asia/Shanghai).

Domain functions take ``now`` as a parameter (default :func:`utcnow`) so tests state the time they
mean instead of patching the clock.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

from bot.config import LOCAL_TZ

TZ = ZoneInfo(LOCAL_TZ)


def utcnow() -> datetime:
    """Now, as naive UTC (the storage convention)."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def to_local(dt: datetime) -> datetime:
    """A stored naive-UTC datetime as an aware local one."""
    return dt.replace(tzinfo=timezone.utc).astimezone(TZ)


def local_to_utc(dt: datetime) -> datetime:
    """A local datetime (naive = Asia/Shanghai, or aware) as naive UTC."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=TZ)
    return dt.astimezone(timezone.utc).replace(tzinfo=None)


def local_today(now: datetime | None = None) -> date:
    """Today's date in local time."""
    return to_local(now or utcnow()).date()


def fmt_local(dt: datetime, with_date: bool = True) -> str:
    """A stored datetime the way customers read it: ``11月27日 14:30``."""
    local = to_local(dt)
    if not with_date:
        return local.strftime("%H:%M")
    return f"{local.month}月{local.day}日 {local.strftime('%H:%M')}"
