"""Proof of ownership: only a correct, fresh code binds; every other attempt is refused and audited."""

import threading
from datetime import timedelta
from typing import Any, Callable, List

import pytest
from sqlalchemy import select

from bot.clock import utcnow
from bot.domain import audit, bindings
from bot.domain.bindings import BindingError
from bot.domain.models import AuditEntry, Binding, Contact
from tests.factories import PHONE_A, make_account, make_contact


def start(s, contact, number="5100000101", now=None):
    return bindings.start(s, contact, number, now=now)


def test_a_code_goes_to_the_registered_phone_and_binds_when_typed_back(db):
    with db.session() as s:
        make_account(s)
        contact = make_contact(s)
        challenge = start(s, contact)
        assert challenge.masked_phone == "139****1111" and challenge.phone == PHONE_A
        assert len(challenge.code) == 6 and challenge.code.isdigit()
        account = bindings.verify(s, contact, challenge.code)
        assert account.account_no == "5100000101"
        assert [a.account_no for a in bindings.bound_accounts(s, contact)] == ["5100000101"]


def test_no_binding_row_exists_before_a_valid_code(db):
    with db.session() as s:
        make_account(s)
        contact = make_contact(s)
        challenge = start(s, contact)
        wrong = "000000" if challenge.code != "000000" else "111111"
        with pytest.raises(BindingError) as err:
            bindings.verify(s, contact, wrong)
        assert err.value.reason == "wrong_code" and err.value.info["attempts_left"] == 4
        assert s.scalars(select(Binding)).all() == []


def test_an_expired_code_is_refused(db):
    with db.session() as s:
        make_account(s)
        contact = make_contact(s)
        t0 = utcnow()
        challenge = start(s, contact, now=t0)
        with pytest.raises(BindingError) as err:
            bindings.verify(s, contact, challenge.code, now=t0 + timedelta(minutes=5, seconds=1))
        assert err.value.reason == "expired"
        with pytest.raises(BindingError) as err:
            bindings.verify(s, contact, challenge.code, now=t0 + timedelta(minutes=6))
        assert err.value.reason == "no_pending"


def test_five_wrong_codes_lock_the_account_for_thirty_minutes(db):
    with db.session() as s:
        make_account(s)
        guesser = make_contact(s)
        t0 = utcnow()
        challenge = start(s, guesser, now=t0)
        guesses = [f"{n:06d}" for n in range(10) if f"{n:06d}" != challenge.code][:5]
        reasons = []
        for g in guesses:
            with pytest.raises(BindingError) as err:
                bindings.verify(s, guesser, g, now=t0 + timedelta(seconds=10))
            reasons.append(err.value.reason)
        assert reasons == ["wrong_code"] * 4 + ["locked"]
        # the right code no longer helps, and nobody else can start binding it either
        with pytest.raises(BindingError):
            bindings.verify(s, guesser, challenge.code, now=t0 + timedelta(seconds=20))
        other = make_contact(s, external="oWxSomeoneElse")
        with pytest.raises(BindingError) as err:
            start(s, other, now=t0 + timedelta(minutes=29))
        assert err.value.reason == "locked"
        assert start(s, other, now=t0 + timedelta(minutes=31)).account_no == "5100000101"
        denied = s.scalars(select(AuditEntry).where(AuditEntry.outcome == "denied")).all()
        assert len([e for e in denied if e.action == "binding.verify"]) == 5


def test_unknown_and_malformed_account_numbers(db):
    with db.session() as s:
        contact = make_contact(s)
        with pytest.raises(BindingError) as err:
            start(s, contact, "5199999999")
        assert err.value.reason == "unknown_account"
        with pytest.raises(BindingError) as err:
            start(s, contact, "12345")
        assert err.value.reason == "invalid_account_no"


def test_at_most_five_accounts_per_user(db):
    with db.session() as s:
        contact = make_contact(s)
        t = utcnow()
        for i in range(6):
            make_account(s, f"51000003{i:02d}")
        for i in range(5):  # one a day: codes for three accounts a day at most
            c = start(s, contact, f"51000003{i:02d}", now=t + timedelta(days=i))
            bindings.verify(s, contact, c.code, now=t + timedelta(days=i))
        with pytest.raises(BindingError) as err:
            start(s, contact, "5100000305", now=t + timedelta(days=6))
        assert err.value.reason == "limit"


