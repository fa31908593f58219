"""A local fake of the Twilio API, speaking the real protocol in both directions.

Us → Twilio: ``POST /2010-04-01/Accounts/{AccountSid}/Messages.json`` (form body To, From, Body,
StatusCallback; HTTP basic auth AccountSid:AuthToken) answers like Twilio: 201 with the message
resource, or Twilio's JSON error body (``{"code": 21211, "message": …, "more_info": …, "status": 400}``).
After accepting a message it POSTs status callbacks (``sent``, then ``delivered`` or a chosen final
status) to the message's StatusCallback URL, signed with the auth token exactly as Twilio signs them.

Twilio → us: :meth:`FakeTwilioApi.send_sms` posts an inbound message to the bot's webhook, signed over
the bot's ``PUBLIC_BASE_URL`` — what Twilio does when a customer texts our number.

On demand: HTTP errors for the next N requests, slowness, numbers that are unsubscribed (21610),
final statuses per number. Everything received is kept for assertions. The server runs in its own
thread and event loop, so both the bot subprocess and in-process async tests can use it.
"""

from __future__ import annotations

import asyncio
import base64
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field
from typing import Callable, Dict, Iterator, List, Mapping, Optional, Tuple, TypeVar

import aiohttp
import pytest
from aiohttp import web
from twilio.request_validator import RequestValidator

from tests.eventually import eventually

T = TypeVar("T")

# Obviously fake credentials: "ACtest…" is not AC + 32 hex digits, so it can never be a real SID.
ACCOUNT_SID = "ACtest_fake_account_sid_0000000000"
AUTH_TOKEN = "test-twilio-auth-token"
FROM_NUMBER = "+15005550006"  # Twilio's documented magic test number

_E164 = re.compile(r"^\+[1-9]\d{7,14}$")


def sign(auth_token: str, url: str, params: Mapping[str, str]) -> str:
    """X-Twilio-Signature of a form POST to ``url`` (twilio-python's own algorithm)."""
    return RequestValidator(auth_token).compute_signature(url, dict(params))


@dataclass
class SentMessage:
    """One message the bot asked Twilio to send."""

    sid: str
    to: str
    from_: str
    body: str
    status_callback: Optional[str]
    status: str = "queued"


@dataclass
class Callback:
    """One status callback the fake delivered to the bot, and how the bot answered."""

    sid: str
    status: str
    url: str
    http_status: int


@dataclass
class _Faults:
    fail_next: List[Tuple[int, int, str]] = field(default_factory=list)  # (http status, code, message)
    delay_s: float = 0.0
    unsubscribed: set = field(default_factory=set)
    final_status: Dict[str, Tuple[str, Optional[str]]] = field(default_factory=dict)  # to -> (status, error code)


