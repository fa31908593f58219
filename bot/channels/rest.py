"""A REST channel for trying the bot and for benchmarks: ``POST /webhooks/rest/webhook``.

Like Rasa's REST channel (same request and response shape), with three differences: it is off unless
``REST_CHANNEL_ENABLED`` is true; sender ids are namespaced (``rest:<sender>``) so a REST caller can
never speak as a WeChat or SMS customer; and customer text is cleaned like on every other channel.
"""

from __future__ import annotations

import json
from typing import Any, Awaitable, Callable, Dict

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot import logs, startup
from bot.channels.common import (
    RecordingCollector,
    answer_personal_data_request,
    customer_text,
    personal_data_kind,
    rasa_text,
    record_inbound,
    record_outbound,
)
from bot.channels.resilience import keep_for_agent, watched_turn
from bot.config import get_settings


class RestInput(InputChannel):
    @classmethod
    def name(cls) -> str:
        return "rest"

    @classmethod
    def from_credentials(cls, credentials: Dict[str, Any] | None) -> InputChannel:
        startup.start_rasa_server()  # the Rasa server's earliest hook of ours (idempotent)
        return cls()

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        bp = Blueprint("powerbot_rest", __name__)

        @bp.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok" if get_settings().rest_channel_enabled else "disabled"})

        @bp.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if not get_settings().rest_channel_enabled:
                return response.json({"error": "REST channel disabled"}, status=404)
            try:
                parsed = json.loads(request.body or b"null")
            except ValueError:  # malformed JSON or not UTF-8: the caller's fault, said in JSON like the rest
                parsed = None
            body = parsed if isinstance(parsed, dict) else None
            if not body or not isinstance(body.get("sender"), str) or not isinstance(body.get("message"), str):
                return response.json({"error": "expected JSON {sender: str, message: str}"}, status=400)
            sender_id = "rest:" + body["sender"][:60]
            text = customer_text(body["message"])
            if not text:
                return response.json([])
            collector = RecordingCollector()
            request_id = logs.new_request_id(request.headers.get(logs.REQUEST_ID_HEADER))
            logs.bind(request_id, sender_id)
            await record_inbound(sender_id, "rest", text)
            kind = personal_data_kind(text)
            if kind:  # 我的信息 / 删除我的个人信息: a ticket for the supervisors, answered without the model
                texts = await answer_personal_data_request(sender_id, kind)
                await record_outbound(sender_id, "rest", texts)
                return response.json([{"recipient_id": sender_id, "text": t} for t in texts])
            outcome = await watched_turn(on_new_message, UserMessage(rasa_text(text), collector, sender_id, input_channel="rest",
                                                                     metadata={logs.METADATA_KEY: request_id}))
            if outcome.failed:
                for apology in await keep_for_agent(request.app.ctx.agent, sender_id, "rest"):
                    await collector.send_text_message(sender_id, apology)
            await record_outbound(sender_id, "rest", collector.texts())
            return response.json(collector.messages)

        return bp