def test_a_new_code_cannot_be_requested_every_second(db):
    with db.session() as s:
        make_account(s)
        contact = make_contact(s)
        t0 = utcnow()
        start(s, contact, now=t0)
        with pytest.raises(BindingError) as err:
            start(s, contact, now=t0 + timedelta(seconds=5))
        assert err.value.reason == "too_soon"
        assert start(s, contact, now=t0 + timedelta(seconds=61))


def test_authorize_refuses_and_audits_an_account_that_is_not_bound(db):
    with db.session() as s:
        make_account(s)
        contact = make_contact(s)
        with pytest.raises(BindingError) as err:
            bindings.authorize(s, contact, "5100000101")
        assert err.value.reason == "not_bound"
        entry = s.scalar(select(AuditEntry).where(AuditEntry.action == "account.access"))
        assert (entry.outcome, entry.target_id, entry.actor) == ("denied", "5100000101", audit.customer_actor(contact.sender_id))


def test_unbind_removes_access(db):
    with db.session() as s:
        make_account(s)
        contact = make_contact(s)
        c = start(s, contact)
        bindings.verify(s, contact, c.code)
        bindings.unbind(s, contact, "5100000101")
        assert bindings.bound_accounts(s, contact) == []
        with pytest.raises(BindingError):
            bindings.authorize(s, contact, "5100000101")


def test_sms_from_the_registered_phone_binds_its_accounts_but_not_after_an_unbind(db):
    with db.session() as s:
        make_account(s, "5100000101")
        make_account(s, "5100000102", phone="13900009999")
        sms = make_contact(s, channel="sms", external=PHONE_A)
        assert [a.account_no for a in bindings.bind_by_phone(s, sms)] == ["5100000101"]
        bindings.unbind(s, sms, "5100000101")
        assert bindings.bind_by_phone(s, sms) == []
        wechat = make_contact(s)
        assert bindings.bind_by_phone(s, wechat) == []


# ------------------------------------------------- limits across codes, customers and phones (issue 11, 2)


def wrong_guesses(code: str, count: int) -> List[str]:
    return [g for g in (f"{n:06d}" for n in range(count + 1)) if g != code][:count]


def refusal(fn: Callable[[], Any]) -> str:
    with pytest.raises(BindingError) as err:
        fn()
    return err.value.reason


def test_wrong_codes_count_per_account_across_new_codes_and_other_customers(db):
    with db.session() as s:
        make_account(s)
        owner = make_contact(s, external="oWxOwner")
        t0 = utcnow() - timedelta(hours=2)
        bindings.verify(s, owner, start(s, owner, now=t0).code, now=t0)
        first, second = make_contact(s, external="oWxGuesserOne"), make_contact(s, external="oWxGuesserTwo")
        t1 = utcnow()
        code = start(s, first, now=t1).code
        assert [refusal(lambda g=g: bindings.verify(s, first, g, now=t1)) for g in wrong_guesses(code, 3)] == \
            ["wrong_code"] * 3
        # a new code after a minute does not start the count again
        code = start(s, first, now=t1 + timedelta(seconds=61)).code
        assert refusal(lambda: bindings.verify(s, first, wrong_guesses(code, 1)[0], now=t1 + timedelta(seconds=62))) \
            == "wrong_code"
        # nor does another customer asking for the same account: the fifth wrong code locks it
        code = start(s, second, now=t1 + timedelta(seconds=70)).code
        with pytest.raises(BindingError) as err:
            bindings.verify(s, second, wrong_guesses(code, 1)[0], now=t1 + timedelta(seconds=71))
        assert err.value.reason == "locked" and err.value.info["until"] == t1 + timedelta(seconds=71, minutes=30)
        assert refusal(lambda: start(s, first, now=t1 + timedelta(minutes=20))) == "locked"
        # the owner's binding keeps working through the lock
        assert bindings.authorize(s, owner, "5100000101").account_no == "5100000101"
        # after 30 minutes the account can be bound again (once its phone may get another code)
        assert start(s, first, now=t1 + timedelta(minutes=61)).account_no == "5100000101"


