"""Acceptance: a person tries the bot in the WeChat simulator page, in real headless Chromium.

The page's backend signs real WeChat XML and posts it to the running bot's webhook; the page shows the
conversation. Nothing is loaded from outside the bot (no CDN).
"""

from __future__ import annotations

from typing import Iterator, List

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.integration.conftest import bot, records_db  # noqa: F401  (the running bot and its records)

pytestmark = [pytest.mark.browser, pytest.mark.rasa]

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(locale="zh-CN", viewport={"width": 420, "height": 800})
    page = context.new_page()
    yield page
    context.close()


def test_type_a_question_and_see_the_reply(bot, page):  # noqa: F811
    requested: List[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(bot.url + "/simulator/")

    # a new visitor follows the account and is welcomed
    bot_bubbles = page.locator("#messages .bubble.bot")
    expect(bot_bubbles.first).to_contain_text("欢迎关注", timeout=15_000)
    expect(page.locator("#menu")).to_contain_text("查电费")

    page.fill("#text", "查电费")
    page.click("#send")
    expect(page.locator("#messages .bubble.customer").last).to_contain_text("查电费", timeout=15_000)
    expect(bot_bubbles).to_have_count(2, timeout=15_000)
    assert bot_bubbles.nth(1).inner_text().strip()

    # a menu button, and a location
    page.click("#menu .top:nth-child(3) > button")
    page.click("#menu button[data-key='QUERY_TARIFF']")
    expect(page.locator("#messages .bubble.customer").last).to_contain_text("[菜单] 电价查询", timeout=15_000)
    expect(bot_bubbles).to_have_count(3, timeout=15_000)
    page.click("#tools-toggle")
    page.click("#tools button[data-tool='location']")
    page.click("#places button >> nth=0")
    expect(page.locator("#messages .bubble.customer").last).to_contain_text("[位置] 河北省保定市涞源县城关镇东关村",
                                                                            timeout=15_000)
    expect(bot_bubbles).to_have_count(4, timeout=15_000)

    assert requested and all(url.startswith(bot.url + "/simulator/") for url in requested), requested
