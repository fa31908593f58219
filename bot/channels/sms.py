"""The SMS channel: Twilio's inbound-message webhook and its delivery-status callbacks.

``POST /webhooks/sms/webhook`` (an SMS from a customer) and ``POST /webhooks/sms/status`` (how a message
we sent is doing) are both signed by Twilio: ``X-Twilio-Signature`` is an HMAC-SHA1, under the auth
token, of the URL Twilio called followed by every form parameter (sorted, multi-valued ones too). We
check it over ``PUBLIC_BASE_URL`` + the request path, because behind a proxy the URL this server sees
is not the one Twilio signed. A missing or wrong signature gets 403 and nothing else happens.

One conversation per phone: the Rasa sender id comes from ``bot.domain.contacts`` (a hash, never the
number), and texting from the phone registered on accounts is proof for them (``bind_by_phone``).

Replies: Twilio waits 15 s for the webhook. When the bot answers within ``SMS_REPLY_BUDGET_S`` (10 s)
the answer goes back as TwiML in the response (no REST call, no extra cost); otherwise Twilio gets an
empty ``<Response/>`` and the answer follows through the REST API (``deliver.send_to_conversation``).
Buttons are rendered as numbered choices ("回复1 查电费"); a reply that is just that number stands for
the button (the choices of the bot's last turn are remembered per conversation, see ``sms_state``).

Opt-out: 退订 / TD / STOP (and Twilio's other standard opt-out words, so our record agrees with what
Twilio itself blocks) mark the contact inactive before Rasa sees anything. The customer gets exactly one
confirmation, as the TwiML reply to that very message — it is what carriers expect and it does not pass
through a sender, so nothing else can reach the number afterwards: every sender refuses an opted-out
number (``bot.messaging.sms``). The customer says it in many ways (``退订短信``, ``TD退订``, ``请帮我退订``,
``取消短信通知``, ``不要再给我发短信了``, ``stop please``, ``ＳＴＯＰ！``): :func:`is_opt_out`. A later message from
an opted-out number is answered (the customer wrote to us) but turns nothing back on; only an explicit
``订阅`` / ``START`` (:func:`is_opt_in`) does, confirmed once.
"""

from __future__ import annotations

import asyncio
import logging
import re
import unicodedata
from typing import Any, Awaitable, Callable, Dict, List, Set, Tuple
from urllib.parse import parse_qsl
from xml.etree import ElementTree

from multidict import MultiDict
from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from twilio.request_validator import RequestValidator

from bot import logs, messages, metrics, startup
from bot.channels.common import (
    RecordingCollector,
    answer_personal_data_request,
    customer_text,
    in_thread,
    internal_message,
    personal_data_kind,
    rasa_text,
    record_inbound,
    record_outbound,
)
from bot.channels.resilience import keep_for_agent, watched_turn
from bot.channels.sms_state import Choice, SmsState
from bot.config import Settings, get_settings
from bot.db import session_scope
from bot.domain import audit, bindings, contacts, transcript
from bot.domain.pii import mask_phone, normalize_phone
from bot.messaging.deliver import send_to_conversation
from bot.messaging.outbox import sms_segments
from bot.messaging.twilio_sms import record_provider_status

logger = logging.getLogger(__name__)

CHANNEL = "sms"

