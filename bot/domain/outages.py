"""Planned outages: which ones affect a place now or in the coming days."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import List, Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.clock import utcnow
from bot.domain.models import PlannedOutage
from bot.domain.places import Place


def affecting(s: Session, place: Place, now: Optional[datetime] = None, days: int = 7) -> List[PlannedOutage]:
    """Outages in progress or starting within ``days`` that cover the place (its whole township when
    no village is known), soonest first."""
    if not place.township:
        return []
    now = now or utcnow()
    q = (
        select(PlannedOutage)
        .where(PlannedOutage.township == place.township, PlannedOutage.end > now,
               PlannedOutage.start < now + timedelta(days=days))
        .order_by(PlannedOutage.start)
    )
    found = []
    for outage in s.scalars(q):
        if not place.village or not outage.village_list or place.village in outage.village_list:
            found.append(outage)
    return found
