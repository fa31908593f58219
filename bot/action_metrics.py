"""What our action server adds to rasa-sdk's Sanic app (called by :func:`bot.action_server.create_app`):
``GET /metrics`` (Prometheus, :mod:`bot.metrics`), each action's run time and
the NLU fallbacks it handles, the request id of the turn (from the tracker's latest message metadata,
:mod:`bot.logs`) on its log lines, and JSON logs when ``LOG_FORMAT=json``."""

from __future__ import annotations

import time
from typing import Any, Dict

from sanic import Sanic, response
from sanic.request import Request
from sanic.response import BaseHTTPResponse, HTTPResponse

from bot import logs, metrics

#: The action Rasa runs for a message the NLU did not understand (data/rules: nlu_fallback).
FALLBACK_ACTION = "action_fallback"


def _call_of(request: Request) -> Dict[str, Any]:
    """The action call's JSON body, ``{}`` when it is none. Parsed once: Sanic keeps the result for
    rasa-sdk's handler, which reads ``request.json`` too (the body carries the whole tracker and the
    domain, hundreds of KB — parsing it twice was a third of the action server's time per call)."""
    if not request.body or request.headers.get("Content-Encoding") == "deflate":
        return {}  # rasa-sdk inflates a compressed call itself; no request id or metric label then
    try:
        body = request.json
    except Exception:  # noqa: BLE001 - Sanic's BadRequest; rasa-sdk answers the malformed call itself
        return {}
    return body if isinstance(body, dict) else {}


async def _started(request: Request) -> None:
    if request.path != "/webhook" or request.method != "POST":
        return
    call = _call_of(request)
    tracker = call.get("tracker") or {}
    latest = tracker.get("latest_message") or {}
    metadata = latest.get("metadata") or {}
    logs.bind(metadata.get(logs.METADATA_KEY) if isinstance(metadata, dict) else None, tracker.get("sender_id"))
    request.ctx.powerbot_action = str(call.get("next_action") or "unknown")[:60]
    request.ctx.powerbot_started = time.monotonic()
    intent = (latest.get("intent") or {}).get("name")
    if intent == "nlu_fallback" and request.ctx.powerbot_action == FALLBACK_ACTION:
        metrics.NLU_FALLBACKS.inc()


async def _finished(request: Request, _response: BaseHTTPResponse) -> None:
    started = getattr(request.ctx, "powerbot_started", None)
    if started is not None:
        metrics.ACTION_SECONDS.labels(request.ctx.powerbot_action).observe(time.monotonic() - started)


async def _metrics(request: Request) -> HTTPResponse:
    body, content_type = metrics.exposition()
    return response.raw(body, content_type=content_type)


def extend(app: Sanic) -> None:
    """Add ``/metrics``, per-action timing and the turn's request id to the action server's app."""
    app.add_route(_metrics, "/metrics", methods=["GET"], name="powerbot_metrics")
    app.register_middleware(_started, "request")
    app.register_middleware(_finished, "response")
