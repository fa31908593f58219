"""The running bot answers through the REST channel, and keeps REST senders apart from real customers."""

import json
import urllib.request

import pytest

pytestmark = pytest.mark.rasa  # talks to a running Rasa server or runs Rasa with the trained model


def post(bot, path, payload):
    req = urllib.request.Request(bot.url + path, data=json.dumps(payload).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())


def test_greeting_through_rest(bot):
    replies = post(bot, "/webhooks/rest/webhook", {"sender": "smoke", "message": "你好"})
    assert replies and "智能客服" in replies[0]["text"]
    assert replies[0]["recipient_id"] == "rest:smoke"


def test_health_and_ready(bot):
    with urllib.request.urlopen(bot.url + "/ready", timeout=10) as resp:
        assert json.loads(resp.read())["checks"] == {"model": True, "database": True}
