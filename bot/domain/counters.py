"""Attempt counters kept in the database, checked and counted in one statement.

Guessing (passwords, verification codes) and costly requests (codes sent by SMS) are limited by
counting attempts per key: a username's sign-ins, an account's wrong codes, the codes sent to one
phone. Reading a count and then writing it lets parallel requests all read "below the limit" and all
go ahead (40 parallel sign-ins once checked 28 passwords against a limit of 5). Here :func:`take`
is one conditional UPDATE: the database serialises it (a row lock in PostgreSQL, the write lock in
SQLite), so at most ``limit`` attempts per window ever get through, whichever process serves them.
SQLAlchemy 1.4 cannot compile ``UPDATE … RETURNING`` for SQLite, so the count is read back inside the
same transaction, after the UPDATE, while the row is still locked by it.

A counter's window starts with its first attempt and lasts ``window``; :func:`lock` closes the key
until a given time whatever the count (e.g. 30 minutes after the fifth wrong code). Keys hold no
personal data in clear (callers pass ids or keyed hashes).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, case, delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bot.clock import utcnow
from bot.domain.models import AttemptCounter

MAX_KEY = 120


@dataclass(frozen=True)
class Verdict:
    """The answer of :func:`take`: ``allowed`` (and then counted as attempt number ``count`` of the
    window), or refused until ``retry_at`` (naive UTC)."""

    allowed: bool
    count: int
    retry_at: datetime | None = None


def _key(key: str) -> str:
    if not key or len(key) > MAX_KEY:
        raise ValueError(f"counter key must be 1..{MAX_KEY} characters")
    return key


def _ensure(s: Session, key: str, now: datetime) -> None:
    values = {"name": key, "window_start": now, "tries": 0}
    dialect = s.get_bind().dialect.name
    if dialect == "postgresql":
        stmt = postgresql.insert(AttemptCounter).values(**values).on_conflict_do_nothing(index_elements=["name"])
    elif dialect == "sqlite":
        stmt = sqlite.insert(AttemptCounter).values(**values).on_conflict_do_nothing(index_elements=["name"])
    else:  # pragma: no cover - the product runs on SQLite or PostgreSQL only
        raise RuntimeError(f"attempt counters need SQLite or PostgreSQL, not {dialect}")
    s.execute(stmt)


def take(s: Session, key: str, limit: int, window: timedelta, now: datetime | None = None) -> Verdict:
    """Count one attempt of ``key`` if it is below ``limit`` in its current window and not locked.

    Check and count are one statement, so of N parallel callers at most ``limit`` are allowed. The
    count stays with the caller's transaction (a refusal the caller commits is counted too).
    """
    key, now = _key(key), now or utcnow()
    _ensure(s, key, now)
    c = AttemptCounter.__table__.c
    fresh = or_(and_(c.locked_until.isnot(None), c.locked_until <= now),
                and_(c.locked_until.is_(None), c.window_start <= now - window))
    result = s.execute(
        update(AttemptCounter)
        .where(c.name == key, or_(fresh, and_(c.locked_until.is_(None), c.tries < limit)))
        .values(tries=case((fresh, 1), else_=c.tries + 1),
                window_start=case((fresh, now), else_=c.window_start),
                locked_until=case((fresh, None), else_=c.locked_until))
        .execution_options(synchronize_session=False)
    )
    row = s.execute(select(c.tries, c.window_start, c.locked_until).where(c.name == key)).one()
    if result.rowcount:
        return Verdict(True, int(row.tries))
    retry_at = row.locked_until if row.locked_until and row.locked_until > now else row.window_start + window
    return Verdict(False, int(row.tries), retry_at)


def release(s: Session, key: str) -> None:
    """Give back one attempt (it turned out legitimate: the right password, the right code)."""
    c = AttemptCounter.__table__.c
    s.execute(update(AttemptCounter).where(c.name == _key(key), c.tries > 0).values(tries=c.tries - 1)
              .execution_options(synchronize_session=False))


def lock(s: Session, key: str, until: datetime) -> None:
    """Refuse every attempt of ``key`` until ``until`` (naive UTC); afterwards it starts again at 0."""
    c = AttemptCounter.__table__.c
    s.execute(update(AttemptCounter).where(c.name == _key(key)).values(locked_until=until)
              .execution_options(synchronize_session=False))


def locked_until(s: Session, key: str, now: datetime | None = None) -> datetime | None:
    """When the lock on ``key`` ends (naive UTC), or None when it is not locked."""
    now = now or utcnow()
    until = s.scalar(select(AttemptCounter.locked_until).where(AttemptCounter.name == _key(key)))
    return until if until and until > now else None


def clear(s: Session, key: str) -> None:
    """Forget ``key``'s attempts and lock (a successful sign-in, an administrator's reset)."""
    s.execute(delete(AttemptCounter).where(AttemptCounter.name == _key(key)).execution_options(synchronize_session=False))
