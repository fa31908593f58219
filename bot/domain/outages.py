"""Outages: planned maintenance (计划停电) and faults (故障停电) — registering, changing, cancelling and
restoring them, and which ones affect a place.

Planned outages come from the marketing system (CSV import or the integration API), faults from the dispatch
system (供电服务指挥系统) through the integration API. Registering or changing one plans the notices to the
affected customers in the same transaction (:mod:`bot.domain.notices`); the worker sends them.

Times are naive UTC (the storage convention, :mod:`bot.clock`); a timezone-aware datetime passed in is
converted. The service pledge (notice 7 days ahead of a planned outage) is ``planned_outage_notice_days`` in
``service_rules.yml`` (供电服务承诺, see domain-facts).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import List, Optional, Sequence, Tuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.clock import utcnow
from bot.domain import audit, notices
from bot.domain.models import OUTAGE_KINDS, Outage
from bot.domain.places import Place


def _utc(dt: datetime) -> datetime:
    return dt.astimezone(timezone.utc).replace(tzinfo=None) if dt.tzinfo is not None else dt


def _villages(villages: Sequence[str]) -> str:
    cleaned = []
    for v in villages:
        name = (v or "").strip()
        if ";" in name:
            raise ValueError("a village name cannot contain ';'")
        if name and name not in cleaned:
            cleaned.append(name)
    return ";".join(cleaned)


def get(s: Session, outage_id: str) -> Outage:
    """The outage registered under ``outage_id``; LookupError when there is none."""
    outage = s.scalar(select(Outage).where(Outage.outage_id == outage_id))
    if outage is None:
        raise LookupError(f"no outage {outage_id!r}")
    return outage


def upsert(
    s: Session,
    *,
    outage_id: str,
    kind: str,
    township: str,
    villages: List[str],
    start: datetime,
    end: datetime,
    reason: str,
    actor: str,
    now: Optional[datetime] = None,
) -> Tuple[Outage, bool]:
    """Register an outage, or update the one with this ``outage_id`` (idempotent: the same values again
    change nothing and notify nobody). Returns ``(outage, created)``.

    ``villages`` empty = the whole township. ``start``/``end`` naive UTC or aware; for a fault ``end`` is the
    estimated restoration. A new outage plans its notices; a change of place or times (or of a fault's
    estimate) plans "changed" notices for everyone concerned; a cancelled outage registered again is
    scheduled again. Raises ValueError for an unknown kind, an empty township or ``end`` not after ``start``.
    """
    now = now or utcnow()
    if kind not in OUTAGE_KINDS:
        raise ValueError(f"kind must be one of {', '.join(OUTAGE_KINDS)}")
    township = (township or "").strip()
    if not township or not (outage_id or "").strip():
        raise ValueError("outage_id and township are required")
    start, end = _utc(start), _utc(end)
    if end <= start:
        raise ValueError("end must be after start")
    village_text = _villages(villages)
    outage = s.scalar(select(Outage).where(Outage.outage_id == outage_id))
    if outage is None:
        outage = Outage(outage_id=outage_id, kind=kind, status="scheduled", township=township,
                        villages=village_text, start=start, end=end, reason=reason or "", revision=1,
                        created_at=now, updated_at=now, updated_by=actor)
        s.add(outage)
        s.flush()
        audit.record(s, actor, "outage.register", "outage", outage_id, now=now, kind=kind, township=township)
        notices.plan_outage(s, outage, "announce", now=now)
        return outage, True
    changed = (outage.kind, outage.township, outage.villages, outage.start, outage.end) != (
        kind, township, village_text, start, end)
    revived = outage.status == "cancelled"
    if not changed and not revived and outage.reason == (reason or ""):
        return outage, False
    outage.kind, outage.township, outage.villages = kind, township, village_text
    outage.start, outage.end, outage.reason = start, end, reason or ""
    outage.updated_at, outage.updated_by = now, actor
    if changed or revived:
        outage.revision = (outage.revision or 1) + 1
        outage.status = "scheduled"
        outage.cancelled_at = outage.cancel_reason = None
    s.flush()
    audit.record(s, actor, "outage.update", "outage", outage_id, now=now, revision=outage.revision,
                 revived=revived)
    if changed or revived:
        notices.plan_outage(s, outage, "changed", now=now)
    return outage, False


def cancel(s: Session, outage_id: str, reason: str, actor: str, now: Optional[datetime] = None) -> Outage:
    """Cancel an outage; customers already told (or about to be) are told it is cancelled, and notices not
    yet sent about it are withdrawn. Cancelling twice changes nothing. LookupError for an unknown id."""
    now = now or utcnow()
    outage = get(s, outage_id)
    if outage.status == "cancelled":
        return outage
    outage.status = "cancelled"
    outage.cancel_reason = reason or ""
    outage.cancelled_at = outage.updated_at = now
    outage.updated_by = actor
    s.flush()
    audit.record(s, actor, "outage.cancel", "outage", outage_id, now=now)
    notices.plan_outage(s, outage, "cancelled", now=now)
    return outage


def restored(s: Session, outage_id: str, at: Optional[datetime], actor: str,
             now: Optional[datetime] = None) -> Outage:
    """Power is back (``at``, default now; naive UTC or aware): customers told of the outage, and those who
    reported it, are told. Restoring twice changes nothing. LookupError for an unknown id; ValueError for a
    cancelled outage."""
    now = now or utcnow()
    outage = get(s, outage_id)
    if outage.status == "restored":
        return outage
    if outage.status == "cancelled":
        raise ValueError("a cancelled outage cannot be restored")
    outage.status = "restored"
    outage.restored_at = _utc(at) if at is not None else now
    outage.updated_at, outage.updated_by = now, actor
    s.flush()
    audit.record(s, actor, "outage.restored", "outage", outage_id, now=now)
    notices.plan_outage(s, outage, "restored", now=now)
    return outage


def covers(outage: Outage, place: Place) -> bool:
    """Does the outage cover the place (its whole township when no village is known)?"""
    if place.township != outage.township:
        return False
    return not place.village or not outage.village_list or place.village in outage.village_list


def affecting(s: Session, place: Place, now: Optional[datetime] = None, days: int = 7) -> List[Outage]:
    """Planned outages in progress or starting within ``days`` that cover the place (its whole township when
    no village is known), soonest first; cancelled and restored ones are left out."""
    if not place.township:
        return []
    now = now or utcnow()
    q = (
        select(Outage)
        .where(Outage.township == place.township, Outage.kind == "planned", Outage.status == "scheduled",
               Outage.end > now,
               Outage.start < now + timedelta(days=days))
        .order_by(Outage.start)
    )
    return [o for o in s.scalars(q) if covers(o, place)]


def active_fault(s: Session, place: Place, now: Optional[datetime] = None) -> Optional[Outage]:
    """A fault outage in progress at the place (not yet restored), for telling a customer who writes in."""
    if not place.township:
        return None
    now = now or utcnow()
    q = select(Outage).where(Outage.township == place.township, Outage.kind == "fault",
                             Outage.status == "scheduled", Outage.start <= now).order_by(Outage.start.desc())
    return next((o for o in s.scalars(q) if covers(o, place)), None)
