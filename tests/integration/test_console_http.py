"""The agent console over HTTP against the running bot: sign-in, sessions and CSRF, what each role may
do (checked on the server, whatever the page shows), one owner per conversation, the bot paused while
an agent owns a conversation, and an audit log that records every action and that no request changes.
"""

from __future__ import annotations

import http.client
import json
import re
import threading
import urllib.parse
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import pytest
from sqlalchemy import select

from bot.db import session_scope
from bot.domain import audit, contacts, handoffs, media, staff, tickets, transcript
from bot.domain.models import Account, Binding, Handoff, SatisfactionRating
from bot.domain.places import Place

pytestmark = pytest.mark.rasa

PASSWORD = "console-test-password"


class ConsoleClient:
    """A staff member's browser, reduced to HTTP: it keeps the session cookie itself (also when the
    cookie is marked Secure on plain-HTTP test servers) and sends the CSRF token like the page does."""

    def __init__(self, base_url: str) -> None:
        parsed = urllib.parse.urlsplit(base_url)
        self.host, self.port = parsed.hostname, parsed.port
        self.cookies: Dict[str, str] = {}
        self.csrf: Optional[str] = None
        self.last_headers: List[Tuple[str, str]] = []

    def request(self, method: str, path: str, body: Optional[bytes] = None,
                headers: Optional[Dict[str, str]] = None) -> Tuple[int, str]:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        try:
            all_headers = dict(headers or {})
            if self.cookies:
                all_headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
            conn.request(method, path, body=body, headers=all_headers)
            resp = conn.getresponse()
            text = resp.read().decode("utf-8")
            self.last_headers = resp.getheaders()
            for name, value in self.last_headers:
                if name.lower() == "set-cookie":
                    cookie_name, _, rest = value.partition("=")
                    cookie_value = rest.split(";", 1)[0].strip('"')
                    if cookie_value and "Max-Age=0" not in value:
                        self.cookies[cookie_name] = cookie_value
                    else:
                        self.cookies.pop(cookie_name, None)
            return resp.status, text
        finally:
            conn.close()

    def header(self, name: str) -> List[str]:
        return [v for k, v in self.last_headers if k.lower() == name.lower()]

    def login(self, username: str, password: str = PASSWORD) -> int:
        status, page = self.request("GET", "/console/login")
        assert status == 200
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        form = urllib.parse.urlencode({"username": username, "password": password, "csrf_token": token})
        status, _ = self.request("POST", "/console/login", form.encode(),
                                 {"Content-Type": "application/x-www-form-urlencoded"})
        if status == 303:
            page_status, app = self.request("GET", "/console/")
            assert page_status == 200
            self.csrf = re.search(r'name="csrf-token" content="([^"]+)"', app).group(1)
        return status

    def get(self, path: str) -> Tuple[int, Any]:
        status, text = self.request("GET", "/console/api" + path, headers={"Accept": "application/json"})
        return status, json.loads(text) if text else None

    def post(self, path: str, body: Optional[Dict[str, Any]] = None, csrf: Optional[str] = "session",
             method: str = "POST") -> Tuple[int, Any]:
        headers = {"Content-Type": "application/json"}
        token = self.csrf if csrf == "session" else csrf
        if token:
            headers["X-CSRF-Token"] = token
        status, text = self.request(method, "/console/api" + path, json.dumps(body or {}).encode(), headers)
        try:
            return status, json.loads(text) if text else None
        except ValueError:
            return status, text


def make_staff(db_url: str, role: str, prefix: str = "h") -> str:
    """A new staff user in the bot's database; returns the username (password: PASSWORD)."""
    username = f"{prefix}_{role[:3]}_{uuid.uuid4().hex[:6]}"
    with session_scope(db_url) as s:
        staff.add(s, username, role, PASSWORD, display_name=f"{username}显示")
    return username


def signed_in(bot, db_url: str, role: str) -> Tuple[ConsoleClient, str]:
    username = make_staff(db_url, role)
    client = ConsoleClient(bot.url)
    assert client.login(username) == 303
    return client, username