#: Words that stop all our SMS to a number (compared without spaces/punctuation, case-insensitive).
#: 退订 and TD are what Chinese SMS users send; the English ones are Twilio's standard opt-out keywords.
OPT_OUT_WORDS = frozenset({"退订", "TD", "STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})

#: Twilio's standard opt-in keywords and their Chinese counterparts (nothing else re-subscribes).
OPT_IN_WORDS = frozenset({"订阅", "订阅短信", "重新订阅", "恢复短信", "恢复订阅", "开通短信", "START", "UNSTOP"})
_POLITE = re.compile(r"^(?:PLEASE|PLS|请|麻烦|帮我|给我|我要|我想|你们|把)+|(?:PLEASE|PLS|吧|了|啊|呀|谢谢|THANKS|THANKYOU)+$")
_OPT_OUT_PHRASES = re.compile(
    r"退订|取消(?:短信|订阅)|关闭短信|短信(?:退订|取消)"
    r"|(?:不要|别|不用|不想)再?(?:给我|向我|跟我)?(?:发|推送?)(?:短信|消息|信息|通知)"
    r"|(?:不要|别|不想)再?(?:收|接收)(?:短信|消息|信息|通知)"
)
_OPT_OUT_MAX_CHARS = 16  # a longer message that mentions 退订 is a question, not the opt-out itself
_QUESTION = re.compile(r"^(?:怎么|怎样|如何|能不能|可以|可不可以)|(?:吗|么|嘛|呢)[?？]*$|[?？]$")

_CHOICE = re.compile(r"(?:回复)?\s*(\d{1,2})")
#: Twilio refuses a message body over 1600 characters (error 21617).
MAX_BODY = 1600
_EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'


# ------------------------------------------------------------------ protocol helpers (pure functions)


def form_params(body: bytes) -> MultiDict[str]:
    """The form parameters of a Twilio request, every value of a repeated name kept.

    twilio's RequestValidator reads repeated parameters through ``getall``/``getlist``; a plain dict
    (or a dict of lists) would make it sign the wrong string.
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return MultiDict()
    return MultiDict(parse_qsl(text, keep_blank_values=True))


def signed_url(public_base_url: str | None, request_url: str, path: str, query_string: str) -> str:
    """The URL Twilio signed: ``PUBLIC_BASE_URL`` + path (+ query), or the URL as this server saw it."""
    if not public_base_url:
        return request_url
    return public_base_url.rstrip("/") + path + (f"?{query_string}" if query_string else "")


def signature_valid(auth_token: str, url: str, params: MultiDict[str], signature: str | None) -> bool:
    """Is ``signature`` (the X-Twilio-Signature header) Twilio's signature of this request?"""
    if not signature or not auth_token:
        return False
    return bool(RequestValidator(auth_token).validate(url, params, signature))


def _fold(text: str) -> str:
    """Upper case, half-width, without spaces, punctuation or emoji ("ＳＴＯＰ！" → "STOP")."""
    return "".join(
        ch for ch in unicodedata.normalize("NFKC", text or "")
        if not ch.isspace() and unicodedata.category(ch)[0] not in "PSC"
    ).upper()


def is_opt_out(text: str) -> bool:
    """Does this SMS stop our messages? 退订 / TD / STOP and Twilio's other opt-out keywords in any case,
    width or spacing, with politeness around them (``stop please``, ``请帮我退订``, ``TD退订``), and the
    ways people say it (``取消短信通知``, ``不要再给我发短信了``). A longer message that only mentions
    退订 (a question about it) is not an opt-out."""
    folded = _fold(text)
    if not folded or len(folded) > _OPT_OUT_MAX_CHARS:
        return False
    core = _POLITE.sub("", folded) or folded
    if core in OPT_OUT_WORDS or folded in OPT_OUT_WORDS:
        return True
    if core.startswith("TD") and core[2:] in OPT_OUT_WORDS | {""} or core.endswith("TD") and core[:-2] in OPT_OUT_WORDS:
        return True
    if _QUESTION.search(folded):  # 我要退订电费短信吗: a question about opting out answers, it does not act
        return False
    return bool(_OPT_OUT_PHRASES.search(folded))


def is_opt_in(text: str) -> bool:
    """Does this SMS explicitly ask for our messages again (``订阅``, ``START``, ``UNSTOP``)?"""
    folded = _fold(text)
    return folded in OPT_IN_WORDS or (_POLITE.sub("", folded) or folded) in OPT_IN_WORDS


def split_body(body: str, limit: int = MAX_BODY) -> List[str]:
    """``body`` in parts Twilio accepts (at most ``limit`` characters), cut at line breaks where possible."""
    parts: List[str] = []
    while len(body) > limit:
        cut = body.rfind("\n", 0, limit + 1)
        cut = cut if cut > 0 else limit
        parts.append(body[:cut])
        body = body[cut:].lstrip("\n")
    return parts + ([body] if body else [])


def twiml(body: str) -> str:
    """A TwiML response sending ``body`` back (one SMS, or a few when it is over Twilio's limit)."""
    if not body:
        return _EMPTY_TWIML
    root = ElementTree.Element("Response")
    for part in split_body(body):
        ElementTree.SubElement(root, "Message").text = part
    return '<?xml version="1.0" encoding="UTF-8"?>' + ElementTree.tostring(root, encoding="unicode")


def choices_of(bot_messages: List[Dict[str, Any]]) -> List[Choice]:
    """The numbered choices a turn offered: the buttons of its last message that has any."""
    for message in reversed(bot_messages):
        buttons = message.get("buttons") or []
        if buttons:
            return [Choice(str(b.get("title", "")), str(b.get("payload") or b.get("title") or "")) for b in buttons]
    return []


def chosen(text: str, offered: List[Choice]) -> Choice | None:
    """The choice a digit reply ("1", "回复1") stands for, if it names one of ``offered``."""
    match = _CHOICE.fullmatch(text.strip())
    if not match or not offered:
        return None
    index = int(match.group(1))
    return offered[index - 1] if 1 <= index <= len(offered) else None


def _xml(body: str, status: int = 200) -> HTTPResponse:
    return response.text(body, status=status, content_type="application/xml; charset=utf-8")


# ------------------------------------------------------------------ database work (run in threads)


def _inbound_contact(phone: str, opting_out: bool, opting_in: bool = False) -> Tuple[str, bool]:
    """The conversation of ``phone``: (sender id, is it opted in again by this very message).

    An opt-out lasts until the customer explicitly asks again (``订阅``/``START``): any other message is
    answered but leaves the number opted out."""
    with session_scope() as s:
        contact = contacts.get_or_create(s, CHANNEL, phone)
        was_inactive = contact.active is False
        contacts.mark_inbound(s, contact)
        if opting_out:
            contact.active = False
            audit.record(s, f"customer:{contact.sender_id}", "sms.opt_out", "contact", contact.sender_id,
                         phone=mask_phone(phone))
            return contact.sender_id, False
        if was_inactive and not opting_in:
            contact.active = False
        elif was_inactive:
            audit.record(s, f"customer:{contact.sender_id}", "sms.opt_in", "contact", contact.sender_id,
                         phone=mask_phone(phone))
        bindings.bind_by_phone(s, contact)
        return contact.sender_id, was_inactive and opting_in


def _latest_outbound(sender_id: str) -> Tuple[str, str] | None:
    """(author, text) of the last message the conversation's customer was sent, per the transcript."""
    with session_scope() as s:
        entry = transcript.last(s, sender_id, "out")
        return (entry.author, entry.text) if entry is not None else None


# ------------------------------------------------------------------ the channel


class SmsInput(InputChannel):
    """Rasa input channel ``sms`` (``bot.channels.sms.SmsInput`` in credentials.yml)."""

    @classmethod
    def name(cls) -> str:
        return CHANNEL

    @classmethod
    def from_credentials(cls, credentials: Dict[str, Any] | None) -> InputChannel:
        startup.start_rasa_server()  # the Rasa server's earliest hook of ours (idempotent)
        return cls()

    def __init__(self, settings: Settings | None = None, state: SmsState | None = None) -> None:
        """Rasa builds it without arguments (configuration from the environment)."""
        self._settings = settings
        self._state = state
        self._tasks: Set[asyncio.Task] = set()  # late replies still running (kept referenced)
        self._agent: Any = None  # the Rasa agent serving this channel (seen on the first request)

    @property
    def settings(self) -> Settings:
        return self._settings or get_settings()

    @property
    def state(self) -> SmsState:
        if self._state is None:
            self._state = SmsState(self.settings.redis_url)
        return self._state

    def _authentic(self, request: Request, params: MultiDict[str]) -> bool:
        settings = self.settings
        if not settings.twilio_auth_token:
            logger.warning("sms webhook called but TWILIO_AUTH_TOKEN is not set: refused")
            return False
        url = signed_url(settings.public_base_url, request.url, request.path, request.query_string)
        ok = signature_valid(settings.twilio_auth_token, url, params, request.headers.get("X-Twilio-Signature"))
        if not ok:
            logger.warning("sms %s: bad or missing X-Twilio-Signature from %s (refused)", request.path,
                           request.remote_addr or request.ip)
        return ok

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        bp = Blueprint("powerbot_sms", __name__)

        @bp.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok" if self.settings.twilio_configured else "not configured"})

        @bp.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            return await self._receive(request, on_new_message)

        @bp.route("/status", methods=["POST"])
        async def status(request: Request) -> HTTPResponse:
            return await self._status(request)

        return bp

    # ---------------------------------------------------------------- inbound SMS

    async def _receive(self, request: Request, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> HTTPResponse:
        started = asyncio.get_running_loop().time()
        self._agent = getattr(request.app.ctx, "agent", None)
        logs.bind(logs.new_request_id(request.headers.get(logs.REQUEST_ID_HEADER)))
        params = form_params(request.body)
        if not self._authentic(request, params):
            return response.text("invalid signature", status=403)
        sender, body = params.get("From"), params.get("Body")
        message_sid = params.get("MessageSid") or params.get("SmsSid")
        if sender is None or body is None or not message_sid:
            return response.text("expected a Twilio message (From, Body, MessageSid)", status=400)
        try:
            phone = normalize_phone(sender)
        except ValueError:
            logger.warning("sms %s from unsupported number %s ignored", message_sid, mask_phone(sender))
            return _xml(_EMPTY_TWIML)
        if not await self.state.first_time(message_sid):
            logger.info("sms %s already handled (Twilio retry): ignored", message_sid)
            return _xml(_EMPTY_TWIML)

        text = customer_text(body)
        opting_out, opting_in = is_opt_out(text), is_opt_in(text)
        sender_id, resubscribed = await in_thread(_inbound_contact, phone, opting_out, opting_in)
        logger.info("sms %s from %s (%s)%s", message_sid, mask_phone(phone), sender_id,
                    " re-subscribed" if resubscribed else "")

        if opting_out:
            await record_inbound(sender_id, CHANNEL, text)
            await self.state.set_choices(sender_id, [], "")
            await record_outbound(sender_id, CHANNEL, [messages.SMS_OPTED_OUT], author="system")
            logger.info("sms %s opted out", sender_id)
            return _xml(twiml(messages.SMS_OPTED_OUT))
        if resubscribed:
            await record_inbound(sender_id, CHANNEL, text)
            await record_outbound(sender_id, CHANNEL, [messages.SMS_OPTED_IN], author="system")
            return _xml(twiml(messages.SMS_OPTED_IN))

        kind = personal_data_kind(text)
        if kind:  # 我的信息 / 删除我的个人信息: a ticket for the supervisors, answered without the model
            await record_inbound(sender_id, CHANNEL, text)
            reply = "\n".join(await answer_personal_data_request(sender_id, kind, message_sid))
            await record_outbound(sender_id, CHANNEL, [reply])
            return _xml(twiml(reply))
        if text:
            choice = chosen(text, await self._current_choices(sender_id)) if _CHOICE.fullmatch(text) else None
            await record_inbound(sender_id, CHANNEL, text)
            # a button payload is the bot's own (often an /intent command); typed text never is
            bot_text = choice.payload if choice else rasa_text(text)
        elif _media_count(params):
            await record_inbound(sender_id, CHANNEL, messages.SMS_MEDIA_PLACEHOLDER)
            bot_text = internal_message("unsupported_message")
        else:
            return _xml(_EMPTY_TWIML)

        turn = asyncio.ensure_future(self._turn(on_new_message, bot_text, sender_id, message_sid))
        budget = self.settings.sms_reply_budget_s - (asyncio.get_running_loop().time() - started)
        try:
            reply = await asyncio.wait_for(asyncio.shield(turn), timeout=max(budget, 0.0))
        except asyncio.TimeoutError:
            logger.info("sms %s: the bot needs longer than the reply budget; answering by REST", message_sid)
            self._answer_later(turn, sender_id, message_sid)
            return _xml(_EMPTY_TWIML)
        except asyncio.CancelledError:
            # Twilio hung up (or the server is stopping): the answer must not be lost with the request
            self._answer_later(turn, sender_id, message_sid)
            raise
        except Exception:
            logger.exception("sms %s: the bot failed to answer", message_sid)
            return _xml(_EMPTY_TWIML)
        if reply:
            metrics.OUTBOUND.labels(CHANNEL, "passive").inc()
        return _xml(twiml(reply))

    async def _current_choices(self, sender_id: str) -> List[Choice]:
        """The choices of the bot's last reply — only while it is still the last thing the customer got
        (an agent's or a notice's later message, e.g. "回复1到5打分", makes a digit mean something else)."""
        offered, reply = await self.state.choices(sender_id)
        if not offered or await in_thread(_latest_outbound, sender_id) != ("bot", reply):
            return []
        return offered

    async def _turn(self, on_new_message: Callable[[UserMessage], Awaitable[Any]], text: str, sender_id: str,
                    message_sid: str) -> str:
        """One bot turn; returns the reply as one SMS body (texts joined by line breaks)."""
        collector = RecordingCollector()
        outcome = await watched_turn(on_new_message, UserMessage(text, collector, sender_id, input_channel=CHANNEL,
                                                                 message_id=message_sid,
                                                                 metadata={logs.METADATA_KEY: logs.current_request_id()}))
        if outcome.failed:  # never silence: an apology, and the message waits in the console queue
            for apology in await keep_for_agent(self._agent, sender_id, CHANNEL):
                await collector.send_text_message(sender_id, apology)
        reply = "\n".join(collector.texts())
        await self.state.set_choices(sender_id, choices_of(collector.messages), reply)
        if reply:
            await record_outbound(sender_id, CHANNEL, [reply])
            logger.info("sms reply to %s: %d characters, %d segment(s)", sender_id, len(reply), sms_segments(reply))
        return reply

    def _answer_later(self, turn: asyncio.Future[str], sender_id: str, message_sid: str) -> None:
        late = asyncio.ensure_future(self._send_late(turn, sender_id, message_sid))
        self._tasks.add(late)
        late.add_done_callback(self._tasks.discard)

    async def _send_late(self, turn: asyncio.Future[str], sender_id: str, message_sid: str) -> None:
        try:
            reply = await turn
        except Exception:
            logger.exception("sms %s: the bot failed to answer", message_sid)
            return
        for part in split_body(reply):
            delivery = await send_to_conversation(sender_id, part, purpose="reply")
            logger.info("sms %s: late reply %s via %s", message_sid, delivery.status, delivery.channel)

    # ---------------------------------------------------------------- delivery statuses

    async def _status(self, request: Request) -> HTTPResponse:
        params = form_params(request.body)
        if not self._authentic(request, params):
            return response.text("invalid signature", status=403)
        message_sid = params.get("MessageSid") or params.get("SmsSid")
        status = params.get("MessageStatus") or params.get("SmsStatus")
        if not message_sid or not status:
            return response.text("expected MessageSid and MessageStatus", status=400)
        error_code = params.get("ErrorCode")
        # Twilio can call back before our send has saved the MessageSid: give it a moment
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 3.0
        pause = 0.05
        while not await in_thread(record_provider_status, message_sid, status, error_code):
            if loop.time() >= deadline:
                logger.warning("status %s for unknown message %s ignored", status, message_sid)
                break
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.5)
        return response.empty()


def _media_count(params: MultiDict[str]) -> int:
    try:
        return int(params.get("NumMedia") or 0)
    except ValueError:
        return 0


__all__ = ["SmsInput", "form_params", "signature_valid", "signed_url", "is_opt_in", "is_opt_out", "twiml",
           "OPT_IN_WORDS", "OPT_OUT_WORDS"]
