"""Serialising a check-then-create between processes: ``hold(s, key)``.

"Is there an open repair ticket for this village? No: open one" run by two Rasa servers at once (an
outage storm: hundreds of 停电了 from one village within a minute) opens two tickets. Holding a lock on
the village for the rest of the unit of work makes the second caller wait and then find the first
caller's ticket.

* PostgreSQL: a transaction-level advisory lock (``pg_advisory_xact_lock``) on a 63-bit hash of the key,
  released at commit or rollback.
* SQLite: the database's write lock, taken at once by a write that changes nothing; SQLite has one
  writer at a time, so every other writer waits (``busy_timeout``) until this transaction ends, and then
  reads what it wrote.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import text
from sqlalchemy.orm import Session


def _pg_key(key: str) -> int:
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big") >> 1


def hold(s: Session, key: str) -> None:
    """Hold ``key`` (any text, e.g. ``repair-area:银坊镇/北庄村``) until ``s``'s transaction ends; blocks
    while another transaction holds it. Raises whatever the database raises when waiting times out."""
    dialect = s.get_bind().dialect.name
    if dialect == "postgresql":
        s.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _pg_key(key)})
    elif dialect == "sqlite":
        s.execute(text("UPDATE attempt_counters SET tries = tries WHERE 0"))
    else:  # pragma: no cover - the product runs on SQLite or PostgreSQL only
        raise RuntimeError(f"locks need SQLite or PostgreSQL, not {dialect}")
