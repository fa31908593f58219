"""Console sign-in state: server-side sessions with idle and absolute expiry, per-session CSRF tokens,
per-address throttling (in-process and shared through Redis), and the canned replies file."""

from __future__ import annotations

import hashlib
import threading
import uuid
from datetime import datetime, timedelta
from typing import Any, Callable, Iterator, List

import pytest
import redis
from sqlalchemy import select

from bot.config import get_settings
from bot.console import canned, service, sessions
from bot.console.throttle import MemoryThrottle, RedisThrottle
from bot.domain import staff
from bot.domain.models import AuditEntry, StaffSession

REDIS_URL = "redis://127.0.0.1:6379/0"

LIFE = sessions.Lifetimes(idle=timedelta(minutes=30), absolute=timedelta(hours=12))
T0 = datetime(2026, 11, 27, 2, 0, 0)


def _user(s, name="agent1", role="agent"):
    user, _password = staff.add(s, name, role, "correct-horse-battery")
    return user


def test_the_cookie_token_is_not_stored_only_its_hash(db):
    with db.session() as s:
        token, row = sessions.create(s, _user(s), LIFE, ip="10.0.0.1", now=T0)
        assert row.id == sessions.token_id(token) and token not in row.id
        stored = list(s.scalars(select(StaffSession)))
        assert [r.id for r in stored] == [row.id]
        assert len(row.csrf_token) >= 32 and row.csrf_token != token
    with db.session() as s:
        found = sessions.load(s, token, LIFE, now=T0 + timedelta(minutes=5))
        assert found is not None and found.staff.username == "agent1"
        assert sessions.load(s, token + "x", LIFE, now=T0) is None
        assert sessions.load(s, None, LIFE, now=T0) is None


def test_idle_sessions_end_and_requests_keep_them_alive(db):
    with db.session() as s:
        token, _row = sessions.create(s, _user(s), LIFE, now=T0)
    with db.session() as s:  # activity after 20 minutes moves the idle deadline
        assert sessions.load(s, token, LIFE, now=T0 + timedelta(minutes=20)) is not None
    with db.session() as s:
        assert sessions.load(s, token, LIFE, now=T0 + timedelta(minutes=45)) is not None
    with db.session() as s:  # 30 minutes without a request
        assert sessions.load(s, token, LIFE, now=T0 + timedelta(minutes=76)) is None
    with db.session() as s:  # and the ended session is gone for good
        assert s.scalar(select(StaffSession)) is None


def test_sessions_end_after_the_absolute_lifetime_however_active(db):
    with db.session() as s:
        token, _row = sessions.create(s, _user(s), LIFE, now=T0)
    at = T0 + timedelta(minutes=20)
    while at < T0 + timedelta(hours=12):  # a request every 20 minutes all day
        with db.session() as s:
            assert sessions.load(s, token, LIFE, now=at) is not None
        at += timedelta(minutes=20)
    with db.session() as s:
        assert sessions.load(s, token, LIFE, now=T0 + timedelta(hours=12)) is None


def test_disabling_a_user_ends_their_sessions_and_a_password_reset_can_revoke_them(db):
    with db.session() as s:
        user = _user(s)
        token, _row = sessions.create(s, user, LIFE, now=T0)
        other_token, _row = sessions.create(s, user, LIFE, now=T0)
    with db.session() as s:
        staff.set_active(s, staff.get(s, "agent1"), False, actor="staff:admin")
    with db.session() as s:
        assert sessions.load(s, token, LIFE, now=T0 + timedelta(minutes=1)) is None
        staff.set_active(s, staff.get(s, "agent1"), True, actor="staff:admin")
    with db.session() as s:
        assert sessions.load(s, other_token, LIFE, now=T0 + timedelta(minutes=1)) is not None
        assert sessions.revoke_all(s, staff.get(s, "agent1")) == 1
    with db.session() as s:
        assert sessions.load(s, other_token, LIFE, now=T0 + timedelta(minutes=2)) is None


def test_sign_out_forgets_the_session_and_expired_ones_are_purged(db):
    with db.session() as s:
        user = _user(s)
        token, _row = sessions.create(s, user, LIFE, now=T0)
        old, _row = sessions.create(s, user, LIFE, now=T0 - timedelta(hours=1))
    with db.session() as s:
        assert sessions.purge_expired(s, LIFE, now=T0) == 1
        sessions.revoke(s, token)
        sessions.revoke(s, "never-issued")
    with db.session() as s:
        assert sessions.load(s, token, LIFE, now=T0) is None
        assert s.scalar(select(StaffSession)) is None


def test_csrf_token_must_match_the_session(db):
    with db.session() as s:
        _token, row = sessions.create(s, _user(s), LIFE, now=T0)
        assert sessions.csrf_ok(row, row.csrf_token)
        assert not sessions.csrf_ok(row, None)
        assert not sessions.csrf_ok(row, "")
        assert not sessions.csrf_ok(row, row.csrf_token[:-1])


def test_reset_password_gives_a_new_password_and_lifts_the_lockout(db):
    with db.session() as s:
        _user(s)
    for _ in range(staff.MAX_FAILED):
        with db.session() as s:
            with pytest.raises(staff.StaffError):
                staff.authenticate(s, "agent1", "wrong password!")
    with db.session() as s:
        with pytest.raises(staff.StaffError, match="稍后"):
            staff.authenticate(s, "agent1", "correct-horse-battery")
        password = staff.reset_password(s, staff.get(s, "agent1"), actor="staff:admin")
    with db.session() as s:
        assert staff.authenticate(s, "agent1", password).username == "agent1"
        with pytest.raises(staff.StaffError):
            staff.authenticate(s, "agent1", "correct-horse-battery")


