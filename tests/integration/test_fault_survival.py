"""No customer loses a message when a part of the bot fails.

* The action server down (connections refused): the customer gets an apology as WeChat's passive reply,
  within its deadline, and the conversation waits in the console queue (hand-over ``bot_failure``) —
  never an empty ``success`` and silence.
* A malformed location (coordinates that are no numbers on the earth) neither breaks the open form nor
  becomes a ticket's address.
* A Rasa server restarted in the middle of a form (the embedded default: SQL tracker store on the SQLite
  file) continues the form where the customer left it.
"""

from __future__ import annotations

import json
import shutil
import urllib.request
import uuid
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest
from sqlalchemy import select

from bot.db import dispose_engines, session_scope
from bot.domain import handoffs
from bot.domain.models import Contact, Handoff, Ticket
from tests.conftest import _TMP
from tests.fakes.wechat import WeChatClient, new_msg_id, new_openid
from tests.harness import BotProcesses, start_bot
from tests.integration.records import seed

pytestmark = pytest.mark.rasa

APOLOGY_MARK = "转交人工客服"  # in messages.BOT_FAILURE_KEPT


def _own_records(tag: str, sqlite_template: Path) -> str:
    path = _TMP / f"{tag}-{uuid.uuid4().hex[:8]}.db"
    shutil.copyfile(sqlite_template, path)
    url = f"sqlite:///{path}"
    with session_scope(url) as s:
        seed(s)
    dispose_engines()
    return url


def rest(bot: BotProcesses, sender: str, message: str) -> List[Dict[str, Any]]:
    request = urllib.request.Request(bot.url + "/webhooks/rest/webhook", method="POST",
                                     data=json.dumps({"sender": sender, "message": message}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as resp:
        return json.loads(resp.read())


def said(answer: List[Dict[str, Any]]) -> str:
    return "\n".join(m.get("text", "") for m in answer)


# --- one bot of its own: restarted in the middle of a form, then its action server killed ----------

@pytest.fixture(scope="module")
def own_bot(sqlite_template, fake_wechat_api, fake_twilio_api, tmp_path_factory) -> Iterator[Dict[str, Any]]:
    """A bot on its own records (the embedded defaults: no TRACKER_STORE set); tests may restart parts."""
    records = _own_records("faults", sqlite_template)
    env = {**fake_wechat_api.bot_env(), **fake_twilio_api.bot_env()}
    workdir = Path(tmp_path_factory.mktemp("faults"))
    state: Dict[str, Any] = {"records": records, "env": env, "workdir": workdir,
                             "bots": [start_bot(workdir / "first", records, env)]}
    yield state
    for processes in reversed(state["bots"]):
        processes.stop()


def test_a_restarted_rasa_server_continues_the_open_form(own_bot):
    first = own_bot["bots"][0]
    sender = f"restart-{uuid.uuid4().hex[:8]}"
    asked = said(rest(first, sender, "家里停电了"))
    assert "地址" in asked, asked
    rasa_server = first.procs[-1]
    rasa_server.terminate()
    rasa_server.wait(timeout=30)
    second = start_bot(own_bot["workdir"] / "second", own_bot["records"], own_bot["env"],
                       action_endpoint_url=first.actions_url)
    own_bot["bots"].append(second)
    asked_detail = said(rest(second, sender, "城关镇西关村5号"))
    assert "情况" in asked_detail, "the form goes on from where it was: the address taken, the next question"
    asked_phone = said(rest(second, sender, "全村都停了"))
    assert "手机号" in asked_phone, "a repair ticket needs a number to call back"
    answer = said(rest(second, sender, "13812345678"))
    with session_scope(own_bot["records"]) as s:
        ticket = s.scalar(select(Ticket).join(Contact, Ticket.contact_id == Contact.id)
                          .where(Contact.sender_id == f"rest:{sender}"))
    assert ticket is not None and ticket.address == "城关镇西关村5号", answer
    assert ticket.ticket_no in answer


def test_action_server_killed_the_customer_gets_an_apology_in_time_and_the_message_waits_for_an_agent(own_bot):
    bot = own_bot["bots"][-1]
    actions = own_bot["bots"][0].procs[0]  # the action server (the Rasa servers use it)
    actions.kill()  # kill -9
    actions.wait(timeout=30)
    wechat = WeChatClient(bot.url + "/webhooks/wechat/webhook")
    openid = new_openid()
    reply = wechat.post(wechat.text(openid, "我家停电了"))
    assert reply.status == 200 and not reply.is_success, "never an empty success"
    assert APOLOGY_MARK in (reply.text or "")
    assert reply.seconds < 5.0, "within WeChat's 5-second deadline"
    with session_scope(own_bot["records"]) as s:
        waiting = handoffs.open_for(s, f"wechat:{openid}")
        assert waiting is not None and waiting.reason == "bot_failure" and waiting.status == "waiting"
        assert waiting.id in [h.id for h in handoffs.queue(s)], "visible in the console queue"


def test_action_server_down_over_rest_the_apology_is_the_answer(own_bot):
    bot = own_bot["bots"][-1]
    sender = f"fault-{uuid.uuid4().hex[:8]}"
    assert APOLOGY_MARK in said(rest(bot, sender, "家里停电了"))
    with session_scope(own_bot["records"]) as s:
        assert s.scalar(select(Handoff).where(Handoff.sender_id == f"rest:{sender}")).reason == "bot_failure"


# --- a malformed location inside the outage form ---------------------------------------------------

@pytest.mark.parametrize("x, y", [("nan", "nan"), ("inf", "114.69"), ("999", "114.69")])
def test_a_malformed_location_leaves_the_form_working(bot, records_db, x, y):
    wechat = WeChatClient(bot.url + "/webhooks/wechat/webhook")
    openid = new_openid()
    first = wechat.post(wechat.text(openid, "家里停电了"))
    assert "地址" in (first.text or ""), first.text
    broken = wechat.post(wechat.xml(openid, "location", Location_X=x, Location_Y=y, Scale="15", Label="",
                                    MsgId=new_msg_id()))
    assert broken.status == 400, "a location off the earth is refused before it reaches the form"
    answer = wechat.post(wechat.text(openid, "城关镇西关村5号"))
    assert answer.text and APOLOGY_MARK not in answer.text, "the form still works"
    with session_scope(records_db) as s:
        addresses = list(s.scalars(select(Ticket.address).where(Ticket.address.is_not(None))))
    assert not [a for a in addresses if "nan" in a or "inf" in a or a.startswith("999")]
