"""The append-only audit log: every access to personal data and every change a person makes.

Rows are only ever inserted; database triggers (see the initial migration) refuse UPDATE and DELETE
on ``audit_log`` in SQLite and PostgreSQL alike, so not even a bug in our code can rewrite history.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, List

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.clock import utcnow
from bot.domain.models import AuditEntry


def record(
    s: Session,
    actor: str,
    action: str,
    target_type: str = "",
    target_id: Any = "",
    outcome: str = "ok",
    now: datetime | None = None,
    **detail: Any,
) -> AuditEntry:
    """Append one entry. ``detail`` must not hold personal data in clear (mask it first)."""
    entry = AuditEntry(
        at=now or utcnow(),
        actor=actor,
        action=action,
        target_type=target_type,
        target_id=str(target_id),
        outcome=outcome,
        detail=detail,
    )
    s.add(entry)
    s.flush()
    return entry


def entries(
    s: Session,
    limit: int = 100,
    before_id: int | None = None,
    actor: str | None = None,
    action: str | None = None,
) -> List[AuditEntry]:
    """Newest first, optionally filtered, paged by id."""
    q = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if before_id is not None:
        q = q.where(AuditEntry.id < before_id)
    if actor:
        q = q.where(AuditEntry.actor == actor)
    if action:
        q = q.where(AuditEntry.action == action)
    return list(s.scalars(q))
