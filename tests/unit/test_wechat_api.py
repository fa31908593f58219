"""The WeChat API client against the local fake WeChat API: tokens, bounded refresh, errors, records."""

from __future__ import annotations

import asyncio
import secrets

import pytest
from sqlalchemy import select

from bot.channels.wechat_menu import current_menu
from bot.config import load_settings
from bot.domain.models import OutboundMessage, OutboundStatusEvent
from bot.messaging.wechat_api import ERR_NOT_CONFIGURED, WeChatApiClient, WeChatApiError
from tests.fakes.wechat import FakeWeChatApi, new_openid

REDIS_URL = "redis://127.0.0.1:6379/0"


def client_for(fake: FakeWeChatApi, db, appid: str | None = None, redis: bool = False, **env: str) -> WeChatApiClient:
    appid = appid or next(iter(fake.apps))
    settings = load_settings({"WECHAT_API_BASE_URL": fake.url, "WECHAT_APPID": appid,
                              "WECHAT_SECRET": fake.apps.get(appid, "x"), "DATABASE_URL": db.url,
                              **({"REDIS_URL": REDIS_URL} if redis else {}), **env})
    return WeChatApiClient(settings, database_url=db.url)


@pytest.fixture
def fake():
    """A fake of our own per test, so counts (token requests) belong to this test alone."""
    api = FakeWeChatApi()
    yield api
    api.stop()


def records(db, openid: str):
    with db.session() as s:
        return [(m.channel, m.purpose, m.status, m.body, m.attempts, m.error, m.provider_id)
                for m in s.scalars(select(OutboundMessage).order_by(OutboundMessage.id)) if m.recipient == openid]


async def test_sends_a_text_and_records_it(fake, db):
    client = client_for(fake, db)
    openid = new_openid()
    result = await client.send_text(openid, "您的工单已受理。", purpose="reply")
    await client.close()
    assert result.ok and result.errcode == 0
    [sent] = fake.sent_to(openid)
    assert sent.body == {"touser": openid, "msgtype": "text", "text": {"content": "您的工单已受理。"}}
    assert records(db, openid) == [("wechat", "reply", "sent", "您的工单已受理。", 1, None, None)]
    with db.session() as s:
        events = s.scalars(select(OutboundStatusEvent.status).where(OutboundStatusEvent.message_id == result.message_id))
        assert list(events) == ["sent"]


async def test_token_is_cached_and_fetched_once_for_concurrent_calls(fake, db):
    client = client_for(fake, db)
    openid = new_openid()
    results = await asyncio.gather(*(client.send_text(openid, f"第{i}条") for i in range(8)))
    results.append(await client.send_text(openid, "再一条"))
    await client.close()
    assert all(r.ok for r in results)
    assert fake.token_requests == 1
    assert len(fake.sent_to(openid)) == 9


@pytest.mark.parametrize("errcode", [40001, 40014, 42001])
async def test_a_rejected_token_is_refreshed_once(fake, db, errcode):
    client = client_for(fake, db)
    openid = new_openid()
    assert (await client.send_text(openid, "预热")).ok
    fake.fail_next(errcode, touser=openid)
    result = await client.send_text(openid, "第二条")
    await client.close()
    assert result.ok
    assert fake.token_requests == 2
    assert [m.text for m in fake.sent_to(openid)] == ["预热", "第二条"]
    assert records(db, openid)[-1][2:5] == ("sent", "第二条", 2)


async def test_expired_tokens_are_replaced(fake, db):
    client = client_for(fake, db)
    openid = new_openid()
    assert (await client.send_text(openid, "一")).ok
    fake.expire_tokens()  # the fake now answers 42001 for every token it issued
    assert (await client.send_text(openid, "二")).ok
    await client.close()
    assert fake.token_requests == 2


async def test_token_refresh_is_bounded(fake, db):
    client = client_for(fake, db)
    openid = new_openid()
    fake.fail_next(40001, touser=openid, times=5)
    result = await client.send_text(openid, "发不出去")
    await client.close()
    assert not result.ok and result.errcode == 40001
    assert fake.token_requests == 2  # the first token, and one refresh — then it gives up
    assert fake.sent_to(openid) == []
    channel, purpose, status, body, attempts, error, _ = records(db, openid)[0]
    assert (status, attempts) == ("failed", 2) and error.startswith("wechat 40001")


