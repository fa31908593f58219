"""A local fake of the WeChat Official Account API, and a test client that posts like WeChat's servers.

``FakeWeChatApi`` is a real HTTP server (a thread) speaking WeChat's protocol at the paths the bot uses:

* ``GET /cgi-bin/token`` — checks grant_type, appid and secret (40002/40013/40125) and issues tokens that
  expire after ``token_ttl_s`` (a newer token does not invalidate older ones, as with WeChat's 5-minute
  overlap); every call is counted.
* ``POST /cgi-bin/message/custom/send``, ``/cgi-bin/message/template/send``, ``/cgi-bin/menu/create`` —
  check the access token (41001 missing, 40001 unknown, 42001 expired), the JSON body (44002 empty,
  47001 malformed), customer-service rules (43004 for an unsubscribed openid) and record what was sent.
* ``GET /cgi-bin/media/get`` — a temporary medium put there with :meth:`FakeWeChatApi.add_media`: the
  bytes with their Content-Type and ``Content-disposition: attachment; filename=…``, or WeChat's JSON
  error (40007 invalid media_id, token errors as above) for an unknown or expired one.
* A rate limit on demand: with ``rate_limit`` (requests per second, over a sliding second) set, message
  calls beyond it answer 45009 ("api freq out of limit") and are counted in ``rate_limited``.
* Errors on demand: :meth:`FakeWeChatApi.fail_next` makes the next call(s) of a path — optionally only
  for one openid — return a given errcode (45015, 45047, 40001, -1 …); :meth:`expire_tokens` expires
  every issued token.

``WeChatClient`` builds the XML WeChat posts to a webhook (plain, or encrypted with wechatpy's
``WeChatCrypto`` in safe mode), signs it, posts it and reads the reply — independently of the product's
own code, so a mistake there cannot hide itself.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Deque, Dict, Iterator, List, Optional, Tuple

import pytest
import xmltodict
from wechatpy.crypto import WeChatCrypto
from wechatpy.utils import WeChatSigner

from tests.eventually import eventually
from tests.harness import TEST_WECHAT_TOKEN

# The vectors of wechatpy 1.8.18's tests/test_crypto.py (CryptoTestCase): keys, a signed encrypted echostr
# (it decrypts to 5927782489442352469) and an encrypted text message "test" from "messense".
VECTOR_TOKEN = "123456"
VECTOR_AES_KEY = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"
VECTOR_APPID = "wx49f0ab532d5d035a"
VECTOR_ECHO = {"msg_signature": "dd6b9c95b495b3f7e2901bfbc76c664930ffdb96", "timestamp": "1411443780",
               "nonce": "437374425",
               "echostr": "4ByGGj+sVCYcvGeQYhaKIk1o0pQRNbRjxybjTGblXrBaXlTXeOo1+bXFXDQQb1o6co6Yh9Bv41n7hOchLF6p+Q=="}
VECTOR_MESSAGE = """<xml><ToUserName><![CDATA[wx49f0ab532d5d035a]]></ToUserName>
<Encrypt><![CDATA[RgqEoJj5A4EMYlLvWO1F86ioRjZfaex/gePD0gOXTxpsq5Yj4GNglrBb8I2BAJVODGajiFnXBu7mCPatfjsu6IHCrsTyeDXzF6Bv283dGymzxh6ydJRvZsryDyZbLTE7rhnus50qGPMfp2wASFlzEgMW9z1ef/RD8XzaFYgm7iTdaXpXaG4+BiYyolBug/gYNx410cvkKR2/nPwBiT+P4hIiOAQqGp/TywZBtDh1yCF2KOd0gpiMZ5jSw3e29mTvmUHzkVQiMS6td7vXUaWOMZnYZlF3So2SjHnwh4jYFxdgpkHHqIrH/54SNdshoQgWYEvccTKe7FS709/5t6NMxuGhcUGAPOQipvWTT4dShyqio7mlsl5noTrb++x6En749zCpQVhDpbV6GDnTbcX2e8K9QaNWHp91eBdCRxthuL0=]]></Encrypt>
<AgentID><![CDATA[1]]></AgentID>
</xml>"""
VECTOR_MESSAGE_QUERY = {"msg_signature": "74d92dfeb87ba7c714f89d98870ae5eb62dff26d", "timestamp": "1411525903",
                        "nonce": "461056294", "encrypt_type": "aes"}

TEST_APPID = "wxfa4e0000c0ffee01"
TEST_SECRET = "fake-app-secret-0123456789abcdef"


@dataclass
class SentMessage:
    path: str
    appid: str
    body: Dict[str, Any]
    at: float = field(default_factory=time.monotonic)

    @property
    def touser(self) -> str:
        return str(self.body.get("touser") or "")

    @property
    def text(self) -> str:
        return str((self.body.get("text") or {}).get("content") or "")


class FakeWeChatApi:
    """The fake's state and its controls; one server for the whole test session."""

    def __init__(self, apps: Optional[Dict[str, str]] = None, token_ttl_s: int = 7200,
                 rate_limit: Optional[float] = None) -> None:
        self.apps: Dict[str, str] = dict(apps or {TEST_APPID: TEST_SECRET})
        self.token_ttl_s = token_ttl_s
        self._lock = threading.Condition()
        self._tokens: Dict[str, Tuple[str, float]] = {}  # token -> (appid, expires at)
        self._failures: List[Tuple[str, Optional[str], int]] = []  # (path, openid or None, errcode)
        self.sent: List[SentMessage] = []
        self.menus: List[Dict[str, Any]] = []
        self.token_requests = 0
        self.unsubscribed: set = set()
        self.media: Dict[str, Tuple[bytes, str]] = {}
        self.media_requests = 0
        self.rate_limit = rate_limit
        self.rate_limited = 0
        self._recent: Deque[float] = deque()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def bot_env(self, appid: str = TEST_APPID) -> Dict[str, str]:
        """Environment pointing the bot at this fake (as the app ``appid``)."""
        return {"WECHAT_API_BASE_URL": self.url, "WECHAT_APPID": appid, "WECHAT_SECRET": self.apps[appid],
                "WECHAT_TOKEN": TEST_WECHAT_TOKEN}

    def add_app(self, appid: str, secret: str) -> None:
        with self._lock:
            self.apps[appid] = secret

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # --- controls -----------------------------------------------------------------------------------

    def fail_next(self, errcode: int, path: str = "/cgi-bin/message/custom/send", touser: Optional[str] = None,
                  times: int = 1) -> None:
        """The next ``times`` calls of ``path`` (for ``touser`` only, when given) answer ``errcode``."""
        with self._lock:
            self._failures.extend([(path, touser, errcode)] * times)

    def expire_tokens(self) -> None:
        with self._lock:
            self._tokens = {t: (appid, 0.0) for t, (appid, _exp) in self._tokens.items()}

    def add_media(self, media_id: str, data: bytes, content_type: str = "image/jpeg") -> None:
        """A temporary medium a customer sent (served by /cgi-bin/media/get until removed)."""
        with self._lock:
            self.media[media_id] = (data, content_type)

    def sent_to(self, openid: str, path: str = "/cgi-bin/message/custom/send") -> List[SentMessage]:
        with self._lock:
            return [m for m in self.sent if m.touser == openid and m.path == path]

    def wait_for(self, predicate: Callable[[], Any], timeout: float = 15.0) -> Any:
        """``predicate()``'s value once it is truthy (:func:`tests.eventually.eventually`)."""
        return eventually(predicate, timeout, interval=0.02, what="the fake WeChat API to see the expected call")

    # --- the protocol -------------------------------------------------------------------------------

    def _issue(self, query: Dict[str, str]) -> Dict[str, Any]:
        if query.get("grant_type") != "client_credential":
            return {"errcode": 40002, "errmsg": "invalid grant_type"}
        appid = query.get("appid", "")
        if appid not in self.apps:
            return {"errcode": 40013, "errmsg": "invalid appid"}
        if query.get("secret") != self.apps[appid]:
            return {"errcode": 40125, "errmsg": "invalid appsecret"}
        token = "FAKE_" + secrets.token_urlsafe(24)
        self._tokens[token] = (appid, time.monotonic() + self.token_ttl_s)
        self.token_requests += 1
        return {"access_token": token, "expires_in": self.token_ttl_s}

    def _api(self, path: str, query: Dict[str, str], raw: bytes) -> Dict[str, Any]:
        token = query.get("access_token")
        if not token:
            return {"errcode": 41001, "errmsg": "access_token missing"}
        if token not in self._tokens:
            return {"errcode": 40001, "errmsg": "invalid credential, access_token is invalid or not latest"}
        appid, expires = self._tokens[token]
        if time.monotonic() >= expires:
            return {"errcode": 42001, "errmsg": "access_token expired"}
        if not raw:
            return {"errcode": 44002, "errmsg": "empty post data"}
        try:
            body = json.loads(raw.decode("utf-8"))
        except ValueError:
            return {"errcode": 47001, "errmsg": "data format error"}
        touser = body.get("touser")
        if self.rate_limit and path != "/cgi-bin/menu/create":
            now = time.monotonic()
            while self._recent and self._recent[0] <= now - 1.0:
                self._recent.popleft()
            if len(self._recent) >= self.rate_limit:
                self.rate_limited += 1
                return {"errcode": 45009, "errmsg": "api freq out of limit"}
            self._recent.append(now)
        for index, (fail_path, fail_user, errcode) in enumerate(self._failures):
            if fail_path == path and (fail_user is None or fail_user == touser):
                del self._failures[index]
                return {"errcode": errcode, "errmsg": f"fake error {errcode}"}
        if path == "/cgi-bin/menu/create":
            if not isinstance(body.get("button"), list) or not 1 <= len(body["button"]) <= 3:
                return {"errcode": 40016, "errmsg": "invalid button size"}
            self.menus.append(body)
            return {"errcode": 0, "errmsg": "ok"}
        if not touser:
            return {"errcode": 40003, "errmsg": "invalid openid"}
        if touser in self.unsubscribed:
            return {"errcode": 43004, "errmsg": "require subscribe"}
        if path == "/cgi-bin/message/custom/send":
            content = (body.get("text") or {}).get("content") if body.get("msgtype") == "text" else None
            if body.get("msgtype") == "text" and not content:
                return {"errcode": 44003, "errmsg": "empty news data"}
            if content and len(content.encode("utf-8")) > 2048:
                return {"errcode": 45002, "errmsg": "content size out of limit"}
        self.sent.append(SentMessage(path, appid, body))
        if path == "/cgi-bin/message/template/send":
            return {"errcode": 0, "errmsg": "ok", "msgid": secrets.randbits(40)}
        return {"errcode": 0, "errmsg": "ok"}

    def _medium(self, query: Dict[str, str]) -> Tuple[Dict[str, Any] | None, Tuple[bytes, str] | None]:
        """(JSON error, None) or (None, (bytes, content type)) for GET /cgi-bin/media/get."""
        self.media_requests += 1
        token = query.get("access_token")
        if not token:
            return {"errcode": 41001, "errmsg": "access_token missing"}, None
        if token not in self._tokens:
            return {"errcode": 40001, "errmsg": "invalid credential, access_token is invalid or not latest"}, None
        if time.monotonic() >= self._tokens[token][1]:
            return {"errcode": 42001, "errmsg": "access_token expired"}, None
        medium = self.media.get(query.get("media_id", ""))
        if medium is None:
            return {"errcode": 40007, "errmsg": "invalid media_id"}, None
        return None, medium

    def _handler(self) -> type:
        fake = self
        api_paths = {"/cgi-bin/message/custom/send", "/cgi-bin/message/template/send", "/cgi-bin/menu/create"}

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # connections kept alive, as WeChat's servers do

            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self, payload: Dict[str, Any], status: int = 200) -> None:
                body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json; encoding=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _route(self, method: str) -> None:
                parsed = urllib.parse.urlsplit(self.path)
                query = dict(urllib.parse.parse_qsl(parsed.query))
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)) if method == "POST" else b""
                if method == "GET" and parsed.path == "/cgi-bin/media/get":
                    with fake._lock:
                        error, medium = fake._medium(query)
                        fake._lock.notify_all()
                    if error is not None:
                        self._answer(error)  # WeChat answers errors as JSON with HTTP 200
                        return
                    data, content_type = medium
                    self.send_response(200)
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-disposition", f'attachment; filename="{query["media_id"]}.jpg"')
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                with fake._lock:
                    if method == "GET" and parsed.path == "/cgi-bin/token":
                        payload = fake._issue(query)
                    elif method == "POST" and parsed.path in api_paths:
                        payload = fake._api(parsed.path, query, raw)
                    else:
                        payload = None
                    fake._lock.notify_all()
                if payload is None:
                    self._answer({"errcode": 404, "errmsg": "not found"}, status=404)
                else:
                    self._answer(payload)

            def do_GET(self) -> None:  # noqa: N802
                self._route("GET")

            def do_POST(self) -> None:  # noqa: N802
                self._route("POST")

        return Handler


