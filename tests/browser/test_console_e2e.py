"""Acceptance: a WeChat customer asks for a person, an agent takes the conversation over in the console
(real headless Chromium), they talk, and the agent hands the customer back to the bot.

Everything is real except WeChat itself: the customer's messages are signed XML posted to the bot's
webhook as WeChat's servers post them, and what the bot sends on its own lands in the fake WeChat API.
"""

from __future__ import annotations

import time
import uuid
from typing import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from bot.db import session_scope
from bot.domain import handoffs, staff
from tests.fakes.wechat import FakeWeChatApi, WeChatClient, eventually, new_openid
from tests.integration.conftest import bot, records_db  # noqa: F401  (the running bot and its records)

pytestmark = [pytest.mark.browser, pytest.mark.rasa]

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
PASSWORD = "e2e-console-password"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    yield page
    context.close()


def texts_to(fake: FakeWeChatApi, openid: str) -> list:
    return [m.text for m in fake.sent_to(openid)]


def test_agent_takes_over_a_wechat_conversation_and_hands_it_back(bot, records_db, fake_wechat_api, page):  # noqa: F811
    customer = WeChatClient(bot.url + "/webhooks/wechat/webhook")
    openid = new_openid("oConsoleE2E")
    sender_id = f"wechat:{openid}"
    agent = f"e2e_agent_{uuid.uuid4().hex[:6]}"
    with session_scope(records_db) as s:
        staff.add(s, agent, "agent", PASSWORD, display_name="小张")

    # the customer asks for a person; the dialogue puts the conversation in the queue
    assert customer.post(customer.text(openid, "转人工")).status == 200

    def queued() -> int | None:
        with session_scope(records_db) as s:
            handoff = handoffs.open_for(s, sender_id)
            return handoff.id if handoff is not None and handoff.status == "waiting" else None

    hid = eventually(queued, timeout=20)

    # the agent signs in and sees it in the queue, with why and from where
    page.goto(bot.url + "/console/")
    expect(page).to_have_url(bot.url + "/console/login")
    page.fill("#username", agent)
    page.fill("#password", PASSWORD)
    page.click("#login-submit")
    expect(page).to_have_url(bot.url + "/console/")
    item = page.locator(f"#handoff-{hid}")
    expect(item).to_contain_text("客户要求转人工")
    expect(item).to_contain_text("微信")

    # takes it over: the customer hears an agent joined, the transcript shows what was said so far
    page.click(f"#take-{hid}")
    expect(page.locator("#conv-status")).to_have_text("人工服务中")
    expect(page.locator("#transcript")).to_contain_text("转人工")
    fake_wechat_api.wait_for(lambda: any("人工客服已为您接入" in t for t in texts_to(fake_wechat_api, openid)))

    # the customer's next message appears without reloading the page; the bot stays silent
    page.evaluate("window.__notReloaded = true")
    sent_before = len(texts_to(fake_wechat_api, openid))
    reply = customer.post(customer.text(openid, "我家电表这个月走得特别快"))
    assert reply.status == 200 and not reply.text
    expect(page.locator("#transcript")).to_contain_text("我家电表这个月走得特别快", timeout=10_000)
    assert page.evaluate("window.__notReloaded") is True

    # the agent's reply reaches the customer through WeChat's customer-service API
    answer = "您好，我是客服小张，已为您登记电表校验，请问您的户号是多少？"
    page.fill("#reply-text", answer)
    page.click("#reply-send")
    fake_wechat_api.wait_for(lambda: answer in texts_to(fake_wechat_api, openid))
    expect(page.locator("#transcript .msg.agent")).to_contain_text(answer)
    assert len([t for t in texts_to(fake_wechat_api, openid)[sent_before:] if t != answer]) == 0  # bot silent

    # hand back: the customer is told, and the bot answers the next message again
    page.click("#conv-handback")
    expect(page.locator("#conv-status")).to_have_text("已结束")
    fake_wechat_api.wait_for(lambda: any("智能客服继续为您服务" in t for t in texts_to(fake_wechat_api, openid)))
    sent_before = len(texts_to(fake_wechat_api, openid))
    started = time.monotonic()
    reply = customer.post(customer.text(openid, "你好"))
    bot_answer = reply.text or fake_wechat_api.wait_for(
        lambda: texts_to(fake_wechat_api, openid)[sent_before:], timeout=max(1.0, 20 - (time.monotonic() - started)))
    assert bot_answer and "人工" not in str(bot_answer)  # the bot's own greeting, not a console notice
