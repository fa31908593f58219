"""Server-side console sessions: the cookie holds a random token, the database only its SHA-256.

A session ends at the first of: sign-out, ``CONSOLE_SESSION_IDLE_MINUTES`` without a request,
``CONSOLE_SESSION_MAX_HOURS`` after sign-in, the user being disabled, or a password reset. Each
session carries its own CSRF token, which every state-changing request must echo back.
Sessions live in the database, so any Rasa server behind the load balancer accepts them.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session

from bot.clock import utcnow
from bot.domain.models import StaffSession, StaffUser

#: A request refreshes ``last_seen_at`` at most this often (polling must not write on every call).
TOUCH_EVERY = timedelta(seconds=60)


@dataclass(frozen=True)
class Lifetimes:
    idle: timedelta
    absolute: timedelta


def token_id(token: str) -> str:
    """The stored id of a session token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create(s: Session, user: StaffUser, lifetimes: Lifetimes, ip: str | None = None,
           now: datetime | None = None) -> tuple[str, StaffSession]:
    """A new session for ``user``; returns (cookie token, row). The token is never stored."""
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    row = StaffSession(id=token_id(token), staff_id=user.id, csrf_token=secrets.token_urlsafe(32), created_at=now,
                       last_seen_at=now, expires_at=now + lifetimes.absolute, ip=(ip or "")[:64] or None)
    s.add(row)
    s.flush()
    return token, row


def load(s: Session, token: str | None, lifetimes: Lifetimes, now: datetime | None = None) -> StaffSession | None:
    """The live session behind a cookie token, refreshed; None (and the row removed) when it has ended."""
    if not token or len(token) > 200:
        return None
    now = now or utcnow()
    row = s.get(StaffSession, token_id(token))
    if row is None:
        return None
    if row.expires_at <= now or row.last_seen_at + lifetimes.idle <= now or not row.staff.active:
        s.delete(row)
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
    return row


def csrf_ok(row: StaffSession, presented: str | None) -> bool:
    """Does the request carry this session's CSRF token?"""
    return bool(presented) and secrets.compare_digest(row.csrf_token.encode(), (presented or "").encode())


def revoke(s: Session, token: str | None) -> None:
    """Sign-out: forget the session behind ``token`` (nothing happens for an unknown token)."""
    if token and len(token) <= 200:
        s.execute(delete(StaffSession).where(StaffSession.id == token_id(token)))


def revoke_all(s: Session, user: StaffUser) -> int:
    """End every session of ``user`` (after a password reset); returns how many there were."""
    result = s.execute(delete(StaffSession).where(StaffSession.staff_id == user.id))
    return int(result.rowcount or 0)


def purge_expired(s: Session, lifetimes: Lifetimes, now: datetime | None = None) -> int:
    """Remove ended sessions (called now and then at sign-in so the table stays small)."""
    now = now or utcnow()
    result = s.execute(
        delete(StaffSession).where(
            (StaffSession.expires_at <= now) | (StaffSession.last_seen_at <= now - lifetimes.idle)
        )
    )
    return int(result.rowcount or 0)
