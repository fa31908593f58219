"""Staff users (agents, supervisors, administrators, dispatchers): passwords, roles, login throttling.

Passwords are hashed with scrypt (a per-user random salt); after ``MAX_FAILED`` wrong passwords the
username is locked for ``LOCK_MINUTES``, so a password cannot be guessed online. The failures are
counted per *username typed*, known or not, in :mod:`bot.domain.counters` (check and count in one
statement, so parallel sign-ins cannot check more than ``MAX_FAILED`` passwords), and an unknown
username costs one scrypt against a dummy hash, like a wrong password: neither the time of the answer
nor the "locked" message tells which usernames exist.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from typing import List

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.clock import utcnow
from bot.domain import audit, counters
from bot.domain.models import STAFF_ROLES, StaffUser

MAX_FAILED = 5
LOCK_MINUTES = 15
_N, _R, _P = 2**14, 8, 1

#: What each role may do; the console checks these on the server for every request.
PERMISSIONS = {
    "agent": {"queue.view", "conversation.take", "conversation.reply", "conversation.handback",
              "conversation.close", "ticket.create", "ticket.update"},
    "supervisor": {"queue.view", "conversation.take", "conversation.reply", "conversation.handback",
                   "conversation.close", "ticket.create", "ticket.update", "conversation.view_all",
                   "conversation.takeover_any", "pii.reveal", "audit.view", "metrics.view",
                   "quality.score", "quality.manage", "canned.manage"},
    "admin": {"queue.view", "conversation.view_all", "audit.view", "metrics.view", "staff.manage"},
}
# The back office (issue 12): dispatchers (供电所/抢修班) work the ticket queue — status, crews, merges,
# notes, inspections; supervisors too, and they flag key customers; administrators see the queue and
# manage crews. Agents keep ``ticket.update``: correcting the description of, and adding notes to,
# tickets of the conversations they handle.
PERMISSIONS["dispatcher"] = {"tickets.view", "tickets.work", "crews.view", "escalations.view",
                             "inspection.create", "media.view"}
PERMISSIONS["supervisor"] |= {"tickets.view", "tickets.work", "crews.view", "escalations.view",
                              "inspection.create", "media.view", "key_customer.set"}
PERMISSIONS["admin"] |= {"tickets.view", "crews.view", "crews.manage", "escalations.view", "media.view"}
# customers' requests about their personal data (`我的信息`, `删除我的个人信息`; bot.domain.privacy): tickets only
# supervisors and administrators see, in the ticket queue, and carry out with bot export-customer / erase-customer
PERMISSIONS["supervisor"] |= {"privacy_requests.view"}
PERMISSIONS["admin"] |= {"privacy_requests.view"}


#: The sign-in refusals; the same two for unknown and real usernames.
WRONG = "用户名或密码错误"
LOCKED = "登录失败次数过多，请稍后再试"


class StaffError(Exception):
    """A staff operation refused (unknown user, bad role, weak password, locked, wrong password)."""


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return f"scrypt${_N}${_R}${_P}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def check_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    candidate = hashlib.scrypt(
        password.encode("utf-8"), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p), dklen=32
    )
    return hmac.compare_digest(candidate, base64.b64decode(digest))


def has_permission(user: StaffUser, permission: str) -> bool:
    return user.active and permission in PERMISSIONS.get(user.role, set())


def add(s: Session, username: str, role: str, password: str | None = None, display_name: str | None = None,
        actor: str = "system") -> tuple:
    """Create a staff user; returns (user, password) — a strong password is generated when none is given."""
    if role not in STAFF_ROLES:
        raise StaffError(f"role must be one of {', '.join(STAFF_ROLES)}")
    username = username.strip()
    if not username or len(username) > 40:
        raise StaffError("username must be 1–40 characters")
    if s.scalar(select(StaffUser).where(StaffUser.username == username)) is not None:
        raise StaffError(f"staff user {username!r} exists already")
    password = password or secrets.token_urlsafe(12)
    if len(password) < 10:
        raise StaffError("password must be at least 10 characters")
    user = StaffUser(username=username, display_name=display_name or username, role=role,
                     password_hash=hash_password(password))
    s.add(user)
    s.flush()
    audit.record(s, actor, "staff.add", "staff", username, role=role)
    return user, password


def get(s: Session, username: str) -> StaffUser | None:
    return s.scalar(select(StaffUser).where(StaffUser.username == username))


def all_users(s: Session) -> List[StaffUser]:
    return list(s.scalars(select(StaffUser).order_by(StaffUser.username)))


#: Checked for unknown and disabled usernames, so they cost one scrypt with the real parameters, as a
#: wrong password does. Its digest is random bytes: no password is known to match it.
_DUMMY_HASH = f"scrypt${_N}${_R}${_P}$0Xzb9bM7mC3Q1kC1nYl0Ew==$J3v9yT4b0mX1o8yq6V3iQm7JrG4mJ6cW0bqN9m2t5yE="


def login_key(username: str) -> str:
    """The attempt counter of sign-ins with ``username`` (as typed, existing or not)."""
    return "staff-login:" + hashlib.sha256(username.encode("utf-8")).hexdigest()[:40]


def locked_until(s: Session, username: str, now: datetime | None = None) -> datetime | None:
    """When the sign-in lock of ``username`` ends (naive UTC), or None."""
    return counters.locked_until(s, login_key(username), now)


def authenticate(s: Session, username: str, password: str, now: datetime | None = None) -> StaffUser:
    """The user if the password is right and the account usable; raises :class:`StaffError` (``WRONG`` or
    ``LOCKED``) otherwise.

    Each attempt takes a slot of the username's counter *before* the password is checked (one
    statement, so parallel attempts cannot all slip under the limit); a right password gives it back,
    the ``MAX_FAILED``-th wrong one locks the username for ``LOCK_MINUTES``. Unknown and disabled
    usernames go the same way, hashing once against a dummy hash. Every attempt is audited.
    """
    now = now or utcnow()
    name = username[:40]
    key = login_key(name)
    verdict = counters.take(s, key, MAX_FAILED, timedelta(minutes=LOCK_MINUTES), now)
    if not verdict.allowed:
        audit.record(s, f"staff:{name}", "staff.login", "staff", name, outcome="denied", now=now, reason="locked")
        raise StaffError(LOCKED)
    user = get(s, name)
    usable = user is not None and user.active
    stored = user.password_hash if user is not None and usable else _DUMMY_HASH
    if not check_password(password, stored) or not usable:
        if verdict.count >= MAX_FAILED:
            counters.lock(s, key, now + timedelta(minutes=LOCK_MINUTES))
        audit.record(s, f"staff:{name}", "staff.login", "staff", name, outcome="denied", now=now,
                     reason="password" if usable else "unknown")
        raise StaffError(WRONG)
    assert user is not None
    counters.clear(s, key)
    audit.record(s, f"staff:{user.username}", "staff.login", "staff", user.username, now=now)
    return user


def set_active(s: Session, user: StaffUser, active: bool, actor: str, now: datetime | None = None) -> StaffUser:
    """Enable or disable a staff user. A disabled user cannot sign in and every open session of theirs
    stops working at its next request (the console checks ``active`` on each one)."""
    if user.active != active:
        user.active = active
        audit.record(s, actor, "staff.enable" if active else "staff.disable", "staff", user.username, now=now)
    return user


def reset_password(s: Session, user: StaffUser, actor: str, password: str | None = None,
                   now: datetime | None = None) -> str:
    """Give ``user`` a new password (a strong generated one unless given) and lift any lockout."""
    password = password or secrets.token_urlsafe(12)
    if len(password) < 10:
        raise StaffError("password must be at least 10 characters")
    user.password_hash = hash_password(password)
    counters.clear(s, login_key(user.username))
    audit.record(s, actor, "staff.reset_password", "staff", user.username, now=now)
    return password
