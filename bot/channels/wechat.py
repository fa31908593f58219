"""The WeChat Official Account channel: ``GET/POST /webhooks/wechat/webhook``.

WeChat waits 5 seconds for an answer, then drops the connection and retries (three times, same MsgId).
So every message is handled by a background *turn* — record the customer, run Rasa, combine the bot's
messages — while the HTTP request waits for it at most ``WECHAT_REPLY_BUDGET_S`` (4 s by default):

* the turn finished in time → its answer is the passive reply (XML, encrypted in safe mode);
* it did not → the request answers ``success`` at once (WeChat stops retrying) and the turn's answer goes
  out through the customer-service API when it is ready (:func:`bot.messaging.deliver.send_to_conversation`,
  which falls back to SMS when WeChat cannot reach the customer).

Exactly one of the two happens, once. A retry of a message still being answered in this process joins its
turn and takes over the reply (WeChat only listens to the newest connection); a retry of a message already
answered here or by another process (``REDIS_URL``) gets ``success``. If WeChat hangs up while waiting, the
answer goes out asynchronously instead of being lost.

Nothing slow runs on the event loop: signature checks and AES are microseconds per message; database
work happens in threads inside the turn, whose duration the request never waits on beyond the budget.
Under overload (:mod:`bot.channels.wechat_pacing`) only ``WECHAT_MAX_CONCURRENT_TURNS`` turns run Rasa
at once, a request whose turn is queued too deep to finish in time answers ``success`` immediately, and
requests stop waiting earlier by as much as the event loop has lately been late with timers.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from typing import Any, Awaitable, Callable, Dict, List, Optional, Set

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot import logs, messages, metrics, startup
from bot.channels.common import RecordingCollector, answer_personal_data_request, record_outbound
from bot.channels.dedup import SeenStore
from bot.channels.resilience import answered_before, keep_for_agent, watched_turn
from bot.channels.wechat_menu import current_menu
from bot.channels.wechat_pacing import LoopLag, TurnGate
from bot.channels.wechat_protocol import (
    SUCCESS,
    BadRequest,
    Envelope,
    Inbound,
    Keys,
    Refused,
    combine,
    open_envelope,
    parse_inbound,
    render_reply,
    replay_ttl_s,
    verify_url,
)
from bot.config import Settings, get_settings
from bot.db import session_scope
from bot.domain import contacts, media, transcript
from bot.messaging import outbox
from bot.messaging.deliver import send_to_conversation
from bot.messaging.wechat_api import WeChatApiError, get_wechat_client

logger = logging.getLogger(__name__)

#: Without WECHAT_TOKEN, the simulator (when enabled) signs with a token that lives only in this process.
_SIMULATOR_TOKEN = secrets.token_hex(16)


def wechat_keys(settings: Optional[Settings] = None) -> Keys:
    """The keys requests are verified with (:class:`Refused` when there is no token)."""
    settings = settings or get_settings()
    token = settings.wechat_token or (_SIMULATOR_TOKEN if settings.simulator_enabled else None)
    if not token:
        raise Refused("WECHAT_TOKEN is not set")
    return Keys(token=token, aes_key=settings.wechat_aes_key, appid=settings.wechat_appid,
                max_age_s=settings.wechat_signature_max_age_s)


PENDING, PASSIVE, ASYNC = "pending", "passive", "async"


class HeldElsewhere(Exception):
    """A retry of a message another server claimed and has not answered yet."""


class Turn:
    """One customer message being answered, and which of WeChat's requests for it carries the answer."""

    def __init__(self, inbound: Inbound) -> None:
        self.inbound = inbound
        self.done = asyncio.Event()
        self.chunks: List[str] = []
        self.state = PENDING  # pending → passive (a request took the answer) | async (sent via the API)
        self.latest = 0  # the newest request waiting for this turn; only it may take the passive reply
        self.started = False  # Rasa is working on it (it got a slot of the turn gate)
        self.delivered = False
        self.retaken = False  # a server that took it on earlier died before answering


