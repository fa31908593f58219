"""Operational endpoints: ``GET /health`` (the process is up) and ``GET /ready`` (model loaded, database
reachable, Redis reachable when configured) for load balancers, and ``GET /metrics`` (Prometheus, see
:mod:`bot.metrics`) for monitoring."""

from __future__ import annotations

from typing import Any, Awaitable, Callable, Dict, List, Tuple

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse
from sqlalchemy import text

from bot import logs, metrics, startup
from bot.channels.common import in_thread
from bot.config import get_settings
from bot.db import get_engine, session_scope
from bot.domain import handoffs


def _database_ok() -> bool:
    with get_engine().connect() as conn:
        conn.execute(text("SELECT 1"))
    return True


def _redis_ok(url: str) -> bool:
    import redis

    client = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
    try:
        return bool(client.ping())
    finally:
        client.close()


def _handoff_counts() -> List[Tuple[str, str, int]]:
    with session_scope() as s:
        return handoffs.counts(s)


class OpsInput(InputChannel):
    @classmethod
    def name(cls) -> str:
        return "ops"

    @classmethod
    def from_credentials(cls, credentials: Dict[str, Any] | None) -> InputChannel:
        startup.start_rasa_server()  # the Rasa server's earliest hook of ours (idempotent)
        return cls()

    def url_prefix(self) -> str:
        return "/"  # mounted at the root: /health, /ready

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        bp = Blueprint("powerbot_ops", __name__)

        @bp.listener("before_server_start")
        async def limit_request_size(app: Sanic, _loop: Any) -> None:
            # Sanic's default is 100 MB, read before any signature is checked; connections made
            # from now on refuse a bigger Content-Length with 413 without reading the body
            app.config.REQUEST_MAX_SIZE = startup.RASA_SERVER_MAX_REQUEST_BYTES

        metrics.register_handoff_counts(_handoff_counts)
        logs.install_json_logs(get_settings().log_format)  # Rasa has configured its logging by now

        @bp.route("/metrics", methods=["GET"])
        async def prometheus(request: Request) -> HTTPResponse:
            body, content_type = await in_thread(metrics.exposition)
            return response.raw(body, content_type=content_type)

        @bp.route("/health", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @bp.route("/ready", methods=["GET"])
        async def ready(request: Request) -> HTTPResponse:
            checks: Dict[str, bool] = {}
            agent = getattr(request.app.ctx, "agent", None)
            checks["model"] = bool(agent and agent.is_ready())
            try:
                checks["database"] = await in_thread(_database_ok)
            except Exception:
                checks["database"] = False
            url = get_settings().redis_url
            if url:
                try:
                    checks["redis"] = await in_thread(_redis_ok, url)
                except Exception:
                    checks["redis"] = False
            ok = all(checks.values())
            return response.json({"status": "ready" if ok else "not ready", "checks": checks}, status=200 if ok else 503)

        return bp