class FakeTwilioApi:
    """A Twilio REST API on 127.0.0.1 for one account."""

    def __init__(self, account_sid: str = ACCOUNT_SID, auth_token: str = AUTH_TOKEN,
                 from_number: str = FROM_NUMBER) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.from_number = from_number
        self.url = ""
        self._lock = threading.Lock()
        self._messages: List[SentMessage] = []
        self._callbacks: List[Callback] = []
        self._requests = 0
        self._in_flight = 0
        self._faults = _Faults()
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._thread: Optional[threading.Thread] = None
        self._runner: Optional[web.AppRunner] = None
        self._tasks: set = set()

    # ---------------------------------------------------------------- lifecycle

    def start(self) -> FakeTwilioApi:
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            app = web.Application()
            app.router.add_post("/2010-04-01/Accounts/{sid}/Messages.json", self._create_message)
            self._runner = web.AppRunner(app, access_log=None)
            loop.run_until_complete(self._runner.setup())
            site = web.TCPSite(self._runner, "127.0.0.1", 0)
            loop.run_until_complete(site.start())
            port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            self.url = f"http://127.0.0.1:{port}"
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self._runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=run, name="fake-twilio", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("fake Twilio did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)

    def bot_env(self) -> Dict[str, str]:
        """What the bot needs to use this fake instead of api.twilio.com."""
        return {
            "TWILIO_ACCOUNT_SID": self.account_sid,
            "TWILIO_AUTH_TOKEN": self.auth_token,
            "TWILIO_FROM_NUMBER": self.from_number,
            "TWILIO_API_BASE_URL": self.url,
        }

    # ---------------------------------------------------------------- behaviour on demand

    def reset(self) -> None:
        """Forget faults (received messages are kept; filter them by recipient)."""
        with self._lock:
            self._faults = _Faults()

    def fail_next(self, count: int, http_status: int = 500, code: int = 20500,
                  message: str = "An internal server error has occurred") -> None:
        """The next ``count`` create requests fail with this error (before any other check)."""
        with self._lock:
            self._faults.fail_next.extend([(http_status, code, message)] * count)

    def set_delay(self, seconds: float) -> None:
        """Answer create requests only after ``seconds`` (a slow or congested API)."""
        with self._lock:
            self._faults.delay_s = seconds

    def unsubscribe(self, number: str) -> None:
        """``number`` replied STOP at Twilio: creating a message to it fails with 21610."""
        with self._lock:
            self._faults.unsubscribed.add(number)

    def final_status(self, number: str, status: str, error_code: Optional[str] = None) -> None:
        """Messages to ``number`` end in ``status`` (e.g. ``undelivered``, ``30003``) instead of delivered."""
        with self._lock:
            self._faults.final_status[number] = (status, error_code)

    # ---------------------------------------------------------------- what happened

    @property
    def requests(self) -> int:
        """Create requests received, failed ones included."""
        with self._lock:
            return self._requests

    @property
    def in_flight(self) -> int:
        """Create requests being answered right now (useful with :meth:`set_delay`)."""
        with self._lock:
            return self._in_flight

    def messages(self, to: Optional[str] = None) -> List[SentMessage]:
        with self._lock:
            return [m for m in self._messages if to is None or m.to == to]

    def callbacks(self, sid: Optional[str] = None) -> List[Callback]:
        with self._lock:
            return [c for c in self._callbacks if sid is None or c.sid == sid]

    @staticmethod
    def wait_for(condition: Callable[[], T], timeout: float = 20.0, what: str = "condition") -> T:
        """``condition()``'s value once it is truthy (:func:`tests.eventually.eventually`)."""
        return eventually(condition, timeout, interval=0.05, what=what)

    # ---------------------------------------------------------------- Twilio → bot

    def inbound_params(self, from_number: str, body: str, message_sid: Optional[str] = None,
                       **extra: str) -> Dict[str, str]:
        """The form parameters Twilio posts for an incoming SMS."""
        sid = message_sid or "SM" + uuid.uuid4().hex
        params = {
            "ToCountry": "US", "ToState": "", "SmsMessageSid": sid, "NumMedia": "0", "ToCity": "",
            "FromZip": "", "SmsSid": sid, "FromState": "", "SmsStatus": "received", "FromCity": "",
            "Body": body, "FromCountry": "CN", "To": self.from_number, "ToZip": "", "NumSegments": "1",
            "MessageSid": sid, "AccountSid": self.account_sid, "From": from_number, "ApiVersion": "2010-04-01",
        }
        params.update(extra)
        return params

    def send_sms(self, bot_url: str, public_base_url: str, from_number: str, body: str,
                 message_sid: Optional[str] = None, signature: Optional[str] = "sign",
                 params: Optional[Mapping[str, str]] = None, timeout: float = 20.0) -> Tuple[int, str]:
        """POST an incoming SMS to the bot as Twilio would; returns (HTTP status, response body).

        ``signature="sign"`` signs correctly; None sends no signature header; any other value is sent as is.
        """
        path = "/webhooks/sms/webhook"
        form = dict(params) if params is not None else self.inbound_params(from_number, body, message_sid)
        headers = {"Content-Type": "application/x-www-form-urlencoded; charset=UTF-8",
                   "User-Agent": "TwilioProxy/1.1"}
        if signature == "sign":
            headers["X-Twilio-Signature"] = sign(self.auth_token, public_base_url + path, form)
        elif signature is not None:
            headers["X-Twilio-Signature"] = signature
        req = urllib.request.Request(bot_url + path, data=urllib.parse.urlencode(form).encode(), headers=headers,
                                     method="POST")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as err:
            return err.code, err.read().decode()

    # ---------------------------------------------------------------- the REST API

    def _error(self, http_status: int, code: int, message: str) -> web.Response:
        return web.json_response({"code": code, "message": message,
                                  "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": http_status},
                                 status=http_status)

    def _authorized(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return False
        return user == self.account_sid and password == self.auth_token

    async def _create_message(self, request: web.Request) -> web.Response:
        with self._lock:
            self._requests += 1
            self._in_flight += 1
            delay = self._faults.delay_s
            fault = self._faults.fail_next.pop(0) if self._faults.fail_next else None
        try:
            if delay:
                await asyncio.sleep(delay)  # the fake being slow, not a test waiting
            if fault:
                return self._error(*fault)
            if not self._authorized(request) or request.match_info["sid"] != self.account_sid:
                return self._error(401, 20003, "Authenticate")
            form = await request.post()
            to, from_, body = form.get("To", ""), form.get("From", ""), form.get("Body", "")
            if not to:
                return self._error(400, 21604, "A 'To' phone number is required.")
            if not _E164.match(str(to)):
                return self._error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
            if from_ != self.from_number:
                return self._error(400, 21606, f"The From phone number {from_} is not a valid, SMS-capable "
                                                "inbound phone number or short code for your account.")
            if not body:
                return self._error(400, 21602, "Message body is required.")
            if len(str(body)) > 1600:
                return self._error(400, 21617, "The concatenated message body exceeds the 1600 character limit.")
            with self._lock:
                if to in self._faults.unsubscribed:
                    return self._error(400, 21610, "Attempt to send to unsubscribed recipient")
                final = self._faults.final_status.get(str(to), ("delivered", None))
                message = SentMessage("SM" + uuid.uuid4().hex, str(to), str(from_), str(body),
                                      str(form["StatusCallback"]) if form.get("StatusCallback") else None)
                self._messages.append(message)
            if message.status_callback:
                task = asyncio.ensure_future(self._report(message, ["sent", final[0]], final[1]))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            return web.json_response(self._resource(message), status=201)
        finally:
            with self._lock:
                self._in_flight -= 1

    def _resource(self, m: SentMessage) -> Dict[str, object]:
        return {
            "account_sid": self.account_sid, "api_version": "2010-04-01", "body": m.body,
            "date_created": time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime()),
            "direction": "outbound-api", "error_code": None, "error_message": None, "from": m.from_,
            "messaging_service_sid": None, "num_media": "0", "num_segments": "1", "price": None,
            "price_unit": "USD", "sid": m.sid, "status": "queued", "to": m.to,
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{m.sid}.json",
        }

    async def _report(self, message: SentMessage, statuses: List[str], error_code: Optional[str]) -> None:
        """Status callbacks, in order, each signed like Twilio signs them."""
        assert message.status_callback
        async with aiohttp.ClientSession() as session:
            for status in statuses:
                params = {"AccountSid": self.account_sid, "ApiVersion": "2010-04-01", "From": message.from_,
                          "MessageSid": message.sid, "MessageStatus": status, "SmsSid": message.sid,
                          "SmsStatus": status, "To": message.to}
                if error_code and status in ("undelivered", "failed"):
                    params["ErrorCode"] = error_code
                headers = {"X-Twilio-Signature": sign(self.auth_token, message.status_callback, params)}
                try:
                    async with session.post(message.status_callback, data=params, headers=headers,
                                            timeout=aiohttp.ClientTimeout(total=15)) as resp:
                        http_status = resp.status
                except (aiohttp.ClientError, asyncio.TimeoutError):
                    http_status = 0
                with self._lock:
                    message.status = status
                    self._callbacks.append(Callback(message.sid, status, message.status_callback, http_status))


@pytest.fixture(scope="session")
def fake_twilio_api() -> Iterator[FakeTwilioApi]:
    """The Twilio API the session's bot talks to."""
    fake = FakeTwilioApi().start()
    yield fake
    fake.stop()