def _note_inbound(inbound: Inbound) -> None:
    """The customer's side of a message, in one unit of work: contact, 48-hour window, scene, transcript."""
    with session_scope() as s:
        contact = contacts.get_or_create(s, "wechat", inbound.openid)
        if inbound.unsubscribe:
            contact.active = False
        elif inbound.opens_window:
            contacts.mark_inbound(s, contact)
        if inbound.subscribe_scene:
            contact.subscribe_scene = inbound.subscribe_scene
        if inbound.transcript_text:
            transcript.append(s, inbound.sender_id, "wechat", "in", "customer", inbound.transcript_text)


def _note_template_receipt(msgid: str, wechat_status: str) -> None:
    """WeChat's receipt for a template message (``success``, ``failed:user block``, ``failed: system failed``)."""
    with session_scope() as s:
        message = outbox.by_provider_id(s, f"wx-tpl:{msgid}")
        if message is None:
            return
        if wechat_status == "success":
            outbox.set_status(s, message, "delivered")
        else:
            outbox.set_status(s, message, "undelivered" if "block" in wechat_status else "failed", wechat_status)


def _has_customer_side(inbound: Inbound) -> bool:
    return bool(inbound.transcript_text or inbound.unsubscribe or inbound.opens_window or inbound.subscribe_scene
                or inbound.rasa_text or inbound.channel_reply or inbound.personal_data)