@pytest.mark.parametrize("errcode", [45015, 45047, 43004])
async def test_unreachable_customers_are_recorded_undelivered(fake, db, errcode):
    client = client_for(fake, db)
    openid = new_openid()
    fake.fail_next(errcode, touser=openid)
    result = await client.send_text(openid, "超过48小时")
    await client.close()
    assert not result.ok and result.errcode == errcode
    assert records(db, openid)[0][2] == "undelivered"


async def test_wrong_secret_is_reported_not_raised(fake, db):
    client = client_for(fake, db, WECHAT_SECRET="wrong-secret")
    openid = new_openid()
    result = await client.send_text(openid, "你好")
    await client.close()
    assert not result.ok and result.errcode == 40125
    assert records(db, openid)[0][2] == "failed"


async def test_unreachable_api_is_reported_not_raised(fake, db):
    client = client_for(fake, db)
    fake.stop()  # nothing listens there any more
    openid = new_openid()
    result = await client.send_text(openid, "你好")
    await client.close()
    assert not result.ok and result.errcode == -1
    assert records(db, openid)[0][2] == "failed"


async def test_without_configuration_messages_are_recorded_as_undelivered(fake, db):
    settings = load_settings({"WECHAT_API_BASE_URL": fake.url, "DATABASE_URL": db.url})
    client = WeChatApiClient(settings, database_url=db.url)
    openid = new_openid()
    result = await client.send_text(openid, "异步回复")
    assert not result.ok and result.errcode == ERR_NOT_CONFIGURED
    assert records(db, openid)[0][2:4] == ("undelivered", "异步回复")
    assert fake.token_requests == 0


async def test_template_message(fake, db):
    client = client_for(fake, db)
    openid = new_openid()
    result = await client.send_template(openid, "TPL_OUTAGE", {"first": "停电通知", "keyword1": "城关镇"},
                                        url="https://example.org/notice")
    await client.close()
    assert result.ok
    [sent] = fake.sent_to(openid, path="/cgi-bin/message/template/send")
    assert sent.body["data"]["keyword1"] == {"value": "城关镇"} and sent.body["url"] == "https://example.org/notice"
    _, purpose, status, body, _, _, provider_id = records(db, openid)[0]
    assert (purpose, status) == ("notice", "sent") and "城关镇" in body and provider_id.startswith("wx-tpl:")


async def test_menu_push(fake, db):
    client = client_for(fake, db)
    result = await client.create_menu(current_menu().to_wechat())
    await client.close()
    assert result.ok
    assert [b["name"] for b in fake.menus[-1]["button"]] == ["查电费", "停电报修", "更多服务"]


async def test_redis_token_is_shared_by_processes(fake, db):
    """Two clients (two Rasa processes) on one Redis: one token request between them, also under load."""
    appid = "wx" + secrets.token_hex(8)
    fake.add_app(appid, "secret-" + appid)
    first, second = client_for(fake, db, appid=appid, redis=True), client_for(fake, db, appid=appid, redis=True)
    openid = new_openid()
    results = await asyncio.gather(*(c.send_text(openid, f"消息{i}") for i in range(6) for c in (first, second)))
    assert all(r.ok for r in results)
    assert fake.token_requests == 1
    # a token WeChat rejects is replaced once, and the other process picks the new one up from Redis
    fake.expire_tokens()
    assert (await first.send_text(openid, "过期后")).ok
    assert (await second.send_text(openid, "另一进程")).ok
    await first.close()
    await second.close()
    assert fake.token_requests == 2


JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 200


async def test_a_customers_photo_is_downloaded_with_media_get_and_an_unknown_one_is_an_error(fake, db):
    client = client_for(fake, db)
    fake.add_media("MEDIA_photo_1", JPEG)
    data, content_type = await client.get_media("MEDIA_photo_1")
    assert (data, content_type) == (JPEG, "image/jpeg")
    fake.expire_tokens()  # a rejected token is replaced once
    assert (await client.get_media("MEDIA_photo_1"))[0] == JPEG
    with pytest.raises(WeChatApiError) as refused:
        await client.get_media("MEDIA_expired")
    await client.close()
    assert refused.value.errcode == 40007
