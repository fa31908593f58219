"""The console with two Rasa servers behind one load balancer, as in production: PostgreSQL (records
and the SQL tracker store) and Redis (lock store, sign-in throttling). Sessions, ownership, the bot's
pause and the sign-in throttle must hold whichever server a request reaches."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Iterator, Tuple

import pytest
import redis

from bot.db import dispose_engines, session_scope
from bot.domain import contacts, handoffs, transcript
from tests.conftest import PG_BASE, _pg_admin
from tests.eventually import eventually
from tests.fakes.wechat import WeChatClient, new_openid
from tests.harness import BotProcesses, start_bot
from tests.integration.test_console_http import ConsoleClient, audit_of, handoff_row, make_staff, race

pytestmark = pytest.mark.rasa

REDIS_URL = "redis://127.0.0.1:6379/0"
THROTTLE_KEY = "powerbot:console:login:127.0.0.1"  # bot.console.throttle's key for this address
LOGIN_LIMIT = 3


def _forget_throttle() -> None:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.delete(THROTTLE_KEY)
    finally:
        client.close()


@pytest.fixture(scope="module")
def pg_url(pg_template) -> Iterator[str]:
    name = f"powerbot_console_{uuid.uuid4().hex[:8]}"
    _pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"')
    yield f"{PG_BASE}/{name}"
    dispose_engines()
    _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def servers(pg_url, fake_wechat_api, fake_twilio_api, tmp_path_factory) -> Iterator[Tuple[BotProcesses, BotProcesses]]:
    """Two Rasa servers (one action server) on PostgreSQL and Redis, cookies marked Secure as in production."""
    _forget_throttle()
    env = {**fake_wechat_api.bot_env(), **fake_twilio_api.bot_env(), "REDIS_URL": REDIS_URL,
           "CONSOLE_COOKIE_SECURE": "true", "CONSOLE_LOGIN_IP_LIMIT": str(LOGIN_LIMIT)}
    workdir = Path(tmp_path_factory.mktemp("scaleout"))
    first = start_bot(workdir / "a", pg_url, env)
    try:
        second = start_bot(workdir / "b", pg_url, env, action_endpoint_url=first.actions_url)
    except BaseException:
        first.stop()
        raise
    yield first, second
    second.stop()
    first.stop()
    _forget_throttle()


def on(server: BotProcesses, client: ConsoleClient) -> ConsoleClient:
    """The same browser session, routed to another server by the load balancer."""
    other = ConsoleClient(server.url)
    other.cookies, other.csrf = dict(client.cookies), client.csrf
    return other


def signed_in(server: BotProcesses, db_url: str, role: str) -> Tuple[ConsoleClient, str]:
    username = make_staff(db_url, role, prefix="s")
    client = ConsoleClient(server.url)
    assert client.login(username) == 303
    return client, username


def wechat_waiting(db_url: str) -> Tuple[int, str, str]:
    """A WeChat customer in the queue: (handoff id, sender id, openid)."""
    openid = new_openid("oScaleOut")
    with session_scope(db_url) as s:
        contact = contacts.get_or_create(s, "wechat", openid)
        handoff = handoffs.request(s, contact.sender_id, "wechat", "misunderstood", contact=contact)
        return handoff.id, contact.sender_id, openid


def test_a_session_from_one_server_is_good_on_the_other_with_a_secure_cookie(servers, pg_url):
    first, second = servers
    client, username = signed_in(first, pg_url, "agent")
    assert on(second, client).get("/me")[1]["username"] == username
    # the cookie is Secure in production (CONSOLE_COOKIE_SECURE defaults to true)
    fresh = ConsoleClient(first.url)
    status, page = fresh.request("GET", "/console/login")
    assert status == 200 and all("Secure" in c for c in fresh.header("Set-Cookie"))


def test_agents_racing_through_two_servers_exactly_one_wins(servers, pg_url):
    first, second = servers
    (one, one_name), (two, two_name) = signed_in(first, pg_url, "agent"), signed_in(second, pg_url, "agent")
    for _ in range(6):
        hid, sender, _openid = wechat_waiting(pg_url)
        results = race([one, two], f"/conversations/{hid}/take")  # one through each server
        assert sorted(status for status, _ in results) == [200, 409], results
        winner = handoff_row(pg_url, hid).owner
        assert winner in (one_name, two_name)
        assert [who for who, action in audit_of(pg_url, sender) if action == "conversation.take"] == [f"staff:{winner}"]


def test_the_bot_is_paused_for_every_server_once_an_agent_takes_over(servers, pg_url, fake_wechat_api):
    first, second = servers
    agent, username = signed_in(first, pg_url, "agent")
    hid, sender, openid = wechat_waiting(pg_url)
    assert agent.post(f"/conversations/{hid}/take")[0] == 200
    fake_wechat_api.wait_for(lambda: fake_wechat_api.sent_to(openid))  # the takeover notice
    customer = WeChatClient(second.url + "/webhooks/wechat/webhook")
    reply = customer.post(customer.text(openid, "你好，有人吗"))
    assert reply.status == 200 and not reply.text  # the other server's bot stays silent too
    status, view = on(second, agent).get(f"/conversations/{hid}/transcript?after=0")
    assert [e["author"] for e in view["entries"]] == ["system", "customer"]
    assert on(second, agent).post(f"/conversations/{hid}/handback")[0] == 200
    assert customer.post(customer.text(openid, "你好")).status == 200

    def last_author() -> str:
        with session_scope(pg_url) as s:
            return transcript.since(s, sender)[-1].author

    eventually(lambda: last_author() == "bot")  # the bot answers again (passively or asynchronously)


def test_sign_in_throttling_counts_failures_on_every_server(servers, pg_url):
    first, second = servers
    username = make_staff(pg_url, "agent", prefix="t")
    assert ConsoleClient(first.url).login(username, "wrong password 1") == 401
    assert ConsoleClient(second.url).login(username, "wrong password 2") == 401
    assert ConsoleClient(first.url).login(username, "wrong password 3") == 401
    for server in (first, second):  # the address is now throttled everywhere, even with the right password
        client = ConsoleClient(server.url)
        assert client.login(username) == 429
        assert int(client.header("Retry-After")[0]) > 0 and "powerbot_console" not in client.cookies
