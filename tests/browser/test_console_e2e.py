"""The agent console in a real browser (headless Chromium). Acceptance: a WeChat customer asks for a
person, an agent takes the conversation over, they talk, and the agent hands the customer back to the
bot. Also the supervisor's audited reveal and service-quality page, and the administrator's staff page.

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
from tests.integration.test_console_http import waiting

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


def sign_in(page: Page, base_url: str, username: str, password: str = PASSWORD) -> None:
    page.goto(base_url + "/console/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("#login-submit")
    expect(page).to_have_url(base_url + "/console/")


def test_supervisor_reveals_a_phone_with_a_reason_and_finds_it_in_the_audit_log(bot, records_db, page):  # noqa: F811
    supervisor = f"e2e_sup_{uuid.uuid4().hex[:6]}"
    with session_scope(records_db) as s:
        staff.add(s, supervisor, "supervisor", PASSWORD, display_name="王班长")
    hid, _sender = waiting(records_db, bound_to="5100000102")
    sign_in(page, bot.url, supervisor)

    page.click(f"#take-{hid}")
    expect(page.locator("#reply-form")).to_be_visible()
    canned = page.locator("#canned option").nth(1)
    page.select_option("#canned", index=1)
    expect(page.locator("#reply-text")).not_to_have_value("")
    page.click("#reply-send")
    expect(page.locator("#transcript .msg.agent")).to_have_count(1)
    assert canned.inner_text()  # the canned replies came from the repository's file

    card = page.locator('.account[data-account="5100000102"]')
    expect(card.locator('.pii[data-field="phone"]')).to_have_text("139****2222")
    expect(card.locator('.pii[data-field="name"]')).to_have_text("李**")
    card.locator('.reveal[data-field="phone"]').click()
    page.fill("#reveal-reason", "客户要求回电核实")
    page.click("#reveal-confirm")
    expect(card.locator('.pii.revealed[data-field="phone"]')).to_be_visible()
    shown = card.locator('.pii[data-field="phone"]').inner_text() == "13900002222"  # not printed on failure
    assert shown
    expect(card.locator('.pii[data-field="name"]')).to_have_text("李**")  # one field, not the whole record

    page.click('#tabs [data-tab="audit"]')
    reveal_row = page.locator('#audit-rows tr[data-action="pii.reveal"]').first
    expect(reveal_row).to_contain_text("查看个人信息")  # the action in Chinese, the details as lines, not JSON
    expect(reveal_row).to_contain_text("原因：客户要求回电核实")
    expect(reveal_row).to_contain_text("字段：电话")
    expect(reveal_row).not_to_contain_text("{")

    # the service-quality page lists the supervisor's own conversation among the week's handled ones
    page.click('#tabs [data-tab="metrics"]')
    expect(page.locator("#metrics-agents")).to_contain_text(f"王班长（{supervisor}）")
    expect(page.locator("#metrics-cards .card")).to_have_count(7)


def test_an_administrator_adds_a_colleague_who_then_signs_in(bot, records_db, browser):  # noqa: F811
    admin = f"e2e_adm_{uuid.uuid4().hex[:6]}"
    newcomer = f"e2e_new_{uuid.uuid4().hex[:6]}"
    with session_scope(records_db) as s:
        staff.add(s, admin, "admin", PASSWORD, display_name="管理员")
    context = browser.new_context(locale="zh-CN")
    try:
        page = context.new_page()
        sign_in(page, bot.url, admin)
        expect(page.locator('#tabs [data-tab="staff"]')).to_be_visible()
        page.click('#tabs [data-tab="staff"]')
        page.fill("#staff-username", newcomer)
        page.fill("#staff-display", "新来的坐席")
        page.select_option("#staff-role", "agent")
        page.click("#staff-form button[type=submit]")
        expect(page.locator("#staff-password")).to_contain_text(newcomer)
        expect(page.locator(f'#staff-rows tr[data-username="{newcomer}"]')).to_contain_text("坐席")
        password = page.locator("#staff-password").inner_text().split("：", 1)[1].split("（", 1)[0]
    finally:
        context.close()
    context = browser.new_context(locale="zh-CN")
    try:
        page = context.new_page()
        sign_in(page, bot.url, newcomer, password)
        expect(page.locator("#me-role")).to_have_text("坐席")
        expect(page.locator('#tabs [data-tab="staff"]')).to_be_hidden()
        expect(page.locator('#tabs [data-tab="audit"]')).to_be_hidden()
    finally:
        context.close()
