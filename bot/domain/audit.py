"""The append-only audit log: every access to personal data and every change a person makes.

Rows are only ever inserted; database triggers (see the initial migration) refuse UPDATE and DELETE
on ``audit_log`` in SQLite and PostgreSQL alike, so not even a bug in our code can rewrite history.

Because entries outlive the customers they mention (kept at least six months, Cybersecurity Law art. 21,
also after an erasure under the Personal Information Protection Law art. 47), they hold no personal
data in clear: a customer's conversation id (``wechat:<openid>``) is written as a keyed pseudonym
(:func:`subject`), the same for every entry of that customer and different from every lookup hash.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, List

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.clock import utcnow
from bot.domain.models import AuditEntry
from bot.domain.pii import cipher

#: target types whose ``target_id`` is a customer's conversation id (pseudonymised on write)
_CUSTOMER_TARGETS = ("conversation", "contact")


def subject(sender_id: str) -> str:
    """The audit log's pseudonym of a customer's conversation id: ``c-`` + 24 hex digits of a keyed hash
    (a reviewer holding the id finds its entries by computing it; the log alone reveals no openid)."""
    return "c-" + cipher().lookup_hash("audit-subject:" + sender_id)[:24]


def customer_actor(sender_id: str) -> str:
    """The ``actor`` of an entry a customer caused: ``customer:c-…``."""
    return "customer:" + subject(sender_id)


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
    """Append one entry. ``detail`` must not hold personal data in clear (mask it first); a customer's
    conversation id in ``actor`` (``customer:<sender_id>``) or in ``target_id`` of a conversation or
    contact is replaced by its pseudonym here."""
    if actor.startswith("customer:") and not actor.startswith("customer:c-"):
        actor = customer_actor(actor.removeprefix("customer:"))
    if target_type in _CUSTOMER_TARGETS and target_id and not str(target_id).startswith("c-"):
        target_id = subject(str(target_id))
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
