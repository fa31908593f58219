"""Acceptance 1 of issue 12 in a real browser (headless Chromium): a customer reports an outage in the WeChat
simulator; a dispatcher signs in, sees it at the top of the queue with its SLA clock, assigns a crew and moves
it dispatched → on site → resolved; the simulator shows each notice as it arrives — pushed by the real
background worker (``bot worker``, Huey) through the fake WeChat API — and the rating request only after
resolved."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from typing import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from sqlalchemy import select

from bot.db import session_scope
from bot.domain import contacts, crews, key_customers, staff, tickets
from bot.domain.models import Account, Binding, TicketEvent
from tests.browser.test_console_e2e import CHROMIUM_ARGS
from tests.eventually import eventually
from tests.integration.conftest import bot, records_db  # noqa: F401  (the running bot and its records)

pytestmark = [pytest.mark.browser, pytest.mark.rasa]

PASSWORD = "e2e-dispatch-password"
#: What only the resolved notice says: the rating request (bot/messages.py NOTICE_TEXTS["ticket_resolved"]).
RATING_REQUEST = "回复1到5的数字"
#: A pushed notice in the simulator (the worker's message, labelled 服务通知).
NOTICES = "#messages .bubble.notice"
#: Steps of a worker's notice: enqueue, the consumer's poll (1 s), planning, the fake API, the page's poll (1 s).
NOTICE_TIMEOUT_MS = 30_000


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


@dataclass
class Phone:
    """The customer's phone: the simulator page, and the WeChat user it speaks for."""

    page: Page
    openid: str


@pytest.fixture
def phone(browser: Browser, bot) -> Iterator[Phone]:  # noqa: F811
    """The simulator, as a WeChat user of its own (a ``sim-`` openid the page keeps in its storage)."""
    openid = "sim-" + secrets.token_hex(10)
    context = browser.new_context(locale="zh-CN", viewport={"width": 420, "height": 800})
    context.add_init_script(f"window.localStorage.setItem('powerbot-simulator-openid', '{openid}')")
    page = context.new_page()
    page.goto(bot.url + "/simulator/")
    yield Phone(page, openid)
    context.close()


def say(page: Page, text: str) -> str:
    """Type ``text`` in the simulator; the bot's answer (its bubbles after it)."""
    answers = page.locator("#messages .bubble.bot")
    before = answers.count()
    page.fill("#text", text)
    page.click("#send")
    expect(page.locator("#messages .bubble.customer").last).to_contain_text(text, timeout=15_000)
    expect(answers).not_to_have_count(before, timeout=30_000)
    return "\n".join(answers.all_inner_texts()[before:])


def test_a_reported_outage_is_worked_from_the_queue_and_the_customer_sees_each_notice(
        bot, records_db, notice_worker, phone, page):  # noqa: F811
    simulator = phone.page
    dispatcher = f"e2e_dsp_{uuid.uuid4().hex[:6]}"
    crew_name = f"银坊抢修班{uuid.uuid4().hex[:4]}"
    with session_scope(records_db) as s:
        staff.add(s, dispatcher, "dispatcher", PASSWORD, display_name="调度小李")
        crews.add(s, crew_name, "staff:admin", township="银坊镇")
        account = s.scalar(select(Account).where(Account.account_no == "5100000103"))
        key_customers.set_flag(s, account, True, "医疗设备用电", "staff:sup")
        # the simulator's customer bound their account (银坊镇北庄村) earlier
        contact = contacts.get_or_create(s, "wechat", phone.openid)
        s.add(Binding(contact_id=contact.id, account_id=account.id, method="sms_code"))

    # the customer reports the outage in the simulator (the place is their bound account's), says what
    # happened and confirms the registered phone for the call back
    assert "情况" in say(simulator, "我家停电了")
    assert "尾号3333的手机能联系到您吗" in say(simulator, "就我家没电，空开没跳")
    answer = say(simulator, "能")

    def reported() -> str | None:
        with session_scope(records_db) as s:
            customer = contacts.by_sender(s, f"wechat:{phone.openid}")
            found = tickets.for_contact(s, customer, limit=1, types=["repair"]) if customer else []
            return found[0].ticket_no if found else None

    ticket_no = eventually(reported, timeout=20, what=f"a repair ticket; the bot said: {answer}")
    expect(simulator.locator("#messages")).to_contain_text(ticket_no)

    # the dispatcher signs in and finds it at the top of the queue, its SLA clock running
    page.goto(bot.url + "/console/login")
    page.fill("#username", dispatcher)
    page.fill("#password", PASSWORD)
    page.click("#login-submit")
    expect(page).to_have_url(bot.url + "/console/")
    first = page.locator("#dispatch-rows tr").first
    expect(first).to_have_attribute("data-ticket", ticket_no)
    expect(first).to_contain_text("重点关爱")
    expect(first.locator("td.sla")).to_contain_text("剩余")
    expect(first).to_have_class("sla-ok")

    first.click()
    expect(page.locator("#ticket-page")).to_have_attribute("data-ticket", ticket_no)
    page.select_option("#ticket-crew", label=crew_name)
    page.click("#ticket-assign")
    expect(page.locator("#ticket-crew-name")).to_have_text(crew_name)

    # each step reaches the customer's phone as it happens; the rating request only with "resolved"
    steps = (("dispatched", "已派单", ["已派单", crew_name]), ("on_site", "抢修人员已到达", ["抢修人员已到达现场"]),
             ("resolved", "已处理完毕", ["已处理完毕", "还没来电", RATING_REQUEST]))
    for count, (status, shown, notice) in enumerate(steps, start=1):
        if status == "resolved":  # every message so far, the notices of dispatch and arrival included
            expect(simulator.locator("#messages")).not_to_contain_text(RATING_REQUEST)
        page.select_option("#ticket-status-select", status)
        page.fill("#ticket-note", f"e2e {status}")
        page.click("#ticket-status-apply")
        expect(page.locator("#ticket-status")).to_have_text(shown)
        expect(simulator.locator(NOTICES)).to_have_count(count, timeout=NOTICE_TIMEOUT_MS)
        for words in notice:
            expect(simulator.locator(NOTICES).last).to_contain_text(words)
        expect(simulator.locator(NOTICES).last).to_contain_text(ticket_no)
    expect(page.locator("#ticket-history li")).to_have_count(4)

    with session_scope(records_db) as s:
        ticket = tickets.by_no(s, ticket_no)
        events = [(e.status, e.actor) for e in s.scalars(
            select(TicketEvent).where(TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.id))]
        assert ticket.crew.name == crew_name
    actor = f"staff:{dispatcher}"
    assert events[1:] == [("dispatched", actor), ("on_site", actor), ("resolved", actor)]
    assert events[0][0] == "open"
    # the resolved ticket leaves the queue; the notices were the worker's only messages to the customer
    expect(page.locator(f'#dispatch-rows tr[data-ticket="{ticket_no}"]')).to_have_count(0, timeout=20000)
    assert "Traceback" not in notice_worker.log_text()