def test_memory_throttle_blocks_an_address_after_the_limit_and_successes_do_not_count():
    throttle = MemoryThrottle(limit=3, window=60)
    assert throttle.acquire("10.0.0.1") == 0
    throttle.release("10.0.0.1")  # that sign-in succeeded
    for _ in range(3):
        assert throttle.acquire("10.0.0.1") == 0
    assert 0 < throttle.acquire("10.0.0.1") <= 60
    assert throttle.acquire("10.0.0.2") == 0


def test_redis_throttle_is_shared_by_every_server(redis_prefix):
    first, second = RedisThrottle(REDIS_URL, 3, 60, redis_prefix), RedisThrottle(REDIS_URL, 3, 60, redis_prefix)
    assert first.acquire("10.0.0.1") == 0
    assert second.acquire("10.0.0.1") == 0
    second.release("10.0.0.1")
    assert first.acquire("10.0.0.1") == 0
    assert second.acquire("10.0.0.1") == 0
    assert 0 < first.acquire("10.0.0.1") <= 60
    assert second.acquire("10.0.0.2") == 0


# ----------------------------------------------------------------- parallel sign-ins (issue 11, 3 and 9)


def in_parallel(count: int, attempt: Callable[[int], Any]) -> List[Any]:
    """``attempt(i)`` for i in 0..count-1, all released at the same moment by one barrier."""
    barrier = threading.Barrier(count)
    results: List[Any] = [None] * count

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = attempt(i)
        except Exception as exc:  # kept as the result: the test says what it expected
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return results


def login_audits(s, reason: str) -> int:
    entries = s.scalars(select(AuditEntry).where(AuditEntry.action == "staff.login"))
    return sum(1 for e in entries if (e.detail or {}).get("reason") == reason)


def test_forty_parallel_sign_ins_against_one_user_check_at_most_five_passwords(db):
    with db.session() as s:
        _user(s)

    def attempt(i: int) -> str:
        with db.session() as s:
            try:
                staff.authenticate(s, "agent1", f"wrong password {i}")
            except staff.StaffError as exc:
                return str(exc)
            return "signed in"

    answers = in_parallel(40, attempt)
    with db.session() as s:
        assert login_audits(s, "password") == staff.MAX_FAILED
        assert login_audits(s, "locked") == 40 - staff.MAX_FAILED
        with pytest.raises(staff.StaffError, match="稍后"):  # the right password comes too late
            staff.authenticate(s, "agent1", "correct-horse-battery")
    assert sorted(set(map(str, answers))) == sorted({staff.WRONG, staff.LOCKED})


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    prefix = f"powerbot-test:{uuid.uuid4().hex}:"
    yield prefix
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(prefix + "*"):
        client.delete(key)
    client.close()


@pytest.mark.parametrize("shared", [False, True], ids=["in-process", "redis"])
def test_forty_parallel_sign_ins_from_one_address_stop_at_the_address_limit(db, shared, redis_prefix):
    limit = 20
    throttle = RedisThrottle(REDIS_URL, limit, 60, redis_prefix) if shared else MemoryThrottle(limit, 60)

    def attempt(i: int) -> Any:
        with db.session() as s:  # a different made-up username each time: only the address limit applies
            return service.sign_in(s, throttle, f"guess{i:02d}", "wrong password", "10.9.8.7", LIFE)

    results = in_parallel(40, attempt)
    assert [r.token for r in results] == [None] * 40, results
    assert sum(1 for r in results if r.retry_after > 0) == 40 - limit
    with db.session() as s:
        assert login_audits(s, "unknown") == limit
        _user(s, "agent2")
    with db.session() as s:  # even the right password waits for the window to end
        assert service.sign_in(s, throttle, "agent2", "correct-horse-battery", "10.9.8.7", LIFE).token is None


def scrypt_calls(monkeypatch) -> List[int]:
    """Count the password hashes computed from now on (wrapping the library function)."""
    calls: List[int] = []
    real = hashlib.scrypt

    def counting(*args: Any, **kwargs: Any) -> bytes:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(hashlib, "scrypt", counting)
    return calls


def test_an_unknown_username_costs_one_hash_like_a_wrong_password(db, monkeypatch):
    with db.session() as s:
        _user(s)
        staff.set_active(s, _user(s, "agent2"), False, actor="staff:admin")
    calls = scrypt_calls(monkeypatch)
    for username in ("agent1", "nobody", "agent2"):  # wrong password, unknown user, disabled user
        with db.session() as s:
            with pytest.raises(staff.StaffError) as err:
                staff.authenticate(s, username, "wrong password")
        assert str(err.value) == staff.WRONG
        assert len(calls) == 1, username
        calls.clear()


def test_the_locked_message_appears_alike_for_unknown_and_real_usernames(db):
    with db.session() as s:
        _user(s)
    answers = {}
    for username in ("agent1", "nobody"):
        for _ in range(staff.MAX_FAILED):
            with db.session() as s:
                with pytest.raises(staff.StaffError):
                    staff.authenticate(s, username, "wrong password")
        with db.session() as s:
            with pytest.raises(staff.StaffError) as err:
                staff.authenticate(s, username, "wrong password")
        answers[username] = str(err.value)
    assert answers == {"agent1": staff.LOCKED, "nobody": staff.LOCKED}


def test_the_canned_replies_of_the_repository_load(tmp_path):
    replies = canned.load(get_settings().console_canned_replies_file)
    assert len(replies) >= 5 and all(r["title"] and r["text"] for r in replies)
    assert canned.load(tmp_path / "missing.yml") == []
    bad = tmp_path / "bad.yml"
    bad.write_text("- title: 问候\n", encoding="utf-8")
    with pytest.raises(canned.CannedRepliesError, match="entry 1"):
        canned.load(bad)