def waiting(db_url: str, sender_id: Optional[str] = None, bound_to: Optional[str] = None) -> Tuple[int, str]:
    """A conversation in the queue (as the dialogue puts it there); optionally a WeChat customer
    bound to account ``bound_to``. Returns (handoff id, sender id)."""
    with session_scope(db_url) as s:
        if bound_to:
            contact = contacts.get_or_create(s, "wechat", f"oConsoleTest{uuid.uuid4().hex[:12]}")
            account = s.scalar(select(Account).where(Account.account_no == bound_to))
            s.add(Binding(contact_id=contact.id, account_id=account.id, method="sms_code"))
            sender_id = contact.sender_id
        sender_id = sender_id or f"rest:console-{uuid.uuid4().hex[:10]}"
        handoff = handoffs.request(s, sender_id, sender_id.partition(":")[0], "asked",
                                   contact=contacts.by_sender(s, sender_id), last_intent="query_bill")
        return handoff.id, sender_id


def rest_say(bot, sender: str, text: str) -> List[str]:
    """A customer writes through the REST channel; the bot's answers (none while an agent owns it)."""
    conn = http.client.HTTPConnection("127.0.0.1", int(bot.url.rsplit(":", 1)[1]), timeout=60)
    try:
        conn.request("POST", "/webhooks/rest/webhook", json.dumps({"sender": sender, "message": text}).encode(),
                     {"Content-Type": "application/json"})
        resp = conn.getresponse()
        assert resp.status == 200
        return [m.get("text", "") for m in json.loads(resp.read())]
    finally:
        conn.close()


@dataclass(frozen=True)
class HandoffState:
    status: str
    owner: Optional[str]
    close_kind: Optional[str]


def handoff_row(db_url: str, handoff_id: int) -> HandoffState:
    with session_scope(db_url) as s:
        row = s.get(Handoff, handoff_id)
        return HandoffState(row.status, row.owner.username if row.owner else None, row.close_kind)


def audit_of(db_url: str, target_id: str) -> List[Tuple[str, str]]:
    with session_scope(db_url) as s:
        return [(e.actor, e.action) for e in reversed(audit.entries(s, limit=1000)) if e.target_id in (target_id, audit.subject(target_id))]


# ----------------------------------------------------------------------------------- sign-in


def test_nothing_is_served_without_a_session(bot, records_db):
    hid, _sender = waiting(records_db)
    anonymous = ConsoleClient(bot.url)
    status, _ = anonymous.request("GET", "/console/")
    assert status == 303 and anonymous.header("Location") == ["/console/login"]
    for path in ("/me", "/queue", f"/conversations/{hid}", "/audit", "/staff", "/canned"):
        assert anonymous.get(path)[0] == 401, path
    for path in (f"/conversations/{hid}/take", f"/conversations/{hid}/reply", "/staff"):
        assert anonymous.post(path, {"text": "x"}, csrf="forged")[0] == 401, path
    # a made-up session cookie is no session either
    anonymous.cookies["powerbot_console"] = "made-up-token"
    assert anonymous.get("/queue")[0] == 401
    assert handoff_row(records_db, hid).status == "waiting"