def in_parallel(db, calls: List[Callable[[Any], Any]]) -> List[Any]:
    """Each call gets its own unit of work; all start at the same moment. Returns values or BindingErrors."""
    barrier = threading.Barrier(len(calls))
    results: List[Any] = [None] * len(calls)

    def run(i: int) -> None:
        barrier.wait()
        try:
            with db.session() as s:
                try:
                    results[i] = calls[i](s)
                except BindingError as exc:
                    results[i] = exc  # committed like the dialogue commits a refusal
        except Exception as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def test_parallel_guesses_by_several_customers_compare_at_most_five_codes(db):
    with db.session() as s:
        make_account(s)
        guessers = [make_contact(s, external=f"oWxParallel{i}").id for i in range(3)]
        t0 = utcnow()
        codes = {}
        for i, contact_id in enumerate(guessers):
            contact = s.get(Contact, contact_id)
            codes[contact_id] = start(s, contact, now=t0 + timedelta(seconds=i)).code

    def guess(contact_id: int, code: str) -> Callable[[Any], Any]:
        return lambda s: bindings.verify(s, s.get(Contact, contact_id), code, now=t0 + timedelta(seconds=10))

    calls = [guess(c, g) for c in guessers for g in wrong_guesses(codes[c], 4)]
    results = in_parallel(db, calls)
    assert all(isinstance(r, BindingError) for r in results), results
    with db.session() as s:
        compared = s.scalars(select(AuditEntry).where(AuditEntry.action == "binding.verify")).all()
        reasons = [(e.detail or {}).get("reason") for e in compared]
        assert reasons.count("wrong_code") == 5, "five codes compared, whoever typed them"
        assert set(reasons) <= {"wrong_code", "locked"}
    # the guesser whose code the fifth wrong try used up has no code pending any more: their later
    # guesses are refused before anything is looked at (and are not audited as comparisons)
    assert {r.reason for r in results} <= {"wrong_code", "locked", "no_pending"}
    assert sum(r.reason == "no_pending" for r in results) + len(reasons) == len(calls)
    with db.session() as s:
        contact = s.get(Contact, guessers[0])
        assert refusal(lambda: start(s, contact, now=t0 + timedelta(minutes=5))) == "locked"


def test_one_phone_gets_at_most_three_codes_an_hour_and_ten_a_day(db):
    with db.session() as s:
        for i in range(5):  # five accounts registered to the same phone
            make_account(s, f"51000004{i:02d}")
        t0 = utcnow()
        senders = [make_contact(s, external=f"oWxAsker{i:02d}") for i in range(12)]
        for i in range(3):
            start(s, senders[i], f"51000004{i:02d}", now=t0 + timedelta(seconds=i))
        assert refusal(lambda: start(s, senders[3], "5100000403", now=t0 + timedelta(seconds=5))) == "phone_limit"
        sent = 3
        for hour in range(1, 5):
            for i in range(3):
                if sent == 10:
                    break
                start(s, senders[sent], f"51000004{i:02d}", now=t0 + timedelta(hours=hour, seconds=i))
                sent += 1
        with pytest.raises(BindingError) as err:
            start(s, senders[10], "5100000400", now=t0 + timedelta(hours=5))
        assert err.value.reason == "phone_limit" and err.value.info["until"] == t0 + timedelta(days=1)
        refused = s.scalars(select(AuditEntry).where(AuditEntry.action == "binding.start")).all()
        assert [(e.detail or {}).get("reason") for e in refused] == ["phone_limit", "phone_limit"]
        assert start(s, senders[11], "5100000401", now=t0 + timedelta(days=1, seconds=1))


def test_parallel_requests_send_no_more_than_three_codes_to_one_phone(db):
    with db.session() as s:
        make_account(s)
        askers = [make_contact(s, external=f"oWxRush{i:02d}").id for i in range(8)]
    t0 = utcnow()
    results = in_parallel(db, [lambda s, c=c: start(s, s.get(Contact, c), now=t0) for c in askers])
    assert sorted(type(r).__name__ if not isinstance(r, BindingError) else r.reason for r in results) == \
        ["Challenge"] * 3 + ["phone_limit"] * 5, results


def test_one_customer_may_ask_codes_for_three_accounts_a_day(db):
    with db.session() as s:
        phones = ["13900001111", "13900002222", "13900003333", "13900004444"]
        for i, phone in enumerate(phones):
            make_account(s, f"51000005{i:02d}", phone=phone)
        contact = make_contact(s)
        t0 = utcnow()
        for i in range(3):
            start(s, contact, f"51000005{i:02d}", now=t0 + timedelta(minutes=i))
        # asking again for an account already tried today is not another account
        assert start(s, contact, "5100000500", now=t0 + timedelta(minutes=5)).account_no == "5100000500"
        with pytest.raises(BindingError) as err:
            start(s, contact, "5100000503", now=t0 + timedelta(minutes=6))
        assert err.value.reason == "sender_limit" and err.value.info["limit"] == 3
        assert start(s, contact, "5100000503", now=t0 + timedelta(days=1, minutes=1)).account_no == "5100000503"
