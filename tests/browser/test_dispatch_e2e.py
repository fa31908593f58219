"""The dispatcher's flow in a real browser (headless Chromium), issue 12 acceptance 1 (the dispatcher
part): a WeChat customer's outage report is in the queue; a dispatcher signs in, sees it at the top with
its SLA clock, assigns a crew and moves it dispatched → on site → resolved; each step is a history event
(the rows the notices worker turns into the customer's notices)."""

from __future__ import annotations

import uuid
from typing import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from sqlalchemy import select

from bot.db import session_scope
from bot.domain import crews, key_customers, staff, tickets
from bot.domain.models import Account, TicketEvent
from bot.domain.places import Place
from tests.browser.test_console_e2e import CHROMIUM_ARGS
from tests.factories import make_contact
from tests.fakes.wechat import new_openid
from tests.integration.conftest import bot, records_db  # noqa: F401  (the running bot and its records)

pytestmark = [pytest.mark.browser, pytest.mark.rasa]

PASSWORD = "e2e-dispatch-password"


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


def test_a_dispatcher_works_a_repair_ticket_from_the_top_of_the_queue(bot, records_db, page):  # noqa: F811
    dispatcher = f"e2e_dsp_{uuid.uuid4().hex[:6]}"
    crew_name = f"银坊抢修班{uuid.uuid4().hex[:4]}"
    with session_scope(records_db) as s:
        staff.add(s, dispatcher, "dispatcher", PASSWORD, display_name="调度小李")
        crews.add(s, crew_name, "staff:admin", township="银坊镇")
        account = s.scalar(select(Account).where(Account.account_no == "5100000103"))
        key_customers.set_flag(s, account, True, "医疗设备用电", "staff:sup")
        contact = make_contact(s, external=new_openid("oDispatchE2E"))
        ticket_no = tickets.create(s, "repair", "wechat", "我家停电了", contact=contact, account=account,
                                   place=Place("银坊镇", "北庄村", "rural")).ticket_no

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
    for status, shown in (("dispatched", "已派单"), ("on_site", "抢修人员已到达"), ("resolved", "已处理完毕")):
        page.select_option("#ticket-status-select", status)
        page.fill("#ticket-note", f"e2e {status}")
        page.click("#ticket-status-apply")
        expect(page.locator("#ticket-status")).to_have_text(shown)
    expect(page.locator("#ticket-history li")).to_have_count(4)

    with session_scope(records_db) as s:
        ticket = tickets.by_no(s, ticket_no)
        events = [(e.status, e.actor) for e in s.scalars(
            select(TicketEvent).where(TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.id))]
        assert ticket.crew.name == crew_name
    actor = f"staff:{dispatcher}"
    assert events == [("open", "system"), ("dispatched", actor), ("on_site", actor), ("resolved", actor)]
    # the resolved ticket leaves the queue
    expect(page.locator(f'#dispatch-rows tr[data-ticket="{ticket_no}"]')).to_have_count(0, timeout=20000)
