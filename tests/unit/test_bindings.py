"""Proof of ownership: only a correct, fresh code binds; every other attempt is refused and audited."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.clock import utcnow
from bot.domain import bindings
from bot.domain.bindings import BindingError
from bot.domain.models import AuditEntry, Binding
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
        for i in range(5):
            c = start(s, contact, f"51000003{i:02d}", now=t)
            bindings.verify(s, contact, c.code, now=t)
        with pytest.raises(BindingError) as err:
            start(s, contact, "5100000305", now=t)
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
        assert (entry.outcome, entry.target_id, entry.actor) == ("denied", "5100000101", f"customer:{contact.sender_id}")


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
