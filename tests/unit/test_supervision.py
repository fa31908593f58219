"""Supervision, as a supervisor uses it: a live wall of every waiting and active conversation against
the service targets (service_rules.yml ``supervision:``), per-agent figures (first-response and
handle time, ratings, quality), and quality checks of a random sample of closed conversations."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import pytest

from bot.clock import utcnow
from bot.console import service
from bot.console.permissions import ConsoleError, Principal
from bot.domain import audit, handoffs, metrics, staff, supervision, transcript
from bot.domain.models import StaffUser
from bot.domain.rules import get_rules

T0 = datetime(2026, 11, 23, 2, 0)  # Monday 10:00 local
CHECKLIST = ("courtesy", "accuracy", "timeliness", "closing")


def _all_pass(**fails: str) -> dict:
    return {code: {"passed": code not in fails, "comment": fails.get(code, "")} for code in CHECKLIST}


@pytest.fixture
def floor(db):
    """Agent wang answered oA 30 s after taking it (60 s wait) and closed it after 10 minutes; agent li
    took oB after 200 s and has not answered for 90 s; oC waits 130 s; oD (li) closed after 4 minutes,
    first answer after 120 s. The wall is looked at T0 + 10 min."""
    with db.session() as s:
        people = {}
        for name, role in (("wang", "agent"), ("li", "agent"), ("sup", "supervisor"), ("adm", "admin")):
            user, _ = staff.add(s, name, role, "correct-horse-battery", display_name=f"{name}-显示名")
            people[name] = user
        a = handoffs.request(s, "wechat:oA", "wechat", "asked", now=T0)
        handoffs.take(s, a.id, people["wang"], now=T0 + timedelta(seconds=60))
        transcript.append(s, "wechat:oA", "wechat", "out", "agent:wang", "您好", now=T0 + timedelta(seconds=90))
        handoffs.finish(s, a.id, people["wang"], "close", now=T0 + timedelta(minutes=11))
        handoffs.rate(s, a, 4, now=T0 + timedelta(minutes=12))

        now = T0 + timedelta(minutes=20)
        b = handoffs.request(s, "wechat:oB", "wechat", "asked", now=now - timedelta(seconds=290))
        handoffs.take(s, b.id, people["li"], now=now - timedelta(seconds=90))
        c = handoffs.request(s, "sms:+8613900001111", "sms", "complaint", now=now - timedelta(seconds=130))
        d = handoffs.request(s, "wechat:oD", "wechat", "asked", now=T0)
        handoffs.take(s, d.id, people["li"], now=T0 + timedelta(seconds=10))
        transcript.append(s, "wechat:oD", "wechat", "out", "agent:li", "请稍等", now=T0 + timedelta(seconds=130))
        handoffs.finish(s, d.id, people["li"], "handback", now=T0 + timedelta(seconds=250))
        ids = {"a": a.id, "b": b.id, "c": c.id, "d": d.id}
        principals = {k: Principal.of(v) for k, v in people.items()}
    return db, principals, ids, now


def test_the_wall_shows_every_waiting_and_active_conversation_coloured_over_target(floor):
    db, p, ids, now = floor
    with db.session() as s:
        view = service.wall_view(s, p["sup"], now=now)
    assert view["targets"] == {"wait_s": 120, "first_response_s": 60}
    rows = {r["id"]: r for r in view["conversations"]}
    assert list(rows) == [ids["c"], ids["b"]]  # the queue first, then the live ones; closed ones are not on it
    waiting, live = rows[ids["c"]], rows[ids["b"]]
    assert waiting["wait_s"] == 130 and waiting["wait_over"] is True and waiting["first_response_s"] is None
    assert live["wait_s"] == 200 and live["owner_username"] == "li"
    assert live["first_response_s"] is None and live["responding_s"] == 90 and live["first_response_over"] is True


def test_an_answer_within_target_takes_the_colour_off_and_a_takeover_restarts_the_clock(floor):
    db, p, ids, now = floor
    with db.session() as s:
        transcript.append(s, "wechat:oB", "wechat", "out", "agent:li", "您好", now=now - timedelta(seconds=40))
    with db.session() as s:
        (live,) = [r for r in service.wall_view(s, p["sup"], now=now)["conversations"] if r["id"] == ids["b"]]
    assert live["first_response_s"] == 50 and live["first_response_over"] is False
    with db.session() as s:
        service.take(s, p["sup"], ids["b"], force=True)
    with db.session() as s:
        (live,) = [r for r in service.wall_view(s, p["sup"])["conversations"] if r["id"] == ids["b"]]
    assert live["owner_username"] == "sup" and live["first_response_s"] is None  # the new owner must answer


def test_only_those_who_see_all_conversations_see_the_wall(floor):
    db, p, _, now = floor
    with db.session() as s:
        with pytest.raises(ConsoleError, match="forbidden"):
            service.wall_view(s, p["wang"], now=now)
        assert service.wall_view(s, p["adm"], now=now)["conversations"]


def test_each_agent_has_conversations_first_response_and_handle_time_medians_and_ratings(floor):
    db, _, _, now = floor
    with db.session() as s:
        report = metrics.report(s, T0 - timedelta(hours=1), now, now=now)
    agents = {a.username: a for a in report.agents}
    wang, li = agents["wang"], agents["li"]
    assert (wang.taken, wang.closed, wang.first_response_p50_s, wang.handle_p50_s) == (1, 1, 30.0, 600.0)
    assert (wang.ratings, wang.average_rating) == (1, 4.0)
    assert (li.taken, li.closed, li.first_response_p50_s, li.handle_p50_s) == (2, 1, 120.0, 240.0)
    assert li.quality_checks == 0 and li.average_quality is None


def test_a_sample_is_drawn_from_closed_conversations_of_the_period_and_agent_not_yet_checked(floor):
    db, p, ids, now = floor
    with db.session() as s:
        assert {h.id for h in supervision.sample(s, T0, now, 5)} == {ids["a"], ids["d"]}
        assert [h.id for h in supervision.sample(s, T0, now, 5, agent=s.get(StaffUser, p["li"].id))] == [ids["d"]]
        assert len(supervision.sample(s, T0, now, 1, rng=random.Random(7))) == 1
        assert supervision.sample(s, now, now + timedelta(days=1), 5) == []
        drawn = service.quality_sample(s, p["sup"], {"days": 1, "agent": "wang"}, now=now)
        assert [c["id"] for c in drawn["conversations"]] == [ids["a"]]
        assert list(drawn["checklist"]) == list(CHECKLIST) and drawn["checklist"]["courtesy"] == "礼貌用语"
        assert audit.entries(s, action="quality.sample")[0].detail["agent"] == "wang"
        with pytest.raises(ConsoleError, match="forbidden"):
            service.quality_sample(s, p["wang"], {}, now=now)
    with db.session() as s:
        service.quality_score(s, p["sup"], ids["a"], {"items": _all_pass()})
    with db.session() as s:
        assert [h.id for h in supervision.sample(s, T0, now, 5)] == [ids["d"]]  # a checked one is not drawn again


def test_a_quality_score_is_the_share_of_checklist_items_passed_audited_and_in_the_agents_figures(floor):
    db, p, ids, now = floor
    with db.session() as s:
        check = service.quality_score(s, p["sup"], ids["d"], {"items": _all_pass(closing="未告知后续办理渠道")})
    assert check["score"] == 75
    assert check["items"]["closing"] == {"passed": False, "comment": "未告知后续办理渠道", "label": "规范结束"}
    with db.session() as s:
        (entry,) = audit.entries(s, action="quality.score")
        assert entry.actor == "staff:sup" and entry.detail == {"handoff": ids["d"], "score": 75}
        service.quality_score(s, p["sup"], ids["a"], {"items": _all_pass()})
    with db.session() as s:
        agents = {a.username: a for a in metrics.report(s, T0, utcnow() + timedelta(minutes=1)).agents}
    assert (agents["li"].quality_checks, agents["li"].average_quality) == (1, 75.0)
    assert (agents["wang"].quality_checks, agents["wang"].average_quality) == (1, 100.0)
    with db.session() as s:
        recent = service.quality_checks(s, p["sup"])["checks"]
    assert [c["id"] for c in recent] == [ids["a"], ids["d"]] and recent[1]["quality"]["score"] == 75


def test_a_check_needs_every_item_a_closed_conversation_and_is_made_once(floor):
    db, p, ids, _ = floor
    with db.session() as s:
        with pytest.raises(ConsoleError, match="bad_quality_items"):
            service.quality_score(s, p["sup"], ids["a"], {"items": {"courtesy": {"passed": True}}})
        with pytest.raises(ConsoleError, match="bad_quality_items"):
            service.quality_score(s, p["sup"], ids["a"], {"items": {**_all_pass(), "courtesy": {"passed": "yes"}}})
        with pytest.raises(ConsoleError, match="not_closed"):
            service.quality_score(s, p["sup"], ids["b"], {"items": _all_pass()})
        with pytest.raises(ConsoleError, match="not_found"):
            service.quality_score(s, p["sup"], 99999, {"items": _all_pass()})
        with pytest.raises(ConsoleError, match="forbidden"):
            service.quality_score(s, p["wang"], ids["a"], {"items": _all_pass()})
        service.quality_score(s, p["sup"], ids["a"], {"items": _all_pass()})
    with db.session() as s:
        with pytest.raises(ConsoleError, match="already_scored"):
            service.quality_score(s, p["sup"], ids["a"], {"items": _all_pass(courtesy="x")})


def test_the_checklist_and_targets_come_from_the_service_rules():
    rules = get_rules().supervision
    assert list(rules.quality_checklist.values()) == ["礼貌用语", "准确答复", "及时响应", "规范结束"]
    assert rules.first_response_target_seconds == 60


# ------------------------------------------------------------------ the checklist supervisors manage


def test_supervisors_add_rename_and_retire_checklist_items_seeded_from_the_rules_and_agents_cannot(floor):
    db, p, ids, now = floor
    with db.session() as s:
        items = service.checklist_view(s, p["sup"])["items"]  # seeded from service_rules.yml on first use
        assert [(i["code"], i["label"], i["active"]) for i in items] == [
            ("courtesy", "礼貌用语", True), ("accuracy", "准确答复", True), ("timeliness", "及时响应", True),
            ("closing", "规范结束", True)]
        for who in ("wang", "adm"):
            with pytest.raises(ConsoleError, match="forbidden"):
                service.checklist_add(s, p[who], {"label": "核实身份"})
        added = service.checklist_add(s, p["sup"], {"label": " 核实 客户身份 "})
        assert (added["code"], added["label"], added["active"]) == ("item_5", "核实 客户身份", True)
        ids_by_code = {i["code"]: i["id"] for i in service.checklist_view(s, p["sup"])["items"]}
        service.checklist_rename(s, p["sup"], ids_by_code["accuracy"], {"label": "答复准确、完整"})
        service.checklist_retire(s, p["sup"], ids_by_code["timeliness"])
    with db.session() as s:
        drawn = service.quality_sample(s, p["sup"], {"days": 1}, now=now)
        assert drawn["checklist"] == {"courtesy": "礼貌用语", "accuracy": "答复准确、完整", "closing": "规范结束",
                                      "item_5": "核实 客户身份"}
        listed = service.checklist_view(s, p["sup"])["items"]
        assert [i["code"] for i in listed][-1] == "timeliness" and listed[-1]["active"] is False  # retired last
        actions = [(e.action, e.target_id) for e in audit.entries(s, action="quality.item_rename")
                   + audit.entries(s, action="quality.item_retire") + audit.entries(s, action="quality.item_add")]
        assert actions == [("quality.item_rename", "accuracy"), ("quality.item_retire", "timeliness"),
                           ("quality.item_add", "item_5")]
        assert audit.entries(s, action="quality.item_rename")[0].detail == {"was": "准确答复", "label": "答复准确、完整"}


def test_a_check_is_made_against_the_items_in_use_and_keeps_the_labels_it_was_given_against(floor):
    db, p, ids, now = floor
    with db.session() as s:
        service.quality_score(s, p["sup"], ids["a"], {"items": _all_pass(timeliness="回复慢")})
    with db.session() as s:
        by_code = {i["code"]: i["id"] for i in service.checklist_view(s, p["sup"])["items"]}
        service.checklist_rename(s, p["sup"], by_code["courtesy"], {"label": "文明礼貌"})
        service.checklist_retire(s, p["sup"], by_code["timeliness"])
    with db.session() as s:
        with pytest.raises(ConsoleError, match="bad_quality_items"):  # the retired item is no longer scored
            service.quality_score(s, p["sup"], ids["d"], {"items": _all_pass()})
        fresh = service.quality_score(s, p["sup"], ids["d"], {"items": {
            code: {"passed": True, "comment": ""} for code in ("courtesy", "accuracy", "closing")}})
        assert fresh["score"] == 100 and fresh["items"]["courtesy"]["label"] == "文明礼貌"
    with db.session() as s:
        checks = {c["id"]: c["quality"] for c in service.quality_checks(s, p["sup"])["checks"]}
    old = checks[ids["a"]]["items"]
    assert old["courtesy"]["label"] == "礼貌用语"  # as it was called when scored
    assert old["timeliness"] == {"passed": False, "comment": "回复慢", "label": "及时响应"}  # retired, still there
    assert checks[ids["a"]]["score"] == 75 and "timeliness" not in checks[ids["d"]]["items"]


def test_a_checklist_change_needs_a_name_of_its_own_and_leaves_at_least_one_item(floor):
    db, p, _ids, _now = floor
    with db.session() as s:
        by_code = {i["code"]: i["id"] for i in service.checklist_view(s, p["sup"])["items"]}
        for body, code in (({"label": "  "}, "checklist_empty"), ({"label": "长" * 61}, "checklist_too_long"),
                           ({"label": "礼貌用语"}, "checklist_duplicate"),
                           ({"label": "新项", "code": "Bad Code"}, "checklist_bad_code"),
                           ({"label": "新项", "code": "closing"}, "checklist_duplicate")):
            with pytest.raises(ConsoleError) as refused:
                service.checklist_add(s, p["sup"], body)
            assert (refused.value.status, refused.value.code) == (400, code), body
        with pytest.raises(ConsoleError, match="checklist_duplicate"):
            service.checklist_rename(s, p["sup"], by_code["closing"], {"label": "准确答复"})
        with pytest.raises(ConsoleError) as missing:
            service.checklist_rename(s, p["sup"], 99999, {"label": "x"})
        assert missing.value.status == 404
        for code in ("courtesy", "accuracy", "timeliness"):
            service.checklist_retire(s, p["sup"], by_code[code])
        with pytest.raises(ConsoleError, match="checklist_last_item"):
            service.checklist_retire(s, p["sup"], by_code["closing"])
        # a retired item's name is free again, and the checklist is not seeded a second time
        assert service.checklist_add(s, p["sup"], {"label": "礼貌用语"})["code"] == "item_5"
    with db.session() as s:
        assert supervision.seed_checklist(s, {"courtesy": "礼貌用语"}) == 0
        assert [i.code for i in supervision.checklist_items(s)] == ["closing", "item_5"]
        assert len(audit.entries(s, action="quality.checklist_seed")) == 1
