"""Service quality, as a supervisor reads it: how much the bot handles alone, how long customers wait
for an agent, which tickets kept their SLA, and how satisfied customers were, per agent and overall."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from bot.domain import handoffs, metrics, staff, tickets, transcript
from bot.domain.places import Place
from tests.factories import make_contact

T0 = datetime(2026, 11, 23, 2, 0)  # Monday 10:00 local
WEEK = (T0, T0 + timedelta(days=7))
NOW = T0 + timedelta(days=3)


def _say(s, sender: str, channel: str, text: str, at: datetime) -> None:
    transcript.append(s, sender, channel, "in", "customer", text, now=at)
    transcript.append(s, sender, channel, "out", "bot", "好的", now=at)


@pytest.fixture
def week(db):
    """Three customers in the week (two on WeChat, one by SMS) and one from the week before; one
    conversation handed to an agent who took it after two minutes and was rated 5; a ticket rated 3;
    tickets that kept, missed, have yet to meet and no longer need their SLA."""
    with db.session() as s:
        agent, _ = staff.add(s, "wang", "agent", "correct-horse-battery", display_name="王坐席")
        _say(s, "wechat:oA", "wechat", "查电费", T0)
        _say(s, "wechat:oA", "wechat", "上个月的", T0 + timedelta(minutes=1))
        _say(s, "wechat:oB", "wechat", "转人工", T0 + timedelta(hours=1))
        _say(s, "sms:+8613900001111", "sms", "停电了", T0 + timedelta(hours=2))
        _say(s, "wechat:oOld", "wechat", "你好", T0 - timedelta(days=2))

        contact = make_contact(s, "wechat", "oB")
        h = handoffs.request(s, "wechat:oB", "wechat", "asked", contact=contact, now=T0 + timedelta(hours=1))
        handoffs.take(s, h.id, agent, now=T0 + timedelta(hours=1, minutes=2))
        handoffs.finish(s, h.id, agent, "close", now=T0 + timedelta(hours=1, minutes=10))
        handoffs.rate(s, h, 5, now=T0 + timedelta(hours=1, minutes=11))
        handoffs.request(s, "wechat:oA", "wechat", "misunderstood", now=T0 + timedelta(minutes=2))

        urban = Place("城关镇", "东关村", "urban")
        # crew on site after 30 of 45 minutes: kept
        kept = tickets.report_outage(s, contact, "wechat", urban, "停电", now=T0).ticket
        tickets.set_status(s, kept, "dispatched", "system", now=T0 + timedelta(minutes=5))
        tickets.set_status(s, kept, "on_site", "system", now=T0 + timedelta(minutes=30))
        # on site after 60 minutes: missed
        late = tickets.create(s, "repair", "sms", "没电", place=Place("城关镇", "西关村", "urban"),
                              now=T0 + timedelta(hours=3))
        tickets.set_status(s, late, "on_site", "system", now=T0 + timedelta(hours=4))
        # never handled and past its deadline: missed, and overdue now
        tickets.create(s, "hazard", "wechat", "电线掉了", place=urban, priority="urgent",
                       now=T0 + timedelta(hours=5))
        # a complaint due within one working day, still inside it at NOW: pending
        tickets.create(s, "complaint", "wechat", "态度差", now=NOW - timedelta(hours=1))
        # a complaint whose customer was contacted two hours later: kept (the commitment is contact)
        contacted = tickets.create(s, "complaint", "sms", "抄表不准", now=T0 + timedelta(hours=1))
        tickets.set_status(s, contacted, "dispatched", "staff:wang", now=T0 + timedelta(hours=3))
        # a calibration request the customer withdrew: neither kept nor missed
        withdrawn = tickets.create(s, "meter", "wechat", "校表", now=T0)
        tickets.set_status(s, withdrawn, "cancelled", "staff:wang", now=T0 + timedelta(hours=1))
        tickets.rate(s, contact, "wechat:oB", 3, kept.id, now=T0 + timedelta(hours=2))
    return db


def test_the_bot_handles_conversations_that_never_reach_an_agent(week):
    with week.session() as s:
        report = metrics.report(s, *WEEK, now=NOW)
    assert report.conversations == 3 and report.customer_messages == 4
    assert report.conversations_by_channel == {"sms": 1, "wechat": 2}
    assert report.handed_to_agents == 2 and report.bot_containment == pytest.approx(1 / 3, abs=0.001)
    assert report.handoffs_by_reason == {"asked": 1, "misunderstood": 1}


def test_waiting_time_and_each_agents_conversations_and_ratings(week):
    with week.session() as s:
        report = metrics.report(s, *WEEK, now=NOW)
    assert report.handoffs_taken == 1 and report.wait_p50_s == 120.0 and report.waiting_now == 1
    (wang,) = report.agents
    assert (wang.username, wang.taken, wang.closed, wang.ratings, wang.average_rating) == ("wang", 1, 1, 1, 5.0)


def test_tickets_count_as_met_only_when_the_commitment_was_kept_before_the_deadline(week):
    with week.session() as s:
        report = metrics.report(s, *WEEK, now=NOW)
    assert report.tickets_opened["repair"] == 2 and report.tickets_opened["hazard"] == 1
    assert report.tickets_opened["complaint"] == 2 and report.tickets_opened["meter"] == 1
    assert report.tickets_opened["business"] == 0
    assert (report.sla_met, report.sla_missed, report.sla_pending) == (2, 2, 1)
    assert report.sla_met_rate == 0.5
    assert report.overdue_open_now == 1


def test_satisfaction_overall_by_score_and_bot_versus_agents(week):
    with week.session() as s:
        report = metrics.report(s, *WEEK, now=NOW)
    assert report.ratings == 2 and report.average_rating == 4.0
    assert report.rating_distribution == {1: 0, 2: 0, 3: 1, 4: 0, 5: 1}
    assert report.average_rating_bot == 3.0 and report.average_rating_agents == 5.0


def test_an_empty_period_has_no_rates_rather_than_zero(db):
    with db.session() as s:
        report = metrics.report(s, *WEEK, now=NOW)
    assert report.conversations == 0 and report.bot_containment is None
    assert report.sla_met_rate is None and report.average_rating is None and report.agents == []
    assert report.as_dict()["rating_distribution"] == {"1": 0, "2": 0, "3": 0, "4": 0, "5": 0}


@pytest.mark.parametrize("days", [0, -1, 367])
def test_the_period_is_one_day_to_a_year(days):
    with pytest.raises(ValueError):
        metrics.period(days)
