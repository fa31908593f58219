"""The simulator's backend: signed WeChat XML to the real webhook, the conversation and the demo SMS outbox."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request

import pytest

from bot.db import session_scope
from bot.domain import contacts
from bot.messaging import outbox
from tests.eventually import eventually

pytestmark = pytest.mark.rasa  # talks to a running Rasa server or runs Rasa with the trained model


def call(bot, path: str, payload: dict | None = None):
    data = json.dumps(payload).encode() if payload is not None else None
    request = urllib.request.Request(bot.url + path, data=data, method="POST" if data else "GET",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            return resp.status, dict(resp.headers), resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read().decode()


def test_page_and_assets_are_self_contained(bot):
    status, headers, html = call(bot, "/simulator/")
    assert status == 200 and "微信" in html
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert assets and all(a.startswith("/simulator/static/") for a in assets)
    for asset in assets:
        status, _, body = call(bot, asset)
        assert status == 200 and not re.search(r"https?://", body), asset
    assert call(bot, "/simulator/static/../../config.py")[0] == 404


def test_menu_comes_from_the_menu_file(bot):
    status, _, body = call(bot, "/simulator/api/menu")
    menu = json.loads(body)["menu"]
    assert [b["name"] for b in menu] == ["查电费", "停电报修", "更多服务"]
    assert menu[0]["sub_buttons"][0] == {"name": "查电费", "key": "QUERY_BILL", "url": None}


def test_only_simulator_openids_can_be_used(bot):
    status, _, _ = call(bot, "/simulator/api/send", {"openid": "oRealCustomer123", "kind": "text", "text": "你好"})
    assert status == 400
    assert call(bot, "/simulator/api/updates?openid=oRealCustomer123")[0] == 400


def test_sent_messages_reach_the_bot_and_the_conversation_is_shown(bot):
    openid = "sim-apiTest0001"
    status, _, body = call(bot, "/simulator/api/send", {"openid": openid, "kind": "text", "text": "你好"})
    result = json.loads(body)
    assert status == 200 and result["status"] == 200 and result["passive"] is True

    def conversation():
        data = json.loads(call(bot, f"/simulator/api/updates?openid={openid}&after=0")[2])
        return data if len(data["messages"]) >= 2 else None

    data = eventually(conversation)
    assert [m["from"] for m in data["messages"]] == ["customer", "bot"]
    assert data["messages"][0]["text"] == "你好" and "智能客服" in data["messages"][1]["text"]
    # the cursor returns only what is new
    later = json.loads(call(bot, f"/simulator/api/updates?openid={openid}&after={data['cursor']}")[2])
    assert later["messages"] == []


def test_every_kind_of_message_is_accepted(bot):
    openid = "sim-apiTest0002"
    for payload in ({"kind": "subscribe"}, {"kind": "click", "key": "PAYMENT_METHODS"},
                    {"kind": "location", "latitude": 39.35, "longitude": 114.69, "label": "涞源县城关镇"},
                    {"kind": "image"}, {"kind": "voice", "recognition": ""}, {"kind": "voice", "recognition": "你好"},
                    {"kind": "view", "url": "https://example.org/"}):
        status, _, body = call(bot, "/simulator/api/send", {"openid": openid, **payload})
        assert status == 200 and json.loads(body)["status"] == 200, payload
    assert call(bot, "/simulator/api/send", {"openid": openid, "kind": "teleport"})[0] == 400


def test_demo_sms_outbox_is_shown_masked(bot, records_db):
    with session_scope(records_db) as s:
        customer = contacts.get_or_create(s, "wechat", "sim-apiTest0003")
        message = outbox.record(s, "demo_sms", "otp", "13900006666", "【国网涞源县供电公司】验证码246810",
                                status="demo", contact_id=customer.id)
        before = message.id - 1
    data = json.loads(call(bot, f"/simulator/api/updates?openid=sim-apiTest0003&sms_after={before}")[2])
    [sms] = data["sms"]
    assert sms["to"] == "139****6666" and "246810" in sms["body"]
    leaked = "13900006666" in json.dumps(data)
    assert not leaked