def test_sign_in_sets_a_strict_http_only_session_cookie(bot, records_db):
    username = make_staff(records_db, "agent")
    client = ConsoleClient(bot.url)
    assert client.login(username, "wrong password") == 401 and "powerbot_console" not in client.cookies
    status, page = client.request("GET", "/console/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    form = urllib.parse.urlencode({"username": username, "password": PASSWORD, "csrf_token": token}).encode()
    status, _ = client.request("POST", "/console/login", form, {"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 303
    (cookie,) = [c for c in client.header("Set-Cookie") if c.startswith("powerbot_console=")]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/console" in cookie
    assert client.header("Content-Security-Policy") and client.header("X-Frame-Options") == ["DENY"]
    # the login form itself is protected against cross-site posting
    other = ConsoleClient(bot.url)
    status, _ = other.request("POST", "/console/login", form, {"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 403 and "powerbot_console" not in other.cookies


def test_state_changes_need_the_sessions_csrf_token(bot, records_db):
    hid, _sender = waiting(records_db)
    agent, _ = signed_in(bot, records_db, "agent")
    other, _ = signed_in(bot, records_db, "agent")
    assert agent.post(f"/conversations/{hid}/take", csrf=None)[1]["error"] == "csrf"
    assert agent.post(f"/conversations/{hid}/take", csrf="forged-token")[0] == 403
    assert agent.post(f"/conversations/{hid}/take", csrf=other.csrf)[0] == 403  # another session's token
    assert handoff_row(records_db, hid).status == "waiting"
    assert agent.post(f"/conversations/{hid}/take")[0] == 200
    # sign-out is a state change too
    status, _ = agent.request("POST", "/console/logout", b"csrf_token=forged",
                              {"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 403 and agent.get("/me")[0] == 200
    status, _ = agent.request("POST", "/console/logout", f"csrf_token={agent.csrf}".encode(),
                              {"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 303 and agent.get("/me")[0] == 401


# ---------------------------------------------------------------------------------- permissions


def test_an_agent_cannot_reveal_read_the_audit_log_or_manage_staff(bot, records_db):
    hid, _sender = waiting(records_db, bound_to="5100000102")
    agent, username = signed_in(bot, records_db, "agent")
    assert agent.post(f"/conversations/{hid}/take")[0] == 200
    body = {"account_no": "5100000102", "field": "phone", "reason": "核实身份"}
    status, refused = agent.post(f"/conversations/{hid}/reveal", body)
    leaked = "13900002222" in json.dumps(refused)  # (outside the assert: a failure must not print the number)
    assert status == 403 and refused["error"] == "forbidden" and not leaked
    assert agent.get("/audit")[0] == 403
    assert agent.get("/staff")[0] == 403
    assert agent.post("/staff", {"username": "intruder", "role": "admin"})[0] == 403
    assert agent.post(f"/staff/{username}/reset-password")[0] == 403
    assert agent.post(f"/staff/{username}/disable")[0] == 403
    # what the agent sees is masked
    status, view = agent.get(f"/conversations/{hid}")
    assert status == 200 and view["accounts"][0]["phone"] == "139****2222" and view["accounts"][0]["name"] == "李**"
    leaked = any(clear in json.dumps(view, ensure_ascii=False) for clear in ("13900002222", "李秀英"))
    assert not leaked
    with session_scope(records_db) as s:
        assert s.scalar(select(staff.StaffUser).where(staff.StaffUser.username == "intruder")) is None
        denied = audit.entries(s, actor=f"staff:{username}", action="console.denied")
        assert len(denied) == 6 and {e.outcome for e in denied} == {"denied"}
        assert audit.entries(s, action="pii.reveal", actor=f"staff:{username}") == []


def test_an_agent_cannot_act_on_a_conversation_someone_else_owns(bot, records_db):
    hid, sender = waiting(records_db, bound_to="5100000101")
    owner, owner_name = signed_in(bot, records_db, "agent")
    intruder, _ = signed_in(bot, records_db, "agent")
    assert owner.post(f"/conversations/{hid}/take")[0] == 200
    status, refused = intruder.post(f"/conversations/{hid}/take")
    assert status == 409 and refused["error"] == "taken" and refused["owner"] == f"{owner_name}显示"
    for path, body in ((f"/conversations/{hid}/reply", {"text": "我来接手"}),
                       (f"/conversations/{hid}/handback", {}),
                       (f"/conversations/{hid}/close", {}),
                       (f"/conversations/{hid}/tickets", {"type": "complaint", "description": "x"}),
                       (f"/conversations/{hid}/take", {"force": True})):
        status, refused = intruder.post(path, body)
        assert status in (403, 409) and refused["error"] in ("not_owner", "forbidden"), (path, refused)
    assert intruder.get(f"/conversations/{hid}")[0] == 403
    assert intruder.get(f"/conversations/{hid}/transcript?after=0")[0] == 403
    assert intruder.get("/queue")[1]["live"] == []
    row = handoff_row(records_db, hid)
    assert row.status == "active" and row.owner == owner_name
    with session_scope(records_db) as s:
        assert [e.author for e in transcript.since(s, sender)] == ["system"]  # only the takeover notice


def test_supervisors_reveal_one_field_with_a_reason_and_take_over_from_agents(bot, records_db):
    hid, sender = waiting(records_db, bound_to="5100000103")
    agent, agent_name = signed_in(bot, records_db, "agent")
    supervisor, sup_name = signed_in(bot, records_db, "supervisor")
    assert agent.post(f"/conversations/{hid}/take")[0] == 200
    # supervisors see every live conversation
    assert hid in [h["id"] for h in supervisor.get("/queue")[1]["live"]]
    body = {"account_no": "5100000103", "field": "name"}
    assert supervisor.post(f"/conversations/{hid}/reveal", body)[1]["error"] == "reason_required"
    status, shown = supervisor.post(f"/conversations/{hid}/reveal", {**body, "reason": "客户投诉需回访"})
    assert status == 200 and shown == {"account_no": "5100000103", "field": "name", "value": "王德明"}
    with session_scope(records_db) as s:
        (entry,) = audit.entries(s, actor=f"staff:{sup_name}", action="pii.reveal")
        assert entry.target_id == "5100000103"
        assert entry.detail == {"field": "name", "reason": "客户投诉需回访", "conversation": sender}
    # taking over needs force; then the agent is out
    assert supervisor.post(f"/conversations/{hid}/take")[0] == 409
    assert supervisor.post(f"/conversations/{hid}/take", {"force": True})[0] == 200
    assert agent.post(f"/conversations/{hid}/reply", {"text": "还在吗"})[0] == 403
    assert supervisor.post(f"/conversations/{hid}/reply", {"text": "您好，我是值班班长"})[0] == 200
    assert handoff_row(records_db, hid).owner == sup_name
    assert ("staff:" + agent_name, "conversation.take") in audit_of(records_db, sender)


def test_admins_manage_staff_from_the_console(bot, records_db):
    admin, admin_name = signed_in(bot, records_db, "admin")
    status, created = admin.post("/staff", {"username": f"new_{uuid.uuid4().hex[:6]}", "role": "agent",
                                            "display_name": "新坐席"})
    assert status == 201
    username, password = created["user"]["username"], created["password"]
    newcomer = ConsoleClient(bot.url)
    assert newcomer.login(username, password) == 303
    assert newcomer.get("/me")[1]["role"] == "agent"
    assert username in [u["username"] for u in admin.get("/staff")[1]["staff"]]
    # disabling ends the newcomer's session at once and stops sign-in
    assert admin.post(f"/staff/{username}/disable")[0] == 200
    assert newcomer.get("/me")[0] == 401
    assert ConsoleClient(bot.url).login(username, password) == 401
    assert admin.post(f"/staff/{username}/enable")[0] == 200
    status, reset = admin.post(f"/staff/{username}/reset-password")
    assert status == 200 and reset["password"] != password
    assert ConsoleClient(bot.url).login(username, password) == 401
    assert ConsoleClient(bot.url).login(username, reset["password"]) == 303
    assert admin.post(f"/staff/{admin_name}/disable")[1]["error"] == "self"
    # administrators manage people, not conversations
    hid, _sender = waiting(records_db)
    assert admin.post(f"/conversations/{hid}/take")[0] == 403


# ------------------------------------------------------------------------- conversation with Rasa


def test_the_bot_is_silent_while_an_agent_owns_the_conversation_and_answers_after_hand_back(bot, records_db):
    sender = f"console-pause-{uuid.uuid4().hex[:8]}"
    assert rest_say(bot, sender, "你好")  # the bot answers before anyone takes over
    hid, sender_id = waiting(records_db, sender_id=f"rest:{sender}")
    agent, username = signed_in(bot, records_db, "agent")
    assert agent.post(f"/conversations/{hid}/take")[0] == 200
    status, view = agent.get(f"/conversations/{hid}")
    last = view["transcript"][-1]
    assert last["author"] == "system" and "人工客服已为您接入" in last["text"]

    assert rest_say(bot, sender, "我家停电了") == []  # paused: Rasa logs the message, says nothing
    status, new = agent.get(f"/conversations/{hid}/transcript?after={last['id']}")
    assert [(e["author"], e["text"]) for e in new["entries"]] == [("customer", "我家停电了")]

    status, sent = agent.post(f"/conversations/{hid}/reply", {"text": "您好，请问您的户号是多少？"})
    assert status == 200 and sent["entry"]["author"] == f"agent:{username}"
    assert agent.post(f"/conversations/{hid}/reply", {"text": "   "})[1]["error"] == "empty"
    assert rest_say(bot, sender, "稍等我找一下") == []

    status, done = agent.post(f"/conversations/{hid}/handback")
    assert status == 200 and handoff_row(records_db, hid).close_kind == "handback"
    assert rest_say(bot, sender, "你好")  # the bot answers again
    with session_scope(records_db) as s:
        authors = [e.author for e in transcript.since(s, sender_id)]
    taken = authors.index("system")
    assert authors[:taken] and set(authors[:taken]) == {"customer", "bot"}
    assert authors[taken:taken + 5] == ["system", "customer", f"agent:{username}", "customer", "system"]
    assert authors[taken + 5] == "customer" and set(authors[taken + 6:]) == {"bot"}


def test_closing_asks_the_customer_for_a_rating(bot, records_db):
    hid, sender_id = waiting(records_db, sender_id=f"rest:console-close-{uuid.uuid4().hex[:8]}")
    agent, username = signed_in(bot, records_db, "agent")
    assert agent.post(f"/conversations/{hid}/take")[0] == 200
    assert agent.post(f"/conversations/{hid}/close")[0] == 200
    with session_scope(records_db) as s:
        asked = handoffs.awaiting_rating(s, sender_id)
        assert asked.id == hid and asked.owner.username == username
        assert "1到5" in transcript.since(s, sender_id)[-1].text
    assert agent.post(f"/conversations/{hid}/reply", {"text": "还有问题吗"})[1]["error"] == "closed"


def rated_by_customer(bot, records_db: str, answer: str) -> Tuple[int, str, str, ConsoleClient]:
    """A REST customer served by a new agent who closes the conversation; the customer answers the
    rating prompt with ``answer``. Returns (handoff id, sender id, agent's username, agent's client)."""
    sender = f"console-rate-{uuid.uuid4().hex[:8]}"
    assert rest_say(bot, sender, "你好")
    hid, sender_id = waiting(records_db, sender_id=f"rest:{sender}")
    agent, username = signed_in(bot, records_db, "agent")
    assert agent.post(f"/conversations/{hid}/take")[0] == 200
    assert agent.post(f"/conversations/{hid}/close")[0] == 200
    assert rest_say(bot, sender, answer)
    return hid, sender_id, username, agent


def test_the_customers_answer_to_the_rating_prompt_is_recorded_against_the_agent(bot, records_db):
    """Console and dialogue together: the console closes and asks; the bot, resumed, records the answer."""
    hid, sender_id, username, _agent = rated_by_customer(bot, records_db, "5")  # what the prompt asks for
    with session_scope(records_db) as s:
        ratings = [(r.score, r.handoff_id, r.staff_id) for r in
                   s.scalars(select(SatisfactionRating).where(SatisfactionRating.sender_id == sender_id))]
        assert ratings == [(5, hid, staff.get(s, username).id)]
        assert handoffs.awaiting_rating(s, sender_id) is None


def test_supervisors_see_service_quality_with_each_agents_ratings_and_agents_do_not(bot, records_db):
    _hid, _sender_id, username, agent = rated_by_customer(bot, records_db, "4")
    assert agent.get("/metrics")[0] == 403
    supervisor, _ = signed_in(bot, records_db, "supervisor")
    status, report = supervisor.get("/metrics?days=1")
    assert status == 200 and report["conversations"] >= 1 and report["ratings"] >= 1
    (line,) = [a for a in report["agents"] if a["username"] == username]
    assert (line["taken"], line["closed"], line["ratings"], line["average_rating"]) == (1, 1, 1, 4.0)
    assert supervisor.get("/metrics?days=0")[0] == 400 and supervisor.get("/metrics?days=week")[0] == 400


def test_agents_open_a_ticket_for_the_customer_and_correct_it_but_status_is_for_dispatchers(bot, records_db):
    hid, _sender = waiting(records_db, bound_to="5100000104")
    agent, username = signed_in(bot, records_db, "agent")
    assert agent.post(f"/conversations/{hid}/take")[0] == 200
    status, ticket = agent.post(f"/conversations/{hid}/tickets",
                                {"type": "meter", "account_no": "5100000104", "description": "客户反映电表走得快"})
    assert status == 201 and ticket["status"] == "open"
    status, refused = agent.post(f"/conversations/{hid}/tickets/{ticket['ticket_no']}/status", {"status": "dispatched"})
    assert status == 403 and refused["error"] == "forbidden"
    status, corrected = agent.post(f"/tickets/{ticket['ticket_no']}/description", {"description": "电表夜间也走字"})
    assert status == 200 and corrected["description"] == "电表夜间也走字"
    assert agent.post(f"/tickets/{ticket['ticket_no']}/notes", {"text": "客户白天不在家"})[0] == 200
    status, view = agent.get(f"/conversations/{hid}")
    assert ticket["ticket_no"] in [t["ticket_no"] for t in view["accounts"][0]["open_tickets"]]
    assert audit_of(records_db, ticket["ticket_no"]) == [(f"staff:{username}", "ticket.create"),
                                                        (f"staff:{username}", "ticket.correct"),
                                                        (f"staff:{username}", "ticket.note")]


# ------------------------------------------------------------------------------------- audit log


def test_the_audit_log_holds_one_entry_per_action_and_no_request_changes_it(bot, records_db):
    hid, sender = waiting(records_db, bound_to="5100000105")
    supervisor, sup_name = signed_in(bot, records_db, "supervisor")
    assert supervisor.post(f"/conversations/{hid}/take")[0] == 200
    assert supervisor.post(f"/conversations/{hid}/reply", {"text": "您好"})[0] == 200
    assert supervisor.post(f"/conversations/{hid}/reveal", {"account_no": "5100000105", "field": "phone",
                                                            "reason": "回电确认"})[0] == 200
    assert supervisor.post(f"/conversations/{hid}/handback")[0] == 200
    actor = f"staff:{sup_name}"
    mine = [a for who, a in audit_of(records_db, sender) if who == actor]
    assert mine == ["conversation.take", "conversation.reply", "conversation.handback"]
    assert [a for who, a in audit_of(records_db, "5100000105") if who == actor] == ["pii.reveal"]

    status, listed = supervisor.get(f"/audit?actor={actor}")
    assert status == 200
    before = listed["entries"]
    assert sorted(e["action"] for e in before) == sorted(["conversation.take", "conversation.reply", "pii.reveal",
                                                          "conversation.handback", "staff.login"])
    entry_id = before[0]["id"]
    tampering = {"actor": "staff:nobody", "action": "nothing", "detail": {}}
    for method in ("PUT", "PATCH", "DELETE", "POST"):
        for path in ("/audit", f"/audit/{entry_id}", f"/audit/{entry_id}/delete"):
            status, _ = supervisor.post(path, tampering, method=method)
            assert status in (404, 405), (method, path, status)
    status, after = supervisor.get(f"/audit?actor={actor}")
    assert after["entries"] == before


# ------------------------------------------------------------------------------------------- race


def race(clients: List[ConsoleClient], path: str) -> List[Tuple[int, Any]]:
    """Every client sends the same request at the same moment (threads released by one barrier)."""
    barrier = threading.Barrier(len(clients))
    results: List[Any] = [None] * len(clients)

    def attempt(i: int) -> None:
        barrier.wait()
        results[i] = clients[i].post(path)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(len(clients))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def test_two_agents_racing_for_one_conversation_exactly_one_wins(bot, records_db):
    (first, first_name), (second, second_name) = signed_in(bot, records_db, "agent"), signed_in(bot, records_db, "agent")
    names = {first_name, second_name}
    for _ in range(5):
        hid, sender = waiting(records_db)
        results = race([first, second], f"/conversations/{hid}/take")
        assert sorted(status for status, _ in results) == [200, 409], results
        loser = next(body for status, body in results if status == 409)
        winner = handoff_row(records_db, hid).owner
        assert winner in names and loser["owner"] == f"{winner}显示"
        takes = [who for who, action in audit_of(records_db, sender) if action == "conversation.take"]
        assert takes == [f"staff:{winner}"]


# ------------------------------------------------------------- ids no record can have (issue 11, fault 6)


def test_ids_and_names_no_record_can_have_are_not_found_and_bad_queries_are_refused(bot, records_db):
    hid, _sender = waiting(records_db)
    supervisor, _ = signed_in(bot, records_db, "supervisor")
    admin, _ = signed_in(bot, records_db, "admin")
    huge = "9" * 30
    for path in (f"/conversations/{huge}", f"/conversations/{huge}/transcript", f"/conversations/{2**31}",
                 "/conversations/-1", "/conversations/abc", "/conversations/12abc/transcript"):
        assert supervisor.get(path)[0] == 404, path
    for path, body in ((f"/conversations/{huge}/take", {}), (f"/conversations/{huge}/reply", {"text": "您好"}),
                       (f"/conversations/{huge}/handback", {}), (f"/conversations/{huge}/close", {}),
                       (f"/conversations/{huge}/tickets", {"type": "repair", "description": "x"}),
                       (f"/conversations/{huge}/tickets/GD1/status", {"status": "closed"}),
                       (f"/conversations/{hid}/tickets/GD{huge * 4}/status", {"status": "closed"}),
                       (f"/conversations/{huge}/reveal", {"field": "name", "reason": "核实"})):
        assert supervisor.post(path, body)[0] == 404, path
    for path in ("/staff/nobody-here/disable", "/staff/" + "x" * 100 + "/enable"):
        assert admin.post(path)[0] == 404, path
    for path in (f"/conversations/{hid}/transcript?after={huge}", f"/audit?before={huge}", "/audit?limit=-5x",
                 "/audit?actor=a%00b", f"/metrics?days={huge}"):
        assert supervisor.get(path)[0] == 400, path
    assert supervisor.post(f"/conversations/{hid}/take")[0] == 200
    assert supervisor.post(f"/conversations/{hid}/reply", {"text": "a\u0000b"})[0] == 400
    assert ConsoleClient(bot.url).login("a\u0000b", "whatever") == 401


def test_an_id_no_route_accepts_is_a_json_404_whatever_the_client_accepts(bot, records_db):
    """Found in a try-out: ``/conversations/abc`` was Sanic's HTML page unless the client asked for JSON."""
    supervisor, _ = signed_in(bot, records_db, "supervisor")
    for method, path in (("GET", "/conversations/abc"), ("GET", "/conversations/12abc/transcript"),
                         ("GET", "/conversations/%D9%A1%D9%A2"), ("GET", f"/conversations/{2**31}"),
                         ("GET", "/conversations/-1"), ("POST", "/conversations/abc/take"),
                         ("POST", "/canned/x1/delete"), ("POST", "/crews/abc"), ("GET", "/no-such-endpoint")):
        headers = {"X-CSRF-Token": supervisor.csrf or ""} if method == "POST" else {}
        status, text = supervisor.request(method, "/console/api" + path, b"{}" if method == "POST" else None, headers)
        assert status == 404, path
        assert supervisor.header("Content-Type")[0].startswith("application/json"), path
        assert json.loads(text)["error"] == "not_found", path
    # signed out, such a path is refused like every other console endpoint
    status, text = ConsoleClient(bot.url).request("GET", "/console/api/conversations/abc")
    assert status == 401 and json.loads(text)["error"] == "signed_out"


def test_a_body_that_is_not_a_json_object_is_refused_with_a_clear_message(bot, records_db):
    """Found in a try-out: ``[]`` and ``null`` to key-customer and me/routing were answered 200 (and a
    missing flag quietly unflagged the customer)."""
    supervisor, _ = signed_in(bot, records_db, "supervisor")
    headers = {"Content-Type": "application/json", "X-CSRF-Token": supervisor.csrf or ""}
    for path in ("/accounts/5100000101/key-customer", "/me/routing"):
        for raw in (b"[]", b"null", b"3", b'"online"'):
            status, text = supervisor.request("POST", "/console/api" + path, raw, headers)
            answer = json.loads(text)
            assert (status, answer.get("error")) == (400, "body_not_object"), (path, raw, text)
            assert "JSON" in answer["message"]
    assert supervisor.post("/accounts/5100000101/key-customer", {})[1]["error"] == "bad_flag"
    assert supervisor.post("/me/routing", {})[1]["error"] == "nothing_to_change"
    assert supervisor.post("/me/routing", {"presence": "online"})[0] == 200
    assert supervisor.request("POST", "/console/api/me/routing", b"", headers)[0] == 400  # nothing to change
    hid, _sender = waiting(records_db)
    assert supervisor.request("POST", f"/console/api/conversations/{hid}/take", b"", headers)[0] == 200


# ------------------------------------------------------------------------------------- back office


def _repair_ticket(db_url: str, village: str) -> str:
    with session_scope(db_url) as s:
        contact = contacts.get_or_create(s, "wechat", f"oBackOffice{uuid.uuid4().hex[:10]}")
        return tickets.create(s, "repair", "wechat", "停电", contact=contact,
                              place=Place("城关镇", village, "urban")).ticket_no


def test_dispatchers_work_the_queue_over_http_and_agents_cannot(bot, records_db):
    ticket_no = _repair_ticket(records_db, "东关村")
    agent, _ = signed_in(bot, records_db, "agent")
    assert agent.get("/tickets")[0] == 403
    assert agent.post(f"/tickets/{ticket_no}/status", {"status": "dispatched"})[0] == 403
    admin, _ = signed_in(bot, records_db, "admin")
    status, made = admin.post("/crews", {"name": f"城关抢修{uuid.uuid4().hex[:4]}", "township": "城关镇"})
    assert status == 201
    dispatcher, username = signed_in(bot, records_db, "dispatcher")
    assert dispatcher.post("/crews", {"name": "x"})[0] == 403
    status, queue = dispatcher.get("/tickets?type=repair&township=%E5%9F%8E%E5%85%B3%E9%95%87")
    assert status == 200 and ticket_no in [t["ticket_no"] for t in queue["tickets"]]
    assert dispatcher.get("/tickets?type=party")[0] == 400
    status, moved = dispatcher.post(f"/tickets/{ticket_no}/status",
                                    {"status": "dispatched", "crew_id": made["crew"]["id"], "eta": "2026-12-01T15:00"})
    assert (status, moved["status"]) == (200, "dispatched")
    status, refused = dispatcher.post(f"/tickets/{ticket_no}/status", {"status": "closed"})
    assert status == 409 and refused["error"] == "ticket_transition"
    assert dispatcher.post(f"/tickets/{ticket_no}/status", {"status": "on_site"}, csrf=None)[0] == 403
    status, page = dispatcher.get(f"/tickets/{ticket_no}")
    assert status == 200 and [h["status"] for h in page["history"]] == ["open", "dispatched"]
    assert (f"staff:{username}", "ticket.status") in audit_of(records_db, ticket_no)


def test_ticket_photos_are_served_to_signed_in_staff_only_and_audited(bot, records_db):
    ticket_no = _repair_ticket(records_db, "西关村")
    photo = b"GIF89a" + b"0123456789" * 4
    media_dir = Path(bot.env["POWERBOT_VAR_DIR"]) / "media"
    with session_scope(records_db) as s:
        attachment = media.store_photo(s, tickets.by_no(s, ticket_no), photo, "image/gif", "staff:x", media_dir)
        attachment_id = attachment.id
    anonymous = ConsoleClient(bot.url)
    assert anonymous.request("GET", f"/console/media/{attachment_id}")[0] == 401
    dispatcher, username = signed_in(bot, records_db, "dispatcher")
    status, _ = dispatcher.request("GET", f"/console/media/{attachment_id}")
    assert status == 200 and dispatcher.header("Content-Type") == ["image/gif"]
    assert dispatcher.header("Content-Security-Policy")
    assert dispatcher.request("GET", "/console/media/999999")[0] == 404
    assert (f"staff:{username}", "media.view") in audit_of(records_db, ticket_no)
