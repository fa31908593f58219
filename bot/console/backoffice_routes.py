"""The console's back-office endpoints (dispatch queue, ticket page and actions, crews, key customers,
escalations, inspections, photos), registered on the console blueprint by :func:`register` so they go
through the same session, CSRF, permission and audit wrapper as every console endpoint."""

from __future__ import annotations

from typing import Any, Callable, Dict

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot import jobs
from bot.channels.common import in_thread
from bot.config import get_settings
from bot.console import backoffice
from bot.console.permissions import ConsoleError, Principal

MAX_PHOTO = 10 * 1024 * 1024


def _photo(request: Request) -> Any:
    """The optional ``photo`` file of a multipart form: (bytes, claimed type) or None."""
    files = request.files.get("photo") if request.files else None
    if not files:
        return None
    if len(files.body) > MAX_PHOTO:
        raise ConsoleError(400, "bad_photo")
    return files.body, files.type or ""


def _form(request: Request) -> Dict[str, Any]:
    """Fields of a multipart/urlencoded form, or a JSON body; ``readings`` as ``name=value`` lines."""
    if request.form:
        data: Dict[str, Any] = {k: v[-1] for k, v in request.form.items()}
        lines = str(data.get("readings") or "").splitlines()
        data["readings"] = {k.strip(): v.strip() for k, _, v in (line.partition("=") for line in lines) if k.strip()}
        return data
    if not (request.body or b"").strip():
        return {}
    try:
        body = request.json
    except Exception:
        raise ConsoleError(400, "bad_json") from None
    if not isinstance(body, dict):
        raise ConsoleError(400, "body_not_object")
    return body


def register(bp: Blueprint, endpoint: Callable[..., Any], unit: Callable[..., Any],
             body: Callable[[Request], Dict[str, Any]]) -> None:
    """Add the back-office routes to the console blueprint (``endpoint``: the console's wrapper;
    ``unit``: one unit of work around a service function; ``body``: the JSON body of a request)."""

    @bp.route("/api/tickets", methods=["GET"])
    @endpoint("tickets.view")
    async def ticket_queue(request: Request, p: Principal) -> HTTPResponse:
        args = {k: request.args.get(k) for k in ("type", "township", "status", "crew", "overdue")}
        return response.json(await in_thread(unit, backoffice.queue_view, p, args))

    @bp.route("/api/tickets/<ticket_no:str>", methods=["GET"])
    @endpoint()
    async def ticket_page(request: Request, p: Principal, ticket_no: str) -> HTTPResponse:
        return response.json(await in_thread(unit, backoffice.ticket_view, p, ticket_no))

    actions = {"status": backoffice.set_status, "assign": backoffice.assign, "merge": backoffice.merge,
               "notes": backoffice.add_note, "description": backoffice.correct}

    @bp.route("/api/tickets/<ticket_no:str>/<action:str>", methods=["POST"])
    @endpoint(write=True)
    async def ticket_action(request: Request, p: Principal, ticket_no: str, action: str) -> HTTPResponse:
        fn = actions.get(action)
        if fn is None:
            raise ConsoleError(404, "not_found")
        answer = await in_thread(unit, fn, p, ticket_no, body(request))
        if action in ("status", "assign"):
            await in_thread(jobs.ticket_changed_soon)  # the customers hear of it now (bot/jobs.py)
        return response.json(answer)

    @bp.route("/api/crews", methods=["GET"])
    @endpoint("crews.view")
    async def crew_list(request: Request, p: Principal) -> HTTPResponse:
        return response.json(await in_thread(unit, backoffice.crew_list, p))

    @bp.route("/api/crews", methods=["POST"])
    @endpoint("crews.manage", write=True)
    async def crew_add(request: Request, p: Principal) -> HTTPResponse:
        return response.json(await in_thread(unit, backoffice.crew_add, p, body(request)), status=201)

    @bp.route("/api/crews/<crew_id:int>", methods=["POST"])
    @endpoint("crews.manage", write=True)
    async def crew_update(request: Request, p: Principal, crew_id: int) -> HTTPResponse:
        return response.json(await in_thread(unit, backoffice.crew_update, p, crew_id, body(request)))

    @bp.route("/api/accounts/<account_no:str>/key-customer", methods=["POST"])
    @endpoint("key_customer.set", write=True)
    async def key_customer(request: Request, p: Principal, account_no: str) -> HTTPResponse:
        return response.json(await in_thread(unit, backoffice.key_customer, p, account_no, body(request)))

    @bp.route("/api/escalations", methods=["GET"])
    @endpoint("escalations.view")
    async def escalations(request: Request, p: Principal) -> HTTPResponse:
        return response.json(await in_thread(unit, backoffice.escalations_view, p))

    @bp.route("/api/inspections", methods=["POST"])
    @endpoint("inspection.create", write=True)
    async def inspection(request: Request, p: Principal) -> HTTPResponse:
        result = await in_thread(unit, backoffice.inspection_add, p, _form(request), _photo(request),
                                 get_settings().media_dir)
        return response.json(result, status=201)

    @bp.route("/media/<attachment_id:int>", methods=["GET"])
    @endpoint("media.view")
    async def photo(request: Request, p: Principal, attachment_id: int) -> HTTPResponse:
        path, content_type = await in_thread(unit, backoffice.photo, p, attachment_id, get_settings().media_dir)
        return await response.file(str(path), mime_type=content_type,
                                   headers={"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"})