class WeChatInput(InputChannel):
    @classmethod
    def name(cls) -> str:
        return "wechat"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> InputChannel:
        startup.start_rasa_server()  # the Rasa server's earliest hook of ours (idempotent)
        return cls()

    def __init__(self) -> None:
        self._turns: Dict[str, Turn] = {}
        self._seen: Optional[SeenStore] = None
        self._signatures: Optional[SeenStore] = None  # plain-mode (timestamp, nonce) → body hash
        self._background: Set[asyncio.Task[Any]] = set()
        self._gate: Optional[TurnGate] = None
        self._lag = LoopLag()
        self._agent: Any = None  # the Rasa agent serving this channel (seen on the first request)

    def _pacing(self) -> TurnGate:
        if self._gate is None:
            self._gate = TurnGate(get_settings().wechat_max_concurrent_turns)
            self._lag.start()
        return self._gate

    # --- HTTP ---------------------------------------------------------------------------------------

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        bp = Blueprint("powerbot_wechat", __name__)

        @bp.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @bp.route("/webhook", methods=["GET"])
        async def verify(request: Request) -> HTTPResponse:
            try:
                echostr = verify_url(wechat_keys(), _args(request))
            except Refused as exc:
                logger.warning("WeChat URL verification refused: %s", exc)
                return response.text("forbidden", status=403)
            return response.text(echostr)

        @bp.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            started = time.monotonic()
            settings = get_settings()
            self._agent = getattr(request.app.ctx, "agent", None)
            try:
                keys = wechat_keys(settings)
                envelope = open_envelope(keys, _args(request), request.body or b"")
                await self._refuse_replay(keys, envelope)
                inbound = parse_inbound(envelope.xml, current_menu())
            except Refused as exc:
                logger.warning("WeChat request refused: %s", exc)
                return response.text("forbidden", status=403)
            except BadRequest as exc:
                logger.warning("WeChat request not understood: %s", exc)
                return response.text("bad request", status=400)
            request_id = logs.new_request_id(request.headers.get(logs.REQUEST_ID_HEADER))
            inbound.metadata[logs.METADATA_KEY] = request_id  # travels in the tracker to the action server
            logs.bind(request_id, inbound.sender_id)
            # a retry of a message another server claimed waits at most half the budget for its claim to lapse
            until = asyncio.get_running_loop().time() + settings.wechat_reply_budget_s / 2
            try:
                turn = await self._turn_for(inbound, on_new_message, until)
            except HeldElsewhere as exc:
                logger.info("WeChat retry of %s: another server is on it; asking WeChat to retry", exc)
                return response.text("retry", status=503)
            if turn is None:
                return response.text(SUCCESS)
            budget = settings.wechat_reply_budget_s
            # stop waiting as much earlier as the loop has lately been late with timers (at most half)
            text = await self._answer(turn, started + budget - min(self._lag.recent(), budget / 2))
            if text is None:
                return response.text(SUCCESS)
            return response.text(render_reply(keys, envelope, inbound, text), content_type="application/xml")

        return bp

    async def _refuse_replay(self, keys: Keys, envelope: Envelope) -> None:
        """Plain mode: :class:`Refused` when this signature came before with another body (a retry by
        WeChat repeats the body and goes on to the de-duplication)."""
        if envelope.replay_key is None:
            return
        if self._signatures is None:
            self._signatures = SeenStore(get_settings().redis_url, ttl_s=replay_ttl_s(keys),
                                         prefix="powerbot:wechat:signature:")
        if await self._signatures.remember(envelope.replay_key, envelope.body_hash) != envelope.body_hash:
            raise Refused("signature replayed with another body")

    # --- turns ----------------------------------------------------------------------------------------

    async def _turn_for(self, inbound: Inbound, on_new_message: Callable[[UserMessage], Awaitable[Any]],
                        until: float = 0.0) -> Optional[Turn]:
        """The turn answering this message: a new one, the one a retry joins, or None (already answered).
        A message another server claimed is waited for until ``until`` (event-loop time) in case it died."""
        turn = self._turns.get(inbound.dedup_key)
        if turn is not None:
            return turn
        if self._seen is None:
            settings = get_settings()
            self._seen = SeenStore(settings.redis_url, prefix="powerbot:wechat:seen:",
                                   pending_ttl_s=settings.dedup_pending_ttl_s)
        claimed, retaken = await self._seen.claim_pending(inbound.dedup_key)
        if not claimed:  # another server has it: wait a little in case it died and its claim lapses
            claimed, retaken = await self._seen.wait_pending(inbound.dedup_key, until)
            if not claimed and not await self._seen.is_answered(inbound.dedup_key):
                # still being worked on elsewhere — or that server died, its claim lapsing this very moment:
                # never "success" (which would end WeChat's retries), so a later retry takes the message over
                raise HeldElsewhere(inbound.message_id or inbound.dedup_key)
        if not claimed:
            logger.info("WeChat retry of %s ignored: already taken on", inbound.message_id)
            return None
        turn = Turn(inbound)
        turn.retaken = retaken
        self._turns[inbound.dedup_key] = turn
        self._spawn(self._run(turn, on_new_message))
        return turn

    async def _answer(self, turn: Turn, deadline: float) -> Optional[str]:
        """Wait for the turn until ``deadline``: the passive reply text, or None for ``success``."""
        turn.latest += 1
        me = turn.latest
        gate = self._pacing()
        if (turn.state == PENDING and turn.inbound.rasa_text is not None and not turn.started and gate.full
                and time.monotonic() + gate.expected_finish_in() > deadline):
            # queued behind more turns than can finish in time: "success" now, the answer follows
            self._go_async(turn)
            return None
        try:
            remaining = deadline - time.monotonic()
            if not turn.done.is_set() and remaining > 0:
                await asyncio.wait_for(turn.done.wait(), remaining)
        except asyncio.TimeoutError:
            pass
        except asyncio.CancelledError:
            # WeChat hung up (or the server is stopping): send the answer through the API instead
            if me == turn.latest and turn.state == PENDING:
                self._go_async(turn)
            raise
        if me != turn.latest or turn.state != PENDING:
            return None  # a newer retry carries the answer, or it went out already
        if not turn.done.is_set():
            self._go_async(turn)
            return None
        turn.state = PASSIVE
        if turn.chunks:
            metrics.OUTBOUND.labels("wechat", "passive").inc()
        self._settle(turn)
        if len(turn.chunks) > 1:
            self._deliver(turn, turn.chunks[1:])
        return turn.chunks[0] if turn.chunks else None

    def _go_async(self, turn: Turn) -> None:
        turn.state = ASYNC
        logger.info("WeChat answer for %s cannot be ready within the reply budget: it will follow through the "
                    "customer-service API", turn.inbound.sender_id)
        if turn.done.is_set():
            self._deliver(turn, turn.chunks)
            self._settle(turn)

    def _settle(self, turn: Turn) -> None:
        if turn.done.is_set() and turn.state != PENDING and self._turns.get(turn.inbound.dedup_key) is turn:
            del self._turns[turn.inbound.dedup_key]

    async def _run(self, turn: Turn, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> None:
        inbound = turn.inbound
        texts: List[str] = []
        assert self._seen is not None
        holding = asyncio.ensure_future(self._seen.hold(inbound.dedup_key))  # our claim lives while we work
        try:
            texts = await self._work(inbound, turn, on_new_message)
        except Exception:
            logger.exception("the bot failed on WeChat message %s", inbound.message_id)
            texts = [messages.WECHAT_BOT_ERROR]
        finally:
            holding.cancel()
            turn.chunks = combine(texts)
            turn.done.set()  # whatever happened, nobody waits for this turn beyond this point
        await self._seen.settle(inbound.dedup_key)
        if turn.state == ASYNC:
            self._deliver(turn, turn.chunks)
        self._settle(turn)
        await record_outbound(inbound.sender_id, "wechat", turn.chunks)

    async def _work(self, inbound: Inbound, turn: Turn,
                    on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> List[str]:
        """The turn's work: the records, then Rasa (or the channel's own answer); the texts to send."""
        if inbound.metadata.get("template_msgid"):
            try:
                await asyncio.to_thread(_note_template_receipt, inbound.metadata["template_msgid"],
                                        inbound.metadata.get("template_status", ""))
            except Exception:
                logger.exception("could not record a template message receipt")
        if _has_customer_side(inbound):
            try:
                await asyncio.to_thread(_note_inbound, inbound)
            except Exception:  # the customer still gets an answer; the log says what is missing
                logger.exception("could not record the WeChat message of %s", inbound.sender_id)
        if inbound.metadata.get("media_id") and "pic_url" in inbound.metadata:
            self._spawn(_keep_photo(inbound.metadata["pic_url"] or inbound.metadata["media_id"],
                                    inbound.metadata["media_id"]))
        if inbound.personal_data:  # 我的信息 / 删除我的个人信息: a ticket for the supervisors, no Rasa turn
            return await answer_personal_data_request(inbound.sender_id, inbound.personal_data, inbound.message_id)
        if inbound.rasa_text is None:
            return [inbound.channel_reply] if inbound.channel_reply else []
        if turn.retaken:  # the server that took it on died: did it finish the turn before?
            answered = await answered_before(self._agent, inbound.sender_id, inbound.message_id)
            if answered is not None:
                logger.info("WeChat retry of %s: answered from the conversation's history", inbound.message_id)
                return answered
        collector = RecordingCollector()
        async with self._pacing().slot():
            turn.started = True
            outcome = await watched_turn(on_new_message, UserMessage(
                inbound.rasa_text, collector, inbound.sender_id, input_channel="wechat",
                message_id=inbound.message_id, metadata=inbound.metadata))
        if outcome.failed:  # never silence: an apology now, the message waits in the console queue
            return collector.texts() + await keep_for_agent(self._agent, inbound.sender_id, "wechat")
        return collector.texts()

    def _deliver(self, turn: Turn, chunks: List[str]) -> None:
        if turn.delivered or not chunks:
            return
        turn.delivered = True
        self._spawn(_send_async(turn.inbound.sender_id, chunks))

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)


async def _keep_photo(ref: str, media_id: str) -> None:
    """Download a customer's photo now (WeChat media expire after three days) into MEDIA_DIR, under the
    name the ticket attachment will look for (the reference the dialogue sees)."""
    client = get_wechat_client()
    if not client.configured:
        return
    try:
        data, _content_type = await client.get_media(media_id)
        await asyncio.to_thread(media.save, get_settings().media_dir, ref, data)
    except (WeChatApiError, media.MediaError, OSError) as exc:
        logger.warning("photo %s not kept: %s", media_id[:12], exc)


async def _send_async(sender_id: str, chunks: List[str]) -> None:
    for chunk in chunks:
        try:
            delivery = await send_to_conversation(sender_id, chunk, purpose="reply")
        except Exception:
            logger.exception("asynchronous WeChat answer to %s failed", sender_id)
            continue
        logger.info("asynchronous answer to %s: %s %s %s", sender_id, delivery.channel, delivery.status,
                    delivery.detail)


def _args(request: Request) -> Dict[str, str]:
    return {key: request.args.get(key) or "" for key in request.args}
