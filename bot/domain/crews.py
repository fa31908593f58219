"""Field crews (班组) that tickets are assigned to, managed by administrators in the console."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Dict, List

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.clock import utcnow
from bot.domain import audit
from bot.domain.models import Crew


class CrewError(Exception):
    """A refused crew operation: ``reason`` is ``name`` (empty or too long) or ``exists``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _clean(name: str) -> str:
    name = " ".join(str(name or "").split())
    if not name or len(name) > 40:
        raise CrewError("name")
    return name


def by_name(s: Session, name: str) -> Crew | None:
    return s.scalar(select(Crew).where(Crew.name == " ".join(str(name or "").split())))


def all_crews(s: Session, active_only: bool = False) -> List[Crew]:
    q = select(Crew).order_by(Crew.name)
    if active_only:
        q = q.where(Crew.active.is_(True))
    return list(s.scalars(q))


def add(s: Session, name: str, actor: str, township: str | None = None, now: datetime | None = None) -> Crew:
    """A new active crew (unique name, 1–40 characters); raises :class:`CrewError`."""
    name = _clean(name)
    if by_name(s, name) is not None:
        raise CrewError("exists")
    crew = Crew(name=name, township=(township or "").strip()[:40] or None, active=True, created_at=now or utcnow())
    s.add(crew)
    s.flush()
    audit.record(s, actor, "crew.add", "crew", name, now=now, township=crew.township)
    return crew


def update(s: Session, crew: Crew, actor: str, name: str | None = None, township: str | None = None,
           active: bool | None = None, now: datetime | None = None) -> Crew:
    """Rename, move or (de)activate a crew. An inactive crew keeps its tickets but gets no new ones."""
    changes: Dict[str, Any] = {}
    if name is not None and _clean(name) != crew.name:
        new = _clean(name)
        if by_name(s, new) is not None:
            raise CrewError("exists")
        changes["name"] = [crew.name, new]
        crew.name = new
    if township is not None and (township.strip()[:40] or None) != crew.township:
        changes["township"] = [crew.township, township.strip()[:40] or None]
        crew.township = township.strip()[:40] or None
    if active is not None and active != crew.active:
        changes["active"] = [crew.active, active]
        crew.active = active
    if changes:
        audit.record(s, actor, "crew.update", "crew", crew.name, now=now, **changes)
    return crew
