"""Proof of ownership: binding a contact to an account with a one-time SMS code, and the check
every account read goes through.

Rules (all numbers from service_rules.yml ``binding``): a 6-digit code to the phone registered on the
account, valid ``code_ttl_minutes``; ``max_wrong_codes`` wrong codes typed for one account within
``wrong_codes_window_minutes`` — counted per *account*, across new codes and across customers — lock new
bindings of that account for ``lock_minutes`` (its owner's existing bindings keep working); at most
``codes_per_phone_per_hour`` / ``codes_per_phone_per_day`` codes to one phone and codes for at most
``accounts_per_sender_per_day`` accounts per customer, so nobody can use us to flood a stranger's phone
with SMS (each costs the company money); at most ``max_accounts_per_user`` accounts per contact. An SMS
contact texting from the registered phone is proof by itself (``phone_match``). Every attempt, granted
or refused, is audited.

The limits are :mod:`bot.domain.counters` (check and count in one statement), so customers guessing or
asking in parallel cannot get past them: a code is compared only after its try was counted.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import List

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.clock import utcnow
from bot.domain import audit, counters
from bot.domain.accounts import get_by_no, normalize_account_no
from bot.domain.models import Account, Binding, Contact, VerificationCode
from bot.domain.pii import cipher, mask_phone, phone_hash
from bot.domain.rules import Rules, get_rules


class BindingError(Exception):
    """A binding step refused; ``reason`` is a stable code the dialogue maps to a reply.

    A refusal still writes (the audit entry, the wrong-try count, a lock): callers catch it inside
    their unit of work and let the session commit."""

    REASONS = (
        "invalid_account_no",
        "unknown_account",
        "no_phone",
        "locked",
        "limit",
        "already_bound",
        "too_soon",
        "no_pending",
        "expired",
        "wrong_code",
        "not_bound",
        "sender_limit",
        "phone_limit",
    )

    def __init__(self, reason: str, **info: object) -> None:
        assert reason in self.REASONS, reason
        super().__init__(reason)
        self.reason = reason
        self.info = info


def _actor(contact: Contact) -> str:
    return f"customer:{contact.sender_id}"


def active_bindings(s: Session, contact: Contact) -> List[Binding]:
    q = (
        select(Binding)
        .where(Binding.contact_id == contact.id, Binding.unbound_at.is_(None))
        .order_by(Binding.verified_at)
    )
    return list(s.scalars(q))


def bound_accounts(s: Session, contact: Contact) -> List[Account]:
    """The accounts this contact has verified, oldest binding first."""
    return [b.account for b in active_bindings(s, contact)]


def authorize(s: Session, contact: Contact, account_no: str, purpose: str = "read") -> Account:
    """The account if ``contact`` has verified it; otherwise audit the attempt and raise not_bound.

    This is the only way dialogue code turns a typed or slotted 户号 into records.
    """
    try:
        number = normalize_account_no(account_no)
    except ValueError:
        number = str(account_no)[:20]
    for account in bound_accounts(s, contact):
        if account.account_no == number:
            return account
    audit.record(s, _actor(contact), "account.access", "account", number, outcome="denied", purpose=purpose)
    raise BindingError("not_bound", account_no=number)


def _code_hash(contact: Contact, account: Account, code: str) -> str:
    return cipher().lookup_hash(f"otp:{contact.id}:{account.id}:{code}")


@dataclass(frozen=True)
class Challenge:
    """A code to send. ``phone`` is in clear for the sender only; show ``masked_phone`` to people."""

    account_no: str
    code: str
    phone: str
    masked_phone: str
    expires_at: datetime


def start(
    s: Session, contact: Contact, account_no: str, now: datetime | None = None, rules: Rules | None = None
) -> Challenge:
    """Begin binding ``account_no``: issue a code for its registered phone (the caller sends it)."""
    now = now or utcnow()
    rules = rules or get_rules()
    try:
        number = normalize_account_no(account_no)
    except ValueError:
        raise BindingError("invalid_account_no") from None
    account = get_by_no(s, number)
    if account is None:
        audit.record(s, _actor(contact), "binding.start", "account", number, outcome="denied", now=now,
                     reason="unknown_account")
        raise BindingError("unknown_account", account_no=number)
    bound = bound_accounts(s, contact)
    if any(a.id == account.id for a in bound):
        raise BindingError("already_bound", account_no=number)
    if len(bound) >= rules.binding.max_accounts_per_user:
        raise BindingError("limit", limit=rules.binding.max_accounts_per_user)
    if account.bind_locked_until and account.bind_locked_until > now:
        audit.record(s, _actor(contact), "binding.start", "account", number, outcome="denied", now=now,
                     reason="locked")
        raise BindingError("locked", until=account.bind_locked_until)
    if not account.phone:
        raise BindingError("no_phone", account_no=number)
    previous = s.scalar(
        select(VerificationCode)
        .where(VerificationCode.contact_id == contact.id, VerificationCode.account_id == account.id)
        .order_by(VerificationCode.id.desc())
        .limit(1)
    )
    if (
        previous is not None
        and previous.consumed_at is None
        and (now - previous.created_at).total_seconds() < rules.binding.resend_interval_seconds
    ):
        raise BindingError("too_soon", seconds=rules.binding.resend_interval_seconds)
    _take_sending_slots(s, contact, account, now, rules)
    # a new code replaces any earlier one of this contact
    s.execute(
        update(VerificationCode)
        .where(VerificationCode.contact_id == contact.id, VerificationCode.consumed_at.is_(None))
        .values(consumed_at=now)
    )
    code = f"{secrets.randbelow(10**6):06d}"
    expires = now + timedelta(minutes=rules.binding.code_ttl_minutes)
    s.add(
        VerificationCode(
            contact_id=contact.id,
            account_id=account.id,
            code_hash=_code_hash(contact, account, code),
            created_at=now,
            expires_at=expires,
        )
    )
    audit.record(s, _actor(contact), "binding.code_sent", "account", number, now=now,
                 phone=mask_phone(account.phone))
    return Challenge(number, code, account.phone, mask_phone(account.phone), expires)


def _wrong_codes_key(account: Account) -> str:
    return f"bind-wrong:{account.id}"


def _take_sending_slots(s: Session, contact: Contact, account: Account, now: datetime, rules: Rules) -> None:
    """Count the code about to be sent against the customer's accounts a day and the phone's codes an
    hour and a day; raise ``sender_limit`` / ``phone_limit`` (audited, nothing counted) when one is full."""
    b = rules.binding
    day, hour = timedelta(days=1), timedelta(hours=1)
    tried_today = s.scalar(
        select(VerificationCode.id)
        .where(VerificationCode.contact_id == contact.id, VerificationCode.account_id == account.id,
               VerificationCode.created_at > now - day)
        .limit(1)
    )
    sender_key = f"bind-sender:{contact.id}"
    if tried_today is None:
        verdict = counters.take(s, sender_key, b.accounts_per_sender_per_day, day, now)
        if not verdict.allowed:
            audit.record(s, _actor(contact), "binding.start", "account", account.account_no, outcome="denied",
                         now=now, reason="sender_limit")
            raise BindingError("sender_limit", limit=b.accounts_per_sender_per_day)
    phone = (account.phone_hash or "")[:40]
    taken: List[str] = []
    for key, limit, window in ((f"otp-phone-d:{phone}", b.codes_per_phone_per_day, day),
                               (f"otp-phone-h:{phone}", b.codes_per_phone_per_hour, hour)):
        verdict = counters.take(s, key, limit, window, now)
        if not verdict.allowed:
            for done in taken:
                counters.release(s, done)
            if tried_today is None:
                counters.release(s, sender_key)
            audit.record(s, _actor(contact), "binding.start", "account", account.account_no, outcome="denied",
                         now=now, reason="phone_limit")
            raise BindingError("phone_limit", until=verdict.retry_at)
        taken.append(key)


def pending(s: Session, contact: Contact, now: datetime | None = None) -> VerificationCode | None:
    """The contact's latest unconsumed code, expired or not."""
    return s.scalar(
        select(VerificationCode)
        .where(VerificationCode.contact_id == contact.id, VerificationCode.consumed_at.is_(None))
        .order_by(VerificationCode.id.desc())
        .limit(1)
    )


