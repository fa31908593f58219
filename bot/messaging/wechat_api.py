"""The WeChat Official Account API client: customer-service messages, template messages, the custom menu.

Why not wechatpy's client: it fetches access tokens from api.weixin.qq.com whatever ``API_BASE_URL``
says, and retries 40001/42001 without bound. Here every call — the token included — goes to
``WECHAT_API_BASE_URL``, and a rejected token is refreshed at most ``max_token_refreshes`` times per call.

The access token is cached until shortly before it expires: in Redis when ``REDIS_URL`` is set (shared by
every process, refreshed under a Redis lock so one process asks WeChat while the others wait for its
answer — WeChat invalidates older tokens when a new one is issued), else in this process. A token WeChat
rejects (40001 invalid, 40014 malformed, 42001 expired) is dropped only if it is still the cached one, so
a process never throws away the fresh token another process just fetched.

Every message sent is recorded in ``outbound_messages`` before it is attempted, and its outcome after:
``sent``, ``undelivered`` (45015 window closed, 45047 quota used, 43004 unsubscribed — the caller may
fall back to SMS, see :mod:`bot.messaging.deliver`) or ``failed``. Calls never raise for WeChat's or the
network's errors: they return a :class:`WeChatResult` with ``ok`` and ``errcode``. :meth:`WeChatApiClient.post`
sends a message built by :func:`text_message` or :func:`template_message` without recording it, for a caller
that records many at once (the notice sender, :mod:`bot.messaging.notify`); :func:`recorded_outcome` says what
to record.

One ``aiohttp`` session per event loop keeps its connections to the API open between calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Dict, Mapping, Optional, Tuple

import aiohttp

from bot import metrics
from bot.config import Settings, get_settings
from bot.db import session_scope
from bot.domain.models import OutboundMessage
from bot.messaging import outbox

logger = logging.getLogger(__name__)

#: WeChat's answers meaning "this access token is no good": invalid, malformed, expired.
TOKEN_ERRORS = frozenset({40001, 40014, 42001})
#: The customer cannot be reached on WeChat now: 48-hour window closed, quota used up, unsubscribed.
UNREACHABLE = frozenset({45015, 45047, 43004})
#: Our codes, next to WeChat's: the network failed or the answer was unreadable (WeChat's own -1 means
#: "busy, try later", which is the same advice); the API is not configured (no WECHAT_APPID/SECRET).
ERR_TRANSPORT = -1
ERR_NOT_CONFIGURED = -1001

#: Refresh a token this long before WeChat's expiry (tokens live 7200 s).
TOKEN_MARGIN_S = 300


@dataclass(frozen=True)
class WeChatResult:
    ok: bool
    errcode: int
    errmsg: str = ""
    message_id: Optional[int] = None  # outbound_messages.id, when a message was recorded
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Message:
    """A message to send: the API path, its JSON body, and the summary the outbox records."""

    path: str
    payload: Mapping[str, Any]
    openid: str
    summary: str


TEXT_PATH = "/cgi-bin/message/custom/send"
TEMPLATE_PATH = "/cgi-bin/message/template/send"


def text_message(openid: str, text: str) -> Message:
    """A customer-service text message (within 48 h of the customer's last message; ≤ 2048 bytes)."""
    return Message(TEXT_PATH, {"touser": openid, "msgtype": "text", "text": {"content": text}}, openid, text)


def template_message(openid: str, template_id: str, data: Mapping[str, Any], url: Optional[str] = None) -> Message:
    """A template message; ``data`` values are text or WeChat's ``{"value": ..., "color": ...}``."""
    fields = {k: (v if isinstance(v, Mapping) else {"value": str(v)}) for k, v in data.items()}
    payload: Dict[str, Any] = {"touser": openid, "template_id": template_id, "data": fields}
    if url:
        payload["url"] = url
    summary = f"[{template_id}] " + "；".join(f"{k}: {v.get('value', '')}" for k, v in fields.items())
    return Message(TEMPLATE_PATH, payload, openid, summary)


def recorded_outcome(message: Message, result: WeChatResult) -> Tuple[str, Optional[str], Optional[str]]:
    """What the outbox records for WeChat's answer: ``(status, error, provider id)`` — ``sent`` (a template
    message's ``msgid`` as ``wx-tpl:<msgid>``), ``undelivered`` for :data:`UNREACHABLE`, else ``failed``."""
    if result.ok:
        msgid = result.data.get("msgid")
        return "sent", None, f"wx-tpl:{msgid}" if msgid and message.path == TEMPLATE_PATH else None
    status = "undelivered" if result.errcode in UNREACHABLE else "failed"
    return status, f"wechat {result.errcode}: {result.errmsg}"[:2000], None


class WeChatApiError(Exception):
    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(f"{errcode}: {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg


# --- token caches -------------------------------------------------------------------------------------


class LocalTokenCache:
    """One process: a token and its expiry in memory."""

    def __init__(self) -> None:
        self._token: Optional[str] = None
        self._expires = 0.0

    async def get(self) -> Optional[str]:
        return self._token if self._token and time.monotonic() < self._expires else None

    async def put(self, token: str, ttl_s: int) -> None:
        self._token, self._expires = token, time.monotonic() + ttl_s

    async def invalidate(self, token: str) -> None:
        if self._token == token:
            self._token = None

    @contextlib.asynccontextmanager
    async def refresh_lock(self) -> AsyncIterator[None]:
        yield  # the client's asyncio.Lock already serialises refreshes within the process


_COMPARE_AND_DELETE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end
"""


class RedisTokenCache:
    """Every process: the token in Redis with a TTL; refreshes under a Redis lock.

    If Redis fails, the cache answers "no token" and the lock is skipped: each process then fetches its
    own token — worse (tokens invalidate each other, costing a bounded retry) but still working.

    A process keeps the token it read for ``MEMO_S`` (one Redis round trip per ``MEMO_S``, not one per
    message — a notice fan-out sends 100 a second); a token WeChat rejects is dropped from both, and one
    another process refreshed meanwhile stays valid at WeChat for minutes after the new one is issued.
    """

    MEMO_S = 10.0

    def __init__(self, redis_url: str, namespace: str) -> None:
        self.redis_url = redis_url
        self.key = f"powerbot:wechat:token:{namespace}"
        self.lock_key = f"powerbot:wechat:token-lock:{namespace}"
        self._client: Any = None
        self._loop: Any = None
        self._memo: Optional[Tuple[str, float]] = None  # (token, read until: monotonic)

    def _redis(self) -> Any:
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            import redis.asyncio as aioredis

            self._client = aioredis.Redis.from_url(self.redis_url, socket_timeout=2, socket_connect_timeout=2)
            self._loop = loop
        return self._client

    async def get(self) -> Optional[str]:
        if self._memo is not None and time.monotonic() < self._memo[1]:
            return self._memo[0]
        try:
            value = await self._redis().get(self.key)
        except Exception as exc:
            logger.warning("Redis unavailable for the WeChat token cache (%s)", type(exc).__name__)
            return None
        token = value.decode() if value else None
        self._memo = (token, time.monotonic() + self.MEMO_S) if token else None
        return token

    async def put(self, token: str, ttl_s: int) -> None:
        self._memo = (token, time.monotonic() + min(self.MEMO_S, ttl_s))
        try:
            await self._redis().set(self.key, token, ex=ttl_s)
        except Exception as exc:
            logger.warning("could not cache the WeChat token in Redis (%s)", type(exc).__name__)

    async def invalidate(self, token: str) -> None:
        if self._memo is not None and self._memo[0] == token:
            self._memo = None
        try:
            await self._redis().eval(_COMPARE_AND_DELETE, 1, self.key, token)
        except Exception as exc:
            logger.warning("could not drop the WeChat token from Redis (%s)", type(exc).__name__)

    @contextlib.asynccontextmanager
    async def refresh_lock(self) -> AsyncIterator[None]:
        lock = None
        try:
            candidate = self._redis().lock(self.lock_key, timeout=15, blocking_timeout=10, sleep=0.05)
            if await candidate.acquire():
                lock = candidate
            else:
                logger.warning("WeChat token refresh lock not acquired in 10 s; refreshing without it")
        except Exception as exc:
            logger.warning("Redis lock for the WeChat token unavailable (%s)", type(exc).__name__)
        try:
            yield
        finally:
            if lock is not None:
                with contextlib.suppress(Exception):
                    await lock.release()


# --- the client ---------------------------------------------------------------------------------------


class WeChatApiClient:
    """Async client of the Official Account API at ``WECHAT_API_BASE_URL``.

    ``database_url`` selects where sent messages are recorded (default ``DATABASE_URL``).
    """

    def __init__(self, settings: Optional[Settings] = None, database_url: Optional[str] = None,
                 max_token_refreshes: int = 1, timeout_s: float = 10.0) -> None:
        self.settings = settings or get_settings()
        self.base_url = self.settings.wechat_api_base_url.rstrip("/")
        self.database_url = database_url
        self.max_token_refreshes = max_token_refreshes
        self.timeout_s = timeout_s
        namespace = hashlib.sha256(f"{self.base_url}|{self.settings.wechat_appid}".encode()).hexdigest()[:16]
        self.tokens: Any = (RedisTokenCache(self.settings.redis_url, namespace) if self.settings.redis_url
                            else LocalTokenCache())
        self._session: Optional[aiohttp.ClientSession] = None
        self._loop: Any = None
        self._refreshing: Optional[asyncio.Lock] = None

    @property
    def configured(self) -> bool:
        return self.settings.wechat_api_configured

    def _http(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        if self._session is None or self._session.closed or self._loop is not loop:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout_s))
            self._loop = loop
            self._refreshing = asyncio.Lock()
        return self._session

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def _request(self, method: str, path: str, params: Dict[str, str],
                       body: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
        """One HTTP call; WeChat's JSON answer, or :class:`WeChatApiError` for transport failures."""
        data = json.dumps(body, ensure_ascii=False).encode() if body is not None else None
        headers = {"Content-Type": "application/json; charset=utf-8"} if data is not None else {}
        try:
            async with self._http().request(method, self.base_url + path, params=params, data=data,
                                            headers=headers) as resp:
                text = await resp.text()
                if resp.status != 200:
                    raise WeChatApiError(ERR_TRANSPORT, f"HTTP {resp.status} from {path}")
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            # never log the URL: its query holds the secret or the access token
            raise WeChatApiError(ERR_TRANSPORT, f"{type(exc).__name__} calling {path}") from exc
        try:
            answer = json.loads(text)
        except ValueError as exc:
            raise WeChatApiError(ERR_TRANSPORT, f"unreadable answer from {path}") from exc
        if not isinstance(answer, dict):
            raise WeChatApiError(ERR_TRANSPORT, f"unexpected answer from {path}")
        return answer

    async def _fetch_token(self) -> Tuple[str, int]:
        try:
            answer = await self._request("GET", "/cgi-bin/token", {
                "grant_type": "client_credential",
                "appid": self.settings.wechat_appid or "",
                "secret": self.settings.wechat_secret or "",
            })
            token = answer.get("access_token")
            if not isinstance(token, str) or not token:
                raise WeChatApiError(int(answer.get("errcode") or ERR_TRANSPORT), str(answer.get("errmsg") or ""))
        except Exception:
            metrics.WECHAT_TOKEN_REFRESHES.labels("error").inc()
            raise
        metrics.WECHAT_TOKEN_REFRESHES.labels("ok").inc()
        return token, int(answer.get("expires_in") or 7200)

    async def access_token(self) -> str:
        """A valid access token: cached, else fetched once for every waiting caller (and process)."""
        token = await self.tokens.get()
        if token:
            return token
        self._http()
        assert self._refreshing is not None
        async with self._refreshing:
            token = await self.tokens.get()
            if token:
                return token
            async with self.tokens.refresh_lock():
                token = await self.tokens.get()
                if token:
                    return token
                token, expires_in = await self._fetch_token()
                await self.tokens.put(token, max(60, expires_in - TOKEN_MARGIN_S))
                logger.info("WeChat access token refreshed (valid %d s)", expires_in)
                return token

    async def call(self, path: str, body: Mapping[str, Any]) -> Tuple[Dict[str, Any], int]:
        """POST ``body`` to an API path with the access token; (answer, attempts).

        A token WeChat rejects is dropped and replaced at most ``max_token_refreshes`` times.
        """
        attempts = 0
        while True:
            token = await self.access_token()
            attempts += 1
            answer = await self._request("POST", path, {"access_token": token}, body)
            code = int(answer.get("errcode") or 0)
            if code in TOKEN_ERRORS and attempts <= self.max_token_refreshes:
                logger.info("WeChat rejected the access token (%d); refreshing", code)
                await self.tokens.invalidate(token)
                continue
            return answer, attempts

    async def get_media(self, media_id: str, max_bytes: int = 10 * 1024 * 1024) -> Tuple[bytes, str]:
        """Download a temporary medium (``GET /cgi-bin/media/get``; WeChat keeps them three days):
        (bytes, content type). WeChat answers a binary body, or JSON with an ``errcode`` (40007 invalid
        media_id, token errors — the token is refreshed at most ``max_token_refreshes`` times) raised as
        :class:`WeChatApiError`."""
        attempts = 0
        while True:
            token = await self.access_token()
            attempts += 1
            try:
                async with self._http().get(self.base_url + "/cgi-bin/media/get",
                                            params={"access_token": token, "media_id": media_id}) as resp:
                    content_type = (resp.headers.get("Content-Type") or "").split(";")[0].strip().lower()
                    data = await resp.content.read(max_bytes + 1)
                    if resp.status != 200:
                        raise WeChatApiError(ERR_TRANSPORT, f"HTTP {resp.status} from /cgi-bin/media/get")
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                raise WeChatApiError(ERR_TRANSPORT, f"{type(exc).__name__} calling /cgi-bin/media/get") from exc
            if content_type in ("application/json", "text/plain"):
                try:
                    answer = json.loads(data.decode("utf-8"))
                except ValueError as exc:
                    raise WeChatApiError(ERR_TRANSPORT, "unreadable answer from /cgi-bin/media/get") from exc
                code = int(answer.get("errcode") or ERR_TRANSPORT) if isinstance(answer, dict) else ERR_TRANSPORT
                if code in TOKEN_ERRORS and attempts <= self.max_token_refreshes:
                    await self.tokens.invalidate(token)
                    continue
                raise WeChatApiError(code, str(answer.get("errmsg") or "") if isinstance(answer, dict) else "")
            if len(data) > max_bytes:
                raise WeChatApiError(ERR_TRANSPORT, "medium larger than allowed")
            return data, content_type

    # --- recording ------------------------------------------------------------------------------------

    def _record(self, openid: str, body: str, purpose: str, contact_id: Optional[int], status: str,
                error: Optional[str] = None, notice_id: Optional[int] = None) -> int:
        with session_scope(self.database_url) as s:
            return outbox.record(s, "wechat", purpose, openid, body, status=status, contact_id=contact_id,
                                 error=error, notice_id=notice_id).id

    def _finish(self, message_id: int, status: str, attempts: int, error: Optional[str] = None,
                provider_id: Optional[str] = None) -> None:
        with session_scope(self.database_url) as s:
            message = s.get(OutboundMessage, message_id)
            if message is None:
                return
            message.attempts = attempts
            if provider_id:
                message.provider_id = provider_id
            outbox.set_status(s, message, status, error)

    async def post(self, message: Message) -> Tuple[WeChatResult, int]:
        """Send ``message`` without recording it: (result, attempts). The caller records it in the outbox
        before (``queued``) and after (:func:`recorded_outcome`)."""
        attempts = 1
        try:
            answer, attempts = await self.call(message.path, message.payload)
        except WeChatApiError as exc:
            answer = {"errcode": exc.errcode, "errmsg": exc.errmsg}
        code, errmsg = int(answer.get("errcode") or 0), str(answer.get("errmsg") or "")
        if code != 0:
            logger.warning("WeChat %s refused (%d %s)", message.path, code, errmsg[:80])
        return WeChatResult(code == 0, code, errmsg or ("ok" if code == 0 else ""), None, answer), attempts

    async def _send(self, message: Message, purpose: str, contact_id: Optional[int],
                    notice_id: Optional[int] = None) -> WeChatResult:
        if not self.configured:
            message_id = await asyncio.to_thread(self._record, message.openid, message.summary, purpose, contact_id,
                                                 "undelivered", "WeChat API not configured (WECHAT_APPID, WECHAT_SECRET)",
                                                 notice_id)
            return WeChatResult(False, ERR_NOT_CONFIGURED, "WeChat API not configured", message_id)
        message_id = await asyncio.to_thread(self._record, message.openid, message.summary, purpose, contact_id,
                                             "queued", None, notice_id)
        result, attempts = await self.post(message)
        status, error, provider_id = recorded_outcome(message, result)
        await asyncio.to_thread(self._finish, message_id, status, attempts, error, provider_id)
        return WeChatResult(result.ok, result.errcode, result.errmsg, message_id, result.data)

    # --- the API ----------------------------------------------------------------------------------------

    async def send_text(self, openid: str, text: str, purpose: str = "reply",
                        contact_id: Optional[int] = None, notice_id: Optional[int] = None) -> WeChatResult:
        """A customer-service text message (within 48 h of the customer's last message; ≤ 2048 bytes)."""
        return await self._send(text_message(openid, text), purpose, contact_id, notice_id)

    async def send_template(self, openid: str, template_id: str, data: Mapping[str, Any],
                            url: Optional[str] = None, purpose: str = "notice",
                            contact_id: Optional[int] = None, notice_id: Optional[int] = None) -> WeChatResult:
        """A template message (notifications outside the 48-hour window); ``data`` values are text or
        WeChat's ``{"value": ..., "color": ...}``."""
        return await self._send(template_message(openid, template_id, data, url), purpose, contact_id, notice_id)

    async def create_menu(self, menu: Mapping[str, Any]) -> WeChatResult:
        """Replace the account's custom menu (``menu/create``)."""
        if not self.configured:
            return WeChatResult(False, ERR_NOT_CONFIGURED, "WeChat API not configured")
        try:
            answer, _attempts = await self.call("/cgi-bin/menu/create", menu)
        except WeChatApiError as exc:
            return WeChatResult(False, exc.errcode, exc.errmsg)
        code = int(answer.get("errcode") or 0)
        return WeChatResult(code == 0, code, str(answer.get("errmsg") or ""), None, answer)


_client: Optional[WeChatApiClient] = None


def get_wechat_client() -> WeChatApiClient:
    """The process-wide client for the configuration."""
    global _client
    if _client is None:
        _client = WeChatApiClient(get_settings())
    return _client


__all__ = ["WeChatApiClient", "WeChatResult", "WeChatApiError", "Message", "text_message", "template_message",
           "recorded_outcome", "get_wechat_client", "TOKEN_ERRORS", "UNREACHABLE", "ERR_TRANSPORT",
           "ERR_NOT_CONFIGURED"]
