"""Every process serves its own Prometheus metrics at ``GET /metrics``: the Rasa server counts messages by
channel, turn latency and hand-overs; the action server the actions it ran."""

from __future__ import annotations

import urllib.request

import pytest

from tests.fakes.wechat import WeChatClient, new_openid

pytestmark = pytest.mark.rasa


def scrape(url: str) -> str:
    with urllib.request.urlopen(url + "/metrics", timeout=10) as resp:
        assert resp.headers["Content-Type"].startswith("text/plain")
        return resp.read().decode()


def value(text: str, sample: str) -> float:
    for line in text.splitlines():
        if line.startswith(sample + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_the_rasa_server_counts_messages_turns_and_hand_overs(bot):
    before = scrape(bot.url)
    wechat = WeChatClient(bot.url + "/webhooks/wechat/webhook")
    reply = wechat.post(wechat.text(new_openid(), "转人工"))
    assert reply.status == 200
    after = scrape(bot.url)
    assert value(after, 'powerbot_messages_total{channel="wechat"}') == value(
        before, 'powerbot_messages_total{channel="wechat"}') + 1
    assert value(after, 'powerbot_turn_seconds_count{channel="wechat"}') >= 1
    assert value(after, 'powerbot_handoffs{reason="asked",status="waiting"}') >= 1
    assert value(after, 'powerbot_outbound_total{channel="wechat",result="passive"}') >= 1


def test_the_action_server_serves_its_own_metrics(bot):
    wechat = WeChatClient(bot.url + "/webhooks/wechat/webhook")
    wechat.post(wechat.text(new_openid(), "怎么交电费"))
    text = scrape(bot.actions_url.rsplit("/webhook", 1)[0])
    assert "powerbot_action_seconds_count{" in text