def verify(
    s: Session, contact: Contact, code: str, now: datetime | None = None, rules: Rules | None = None
) -> Account:
    """Check a typed code against the contact's pending challenge; bind on success."""
    now = now or utcnow()
    rules = rules or get_rules()
    challenge = pending(s, contact, now)
    if challenge is None:
        raise BindingError("no_pending")
    account = s.get(Account, challenge.account_id)
    assert account is not None
    if account.bind_locked_until and account.bind_locked_until > now:
        audit.record(s, _actor(contact), "binding.verify", "account", account.account_no, outcome="denied",
                     now=now, reason="locked")
        raise BindingError("locked", until=account.bind_locked_until)
    if challenge.expires_at <= now:
        challenge.consumed_at = now
        audit.record(s, _actor(contact), "binding.verify", "account", account.account_no, outcome="denied",
                     now=now, reason="expired")
        raise BindingError("expired", account_no=account.account_no)
    # count the try before comparing: of parallel guesses at one account only max_wrong_codes are compared
    b = rules.binding
    key = _wrong_codes_key(account)
    verdict = counters.take(s, key, b.max_wrong_codes, timedelta(minutes=b.wrong_codes_window_minutes), now)
    if not verdict.allowed:
        audit.record(s, _actor(contact), "binding.verify", "account", account.account_no, outcome="denied",
                     now=now, reason="locked")
        raise BindingError("locked", until=account.bind_locked_until or verdict.retry_at)
    code = (code or "").strip()
    if not secrets.compare_digest(_code_hash(contact, account, code), challenge.code_hash):
        challenge.attempts += 1
        left = b.max_wrong_codes - verdict.count
        if left <= 0:
            challenge.consumed_at = now
            account.bind_locked_until = now + timedelta(minutes=b.lock_minutes)
            counters.lock(s, key, account.bind_locked_until)
        audit.record(s, _actor(contact), "binding.verify", "account", account.account_no, outcome="denied",
                     now=now, reason="wrong_code", attempts=challenge.attempts)
        if left <= 0:
            raise BindingError("locked", until=account.bind_locked_until)
        raise BindingError("wrong_code", attempts_left=left)
    counters.release(s, key)  # a right code is not a wrong try
    challenge.consumed_at = now
    _bind(s, contact, account, "sms_code", now)
    return account


