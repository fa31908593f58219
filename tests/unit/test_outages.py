"""Outages registered by the company's systems: idempotent on outage_id, cancelled and restored once, and
each registration or change plans the notices to the affected customers."""

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from bot.domain import outages
from bot.domain.models import AuditEntry, Binding, Notice, Outage
from bot.domain.places import Place
from tests.factories import PHONE_B, make_account, make_contact

NOW = datetime(2026, 12, 1, 2, 0)  # 10:00 local
START, END = NOW + timedelta(days=8), NOW + timedelta(days=8, hours=6)


def register(s, **changes):
    values = dict(outage_id="JH-API-1", kind="planned", township="城关镇", villages=["东关村"], start=START,
                  end=END, reason="线路检修", actor="api:marketing", now=NOW)
    values.update(changes)
    return outages.upsert(s, **values)


def notices(s):
    return list(s.scalars(select(Notice).order_by(Notice.id)))


def test_registering_an_outage_twice_creates_it_once_and_notifies_once(db):
    with db.session() as s:
        make_account(s)
        outage, created = register(s)
        again, created_again = register(s)
        assert (created, created_again) == (True, False)
        assert again.id == outage.id and outage.status == "scheduled" and outage.kind == "planned"
        assert s.scalar(select(func.count()).select_from(Outage)) == 1
        assert [n.kind for n in notices(s)] == ["planned"]


def test_an_aware_start_is_stored_as_utc(db):
    with db.session() as s:
        local = timezone(timedelta(hours=8))
        outage, _ = register(s, start=datetime(2026, 12, 9, 8, 0, tzinfo=local),
                             end=datetime(2026, 12, 9, 14, 0, tzinfo=local))
        assert outage.start == datetime(2026, 12, 9, 0, 0)


def test_bad_values_are_refused(db):
    with db.session() as s:
        with pytest.raises(ValueError):
            register(s, kind="maybe")
        with pytest.raises(ValueError):
            register(s, end=START)
        with pytest.raises(ValueError):
            register(s, township=" ")


def test_changed_times_are_announced_to_everyone_concerned(db):
    with db.session() as s:
        make_account(s)
        register(s)
        outage, created = register(s, start=START + timedelta(hours=1))
        assert not created and outage.revision == 2
        assert [(n.kind, n.status) for n in notices(s)] == [("planned", "withdrawn"), ("planned_changed", "pending")]


def test_a_late_planned_outage_says_it_is_at_short_notice(db):
    with db.session() as s:
        make_account(s)
        register(s, start=NOW + timedelta(days=2), end=NOW + timedelta(days=2, hours=4))
        (notice,) = notices(s)
        assert notice.kind == "planned_short" and "未能提前7天告知" in notice.text


def test_cancel_and_restore_are_idempotent_and_unknown_ids_are_lookup_errors(db):
    with db.session() as s:
        register(s)
        register(s, outage_id="GZ-1", kind="fault", start=NOW - timedelta(hours=1), end=NOW + timedelta(hours=3))
        assert outages.cancel(s, "JH-API-1", "天气原因", "api:marketing", now=NOW).status == "cancelled"
        assert outages.cancel(s, "JH-API-1", "天气原因", "api:marketing", now=NOW).cancelled_at == NOW
        restored = outages.restored(s, "GZ-1", None, "api:dispatch", now=NOW)
        assert (restored.status, restored.restored_at) == ("restored", NOW)
        with pytest.raises(LookupError):
            outages.cancel(s, "NOPE", "", "api:marketing")
        with pytest.raises(LookupError):
            outages.restored(s, "NOPE", None, "api:dispatch")
        actions = [a for (a,) in s.execute(select(AuditEntry.action).order_by(AuditEntry.id))]
        assert actions == ["outage.register", "outage.register", "outage.cancel", "outage.restored"]


def test_a_cancelled_outage_is_no_longer_shown_for_the_place(db):
    with db.session() as s:
        register(s, start=NOW + timedelta(days=1), end=NOW + timedelta(days=1, hours=4))
        place = Place("城关镇", "东关村", "urban")
        assert [o.outage_id for o in outages.affecting(s, place, NOW)] == ["JH-API-1"]
        outages.cancel(s, "JH-API-1", "", "api:marketing", now=NOW)
        assert outages.affecting(s, place, NOW) == []


def test_a_fault_reaches_the_bound_wechat_user_and_tells_them_it_is_restored(db):
    with db.session() as s:
        account = make_account(s)
        make_account(s, account_no="5100000102", phone=PHONE_B, address="城关镇西关村3号")
        contact = make_contact(s)
        s.add(Binding(contact_id=contact.id, account_id=account.id, method="sms_code"))
        s.flush()
        register(s, outage_id="GZ-2", kind="fault", start=NOW - timedelta(hours=1), end=NOW + timedelta(hours=3),
                 reason="线路故障")
        outage = s.scalar(select(Outage).where(Outage.outage_id == "GZ-2"))
        for n in notices(s):
            n.status = "sent"  # as the worker would record it
        outages.restored(s, "GZ-2", NOW, "api:dispatch", now=NOW)
        kinds = [(n.kind, n.person_key == f"w:{contact.id}", n.urgent) for n in notices(s)]
        assert kinds == [("fault", True, True), ("fault", False, True), ("fault_restored", True, True),
                         ("fault_restored", False, True)]
        assert outage.status == "restored"
