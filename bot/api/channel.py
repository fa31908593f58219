"""The integration API at ``/api/v1/``, mounted into the Rasa server like a channel (``credentials.yml``:
``bot.api.channel.IntegrationApiInput: {}``). Only HTTP lives here: bearer tokens, body decoding, JSON
answers; the work is in :mod:`bot.api.service`. Without ``INTEGRATION_API_TOKENS`` the API is off
(every path answers 404).
"""

from __future__ import annotations

import hmac
import logging
from typing import Any, Awaitable, Callable, Dict, Tuple

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot import jobs
from bot.api import service
from bot.api.service import ApiError
from bot.channels.common import in_thread
from bot.config import get_settings

logger = logging.getLogger(__name__)

PREFIX = "/api/v1"

#: The scope each operation needs when a token is limited to scopes.
SCOPES = {"ticket_event": "tickets.write", "list_tickets": "tickets.read", "upsert_outage": "outages.write",
          "cancel_outage": "outages.write", "restored_outage": "outages.write"}

Handler = Callable[..., Awaitable[HTTPResponse]]


def _error(exc: ApiError) -> HTTPResponse:
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    return response.json(exc.body(), status=exc.status, headers=headers)


def caller(authorization: str | None) -> Tuple[str, frozenset]:
    """(system, scopes) of a bearer token; ApiError 401 when it is missing or unknown. Every configured
    token is compared in constant time, so timing does not tell which system's token was close."""
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise ApiError(401, "unauthorized", "missing bearer token")
    found = None
    for system, (expected, scopes) in get_settings().integration_api_tokens.items():
        if hmac.compare_digest(token.encode("utf-8", "replace"), expected.encode("utf-8")):
            found = (system, scopes)
    if found is None:
        raise ApiError(401, "unauthorized", "unknown token")
    return found


def operation(name: str) -> Callable[[Handler], Handler]:
    """Wrap an endpoint: token, scope, error mapping (never a 500 for bad input)."""

    def wrap(fn: Handler) -> Handler:
        async def handler(request: Request, **kwargs: Any) -> HTTPResponse:
            if not get_settings().integration_api_tokens:
                return response.json({"error": "not_found", "detail": "the integration API is off"}, status=404)
            try:
                try:
                    system, scopes = caller(request.headers.get("Authorization"))
                except ApiError as exc:
                    await in_thread(service.record_unauthorized, request.path, str(exc.detail))
                    raise
                if scopes and SCOPES[name] not in scopes:
                    await in_thread(service.call, system, name, request.path, _refuse_scope, SCOPES[name])
                return await fn(request, system, **kwargs)
            except ApiError as exc:
                return _error(exc)

        handler.__name__ = fn.__name__
        return handler

    return wrap


def _refuse_scope(s: Any, scope: str) -> None:
    raise ApiError(403, "forbidden", f"this token lacks the scope {scope}")


class IntegrationApiInput(InputChannel):
    """Not a customer channel: the back-office API, mounted at ``/api/v1`` through Rasa's channel hook."""

    @classmethod
    def name(cls) -> str:
        return "integration_api"

    @classmethod
    def from_credentials(cls, credentials: Dict[str, Any] | None) -> InputChannel:
        return cls()

    def url_prefix(self) -> str:
        return PREFIX

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        return build_blueprint()


def build_blueprint() -> Blueprint:
    bp = Blueprint("powerbot_integration_api", __name__)

    @bp.route("/openapi.json", methods=["GET"])
    async def openapi(request: Request) -> HTTPResponse:
        return response.json(service.document())

    @bp.route("/tickets/<ticket_no:str>/events", methods=["POST"])
    @operation("ticket_event")
    async def ticket_event(request: Request, system: str, ticket_no: str) -> HTTPResponse:
        answer = await in_thread(service.call, system, "ticket_event", ticket_no, service.ticket_event,
                                 system, ticket_no, request.body)
        await in_thread(jobs.ticket_changed_soon)  # the customers hear of it now, not at the next sweep
        return response.json(answer)

    @bp.route("/tickets", methods=["GET"])
    @operation("list_tickets")
    async def list_tickets(request: Request, system: str) -> HTTPResponse:
        # blank values count: ``updated_since=`` is a malformed time, not an absent one
        args = {k: v[-1] for k, v in request.get_args(keep_blank_values=True).items()}
        return response.json(await in_thread(service.call, system, "list_tickets", "tickets", service.list_tickets,
                                             args))

    @bp.route("/outages", methods=["POST"])
    @operation("upsert_outage")
    async def upsert_outage(request: Request, system: str) -> HTTPResponse:
        status, answer = await in_thread(service.call, system, "upsert_outage", "outages", service.upsert_outage,
                                         system, request.body)
        await in_thread(jobs.kick)  # the notices it planned go now (quiet hours permitting)
        return response.json(answer, status=status)

    @bp.route("/outages/<outage_id:str>/cancel", methods=["POST"])
    @operation("cancel_outage")
    async def cancel_outage(request: Request, system: str, outage_id: str) -> HTTPResponse:
        answer = await in_thread(service.call, system, "cancel_outage", outage_id,
                                 service.cancel_outage, system, outage_id, request.body)
        await in_thread(jobs.kick)
        return response.json(answer)

    @bp.route("/outages/<outage_id:str>/restored", methods=["POST"])
    @operation("restored_outage")
    async def restored_outage(request: Request, system: str, outage_id: str) -> HTTPResponse:
        answer = await in_thread(service.call, system, "restored_outage", outage_id,
                                 service.restored_outage, system, outage_id, request.body)
        await in_thread(jobs.kick)
        return response.json(answer)

    return bp