def _bind(s: Session, contact: Contact, account: Account, method: str, now: datetime) -> Binding:
    binding = Binding(contact_id=contact.id, account_id=account.id, method=method, verified_at=now)
    s.add(binding)
    s.flush()
    audit.record(s, _actor(contact), "binding.bound", "account", account.account_no, now=now, method=method)
    return binding


def bind_by_phone(s: Session, contact: Contact, now: datetime | None = None,
                  rules: Rules | None = None) -> List[Account]:
    """For an SMS contact: bind every account registered to the phone it texts from (up to the limit)."""
    if contact.channel != "sms":
        return []
    now = now or utcnow()
    rules = rules or get_rules()
    bound = {a.id for a in bound_accounts(s, contact)}
    # an account the customer unbound stays unbound until they bind it again explicitly
    unbound = set(
        s.scalars(select(Binding.account_id).where(Binding.contact_id == contact.id, Binding.unbound_at.isnot(None)))
    )
    h = phone_hash(contact.external_id)
    candidates = s.scalars(select(Account).where(Account.phone_hash == h).order_by(Account.account_no))
    for account in candidates:
        if account.id in bound or account.id in unbound or len(bound) >= rules.binding.max_accounts_per_user:
            continue
        _bind(s, contact, account, "phone_match", now)
        bound.add(account.id)
    return bound_accounts(s, contact)


def unbind(s: Session, contact: Contact, account_no: str, now: datetime | None = None) -> Account:
    """Remove a binding of this contact; raises not_bound when there is none."""
    now = now or utcnow()
    account = authorize(s, contact, account_no, purpose="unbind")
    for b in active_bindings(s, contact):
        if b.account_id == account.id:
            b.unbound_at = now
    audit.record(s, _actor(contact), "binding.unbound", "account", account.account_no, now=now)
    return account