@pytest.fixture(scope="session")
def fake_wechat_api() -> Iterator[FakeWeChatApi]:
    fake = FakeWeChatApi()
    yield fake
    fake.stop()


# --- posting like WeChat ----------------------------------------------------------------------------


def signature(*parts: str) -> str:
    signer = WeChatSigner()
    signer.add_data(*parts)
    return signer.signature


@dataclass
class Reply:
    status: int
    body: str
    seconds: float
    fields: Dict[str, Any] = field(default_factory=dict)  # the reply XML's fields (decrypted)

    @property
    def text(self) -> Optional[str]:
        return self.fields.get("Content")

    @property
    def is_success(self) -> bool:
        return self.status == 200 and self.body.strip() in ("success", "")


class WeChatClient:
    """Posts messages to the bot's webhook the way WeChat's servers do."""

    def __init__(self, webhook_url: str, token: str = TEST_WECHAT_TOKEN, aes_key: Optional[str] = None,
                 appid: Optional[str] = None, account: str = "gh_test_account") -> None:
        self.url = webhook_url
        self.token = token
        self.crypto = WeChatCrypto(token, aes_key, appid) if aes_key else None
        self.account = account

    # messages
    def xml(self, openid: str, msg_type: str, create_time: Optional[int] = None, **fields: Any) -> str:
        body = {"ToUserName": self.account, "FromUserName": openid,
                "CreateTime": create_time or int(time.time()), "MsgType": msg_type, **fields}
        return xmltodict.unparse({"xml": body}, full_document=False)

    def text(self, openid: str, content: str, msg_id: Optional[int] = None) -> str:
        return self.xml(openid, "text", Content=content, MsgId=msg_id or new_msg_id())

    def event(self, openid: str, event: str, key: Optional[str] = None, create_time: Optional[int] = None) -> str:
        fields: Dict[str, Any] = {"Event": event}
        if key is not None:
            fields["EventKey"] = key
        return self.xml(openid, "event", create_time=create_time, **fields)

    # transport
    def signed(self, xml: str, timestamp: Optional[str] = None, nonce: Optional[str] = None,
               tamper: Optional[str] = None) -> Tuple[Dict[str, str], bytes]:
        """Query and body for ``xml``; ``tamper`` = 'signature' | 'msg_signature' | 'omit' breaks them."""
        timestamp = timestamp or str(int(time.time()))
        nonce = nonce or str(secrets.randbelow(10**9))
        query = {"timestamp": timestamp, "nonce": nonce, "signature": signature(self.token, timestamp, nonce),
                 "openid": "ignored-by-bot"}
        body = xml.encode("utf-8")
        if self.crypto is not None:
            envelope = self.crypto.encrypt_message(xml, nonce, timestamp)
            query.update(encrypt_type="aes", msg_signature=xmltodict.parse(envelope)["xml"]["MsgSignature"])
            # WeChat posts <ToUserName> and <Encrypt> only; the signature is in the query string
            encrypted = xmltodict.parse(envelope)["xml"]["Encrypt"]
            body = xmltodict.unparse({"xml": {"ToUserName": self.account, "Encrypt": encrypted}},
                                     full_document=False).encode("utf-8")
        if tamper == "signature":
            query["signature"] = "0" * 40
        elif tamper == "msg_signature":
            query["msg_signature"] = "0" * 40
        elif tamper == "omit":
            query.pop("signature", None)
            query.pop("msg_signature", None)
        return query, body

    def post_raw(self, query: Dict[str, str], body: bytes, timeout: float = 30.0) -> Reply:
        url = self.url + "?" + urllib.parse.urlencode(query)
        request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "text/xml"})
        started = time.monotonic()
        try:
            with urllib.request.urlopen(request, timeout=timeout) as resp:
                status, text = resp.status, resp.read().decode("utf-8")
        except urllib.error.HTTPError as exc:
            status, text = exc.code, exc.read().decode("utf-8", "replace")
        seconds = time.monotonic() - started
        return Reply(status, text, seconds, self.read(text) if status == 200 else {})

    def post(self, xml: str, **signing: Any) -> Reply:
        query, body = self.signed(xml, **signing)
        return self.post_raw(query, body)

    def read(self, body: str) -> Dict[str, Any]:
        """The reply's fields; a safe-mode reply must verify and decrypt."""
        if not body.strip().startswith("<"):
            return {}
        data = xmltodict.parse(body)["xml"]
        if self.crypto is not None:
            assert "Encrypt" in data, "a safe-mode reply must be encrypted"
            xml = self.crypto.decrypt_message(body, data["MsgSignature"], data["TimeStamp"], data["Nonce"])
            data = xmltodict.parse(xml)["xml"]
        return dict(data)


def new_msg_id() -> int:
    return secrets.randbits(62)


def new_openid(prefix: str = "oTest") -> str:
    return prefix + secrets.token_hex(11)



