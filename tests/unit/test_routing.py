"""Routing a conversation to an agent (issue 15): the intent that brought the customer decides the skill
group; agents serve their groups within their capacity while online; a group's hours lie inside the
console's; key customers go first, then a returning customer's agent, then the least-loaded agent."""

from __future__ import annotations

from datetime import timedelta

import pytest
import yaml

from bot.clock import utcnow
from bot.config import ROOT, load_settings
from bot.domain import handoffs, routing, staff
from bot.domain.models import Binding, StaffUser
from tests.factories import make_account, make_contact


def agent(s, name: str, groups: str = "", max_chats: int = 2, presence: str = "online") -> StaffUser:
    user, _password = staff.add(s, name, "agent", "correct-horse-battery", display_name=name)
    user.skill_groups, user.max_chats, user.presence = groups, max_chats, presence
    s.flush()
    return user


def waiting(s, sender: str, group: str = "billing", key: bool = False, minutes_ago: int = 0):
    return handoffs.request(s, sender, "wechat", "asked", skill_group=group, key_customer=key,
                            now=utcnow() - timedelta(minutes=minutes_ago))


def test_the_intent_that_brought_the_customer_decides_the_group():
    assert routing.group_for("query_bill", "asked") == "billing"
    assert routing.group_for("report_hazard", "misunderstood") == "repair"
    assert routing.group_for("business_application", "asked") == "business"
    assert routing.group_for("query_bill", "complaint") == "complaints"
    assert routing.group_for(None, "asked") == "billing"  # 算了 → 转人工: the general counter
    assert routing.group_for("report_outage", "asked", key_customer=True) == "senior"


def test_every_intent_routed_is_an_intent_of_the_domain():
    intents = set(yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))["intents"])
    assert set(routing.INTENT_GROUPS) <= intents and set(routing.INTENT_GROUPS.values()) <= set(routing.GROUPS)


def test_a_group_outside_its_own_hours_hands_its_customers_to_the_general_counter():
    hours = load_settings({"CONSOLE_GROUP_HOURS": "business=08:30-17:30"}).console_group_hours
    noon = utcnow().replace(hour=4, minute=0)  # 12:00 in Asia/Shanghai
    evening = utcnow().replace(hour=11, minute=0)  # 19:00
    assert routing.open_group("business", hours, noon) == "business"
    assert routing.open_group("business", hours, evening) == "billing"
    assert routing.open_group("repair", hours, evening) == "repair"
    with pytest.raises(ValueError, match="CONSOLE_GROUP_HOURS"):
        load_settings({"CONSOLE_GROUP_HOURS": "business 8-5"})


def test_auto_assignment_goes_to_the_least_loaded_online_agent_of_the_group_with_room(db):
    with db.session() as s:
        busy_one = agent(s, "r1", "repair")
        free_one = agent(s, "r2", "repair")
        agent(s, "b1", "billing")
        agent(s, "r3", "repair", presence="away")
        first = waiting(s, "wechat:oC1", "repair", minutes_ago=5)
        handoffs.take(s, first.id, busy_one)
        second = waiting(s, "wechat:oC2", "repair")
        people = list(s.query(StaffUser))
        assert routing.choose_agent(s, second, people).agent.id == free_one.id
        assert routing.assign_next(s, busy_one, people) is None  # not theirs: r2 has fewer
        assert routing.assign_next(s, free_one, people).id == second.id
        third = waiting(s, "wechat:oC3", "repair")
        fourth = waiting(s, "wechat:oC4", "repair")
        handoffs.take(s, third.id, free_one)
        handoffs.take(s, fourth.id, busy_one)
        fifth = waiting(s, "wechat:oC5", "repair")
        assert routing.choose_agent(s, fifth, list(s.query(StaffUser))) is None  # both full (2 each)


def test_key_customers_first_then_the_returning_customers_agent_then_capacity(db):
    with db.session() as s:
        a1 = agent(s, "a1", "billing,senior", max_chats=3)
        a2 = agent(s, "a2", "billing,senior", max_chats=3)
        earlier = waiting(s, "wechat:oBack", minutes_ago=60)
        handoffs.take(s, earlier.id, a2)
        handoffs.finish(s, earlier.id, a2, "handback")
        plain = waiting(s, "wechat:oPlain", minutes_ago=10)
        elderly = waiting(s, "wechat:oElderly", "senior", key=True, minutes_ago=1)
        back = waiting(s, "wechat:oBack")
        assert [h.id for h in handoffs.queue(s)] == [elderly.id, plain.id, back.id]
        assert handoffs.position(s, elderly) == 1 and handoffs.position(s, plain) == 2
        people = [a1, a2]
        assert routing.choose_agent(s, back, people).why == "returning"
        assert routing.choose_agent(s, back, people).agent.id == a2.id  # though a1 is as free
        a2.presence = "busy"
        assert routing.choose_agent(s, back, people).agent.id == a1.id  # their agent is busy: capacity decides


def test_a_key_customer_is_known_by_a_flagged_bound_account(db):
    with db.session() as s:
        account = make_account(s)
        contact = make_contact(s)
        assert routing.key_customer_reason(s, contact) is None
        s.add(Binding(contact_id=contact.id, account_id=account.id, method="sms_code"))
        account.key_customer, account.key_customer_reason = True, "独居老人"
        s.flush()
        assert routing.key_customer_reason(s, contact) == "独居老人"
